// The planner constraint options `dha plan`, `dha convert` and `dha baseline` share (--min-heads,
// --max-heads, --fix, --lock, --tie-kv, --uniform), so every command spells and checks them the same way.
#pragma once

#include "arg_parser.h"
#include "dha/budget.h"

namespace dha::cli {

void addPlanConstraintOptions(ArgParser& args);
// The constraints from parsed options; throws UsageError for a malformed --fix or --lock list.
PlanConstraints planConstraintsFromArgs(const ArgParser& args);
// Whether any constraint option was given (the uniform baselines take none).
bool hasPlanConstraints(const ArgParser& args);

}  // namespace dha::cli
