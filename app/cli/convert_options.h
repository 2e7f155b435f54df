// The options `dha convert` and `dha baseline` share (budget or plan, token budget, text, training settings,
// run directory), parsed into one ConvertSpec so both commands spell and check them the same way.
#pragma once

#include <string>

#include "arg_parser.h"
#include "dha/conversion.h"

namespace dha::cli {

// Every option of a new conversion run, in --help order (not --resume, --json or --quiet).
void addConvertOptions(ArgParser& args);

// The spec of a new run of `method` on modelDir from parsed options. --tokens P% takes the source's
// pretraining tokens from --source-tokens or the model's eval.json. Throws UsageError for missing or
// malformed options and for options the method cannot use; dha::Exception for an unreadable eval.json.
ConvertSpec convertSpecFromArgs(const ArgParser& args, ConvertMethod method,
                                const std::filesystem::path& modelDir);

// Whether any option of addConvertOptions was given (`--resume RUN` takes none).
bool hasConvertOptions(const ArgParser& args);

}  // namespace dha::cli
