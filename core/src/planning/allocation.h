// Global allocation of a head budget over many merge trees: one queue, cheapest next merge first.
#pragma once

#include <vector>

#include "planning/merge_tree.h"

namespace dha::planning {

// One merge tree in the allocation. A (layer, K|V) tree keeps one budget head per group; a tree shared by the
// keys and values of a layer (tieKeyValue) keeps two.
struct AllocationSlot {
    const MergeTree* tree = nullptr;
    int headsPerGroup = 1;
    int minGroups = 1;
    int maxGroups = 1;
};

// Groups per slot. Every slot is first cut down to maxGroups (forced merges, whatever they cost). Then, from
// one queue holding each slot's next merge, the cheapest is taken (ties: the lower slot index), until
// sum(groups * headsPerGroup) == keptHeads; a slot at minGroups leaves the queue.
//
// Each tree's merges are taken in tree order, and a slot's queue key is the cost of its next merge alone
// (for Ward trees, the rise in within-group dispersion it causes). Ward linkage is monotone, so this is the
// greedy optimum: it minimises the summed cost of the merges taken, i.e. the total within-group dispersion of
// the plan over all trees' cuts. The plans are nested: one head less is the previous plan plus one merge.
// Were a later merge of a tree cheaper than an earlier one (rounding, or learned distances), it still waits
// for its predecessors, because a cut of a tree is a prefix of its merges.
//
// The caller checks that keptHeads is reachable (in range, and a multiple of headsPerGroup); an unreachable
// target is an Internal error here.
std::vector<int> allocateGroups(const std::vector<AllocationSlot>& slots, int keptHeads);

}  // namespace dha::planning
