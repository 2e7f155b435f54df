// PlanConstraints turned into the group-count range of every merge tree, after checking them.
#pragma once

#include <vector>

#include "dha/budget.h"

namespace dha::planning {

struct CountLimits {
    int minGroups = 1;
    int maxGroups = 1;
};

// One entry per merge tree: 2 * layer + (0 keys, 1 values), or one per layer when constraints.tieKeyValue.
// A locked layer keeps all H heads and a fixed count keeps exactly that many: both are more specific than
// minHeads/maxHeads and override them. Under tieKeyValue a fixed count of either kind fixes the layer, and
// fixed key and value counts of one layer must agree. Throws InvalidInput naming "plan constraints" for
// constraints that name no layer of the model, counts outside 1..H, min above max, a fixed count given twice
// or in a locked layer.
std::vector<CountLimits> countLimits(const PlanConstraints& constraints, int numLayers, int numHeads);

}  // namespace dha::planning
