// Checks shared by plan validation, the plan reader and LayerPlan::layout: is a group list a partition?
#pragma once

#include <string>

#include "dha/plan.h"

namespace dha::planning {

// Sanity limits for untrusted plans: no real model has more heads per layer or more layers than this.
inline constexpr int kMaxSourceHeads = 4096;
inline constexpr int kMaxLayers = 4096;

// Throws InvalidInput naming `where` unless `groups` is a partition of {0..numHeads-1} into non-empty groups.
// Messages start with `context` ("layer 3 key_groups"), e.g. "layer 3 key_groups: head 5 appears twice (in
// groups 1 and 4)".
void checkPartition(const HeadGroups& groups, int numHeads, const std::string& context,
                    const std::string& where);

// "6, 7" or, past `maxListed` entries, "6, 7, 8, ... (40 in all)": lists of heads in messages stay short.
std::string listOfInts(const std::vector<int>& values, size_t maxListed = 8);

}  // namespace dha::planning
