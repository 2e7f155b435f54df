// allocateGroups: forced merges down to each slot's maximum, then a global cheapest-first queue.
#include "planning/allocation.h"

#include <queue>
#include <string>
#include <tuple>

#include "dha/error.h"

namespace dha::planning {
namespace {

struct QueueEntry {
    double cost;
    int slot;
    // std::priority_queue pops the largest: "larger" here means more expensive, then the higher slot index.
    bool operator<(const QueueEntry& other) const {
        return std::tie(cost, slot) > std::tie(other.cost, other.slot);
    }
};

[[noreturn]] void failUnreachable(int keptHeads, const std::string& why) {
    fail(ErrorCode::Internal, "budget",
         "allocation cannot keep " + std::to_string(keptHeads) + " heads: " + why);
}

}  // namespace

std::vector<int> allocateGroups(const std::vector<AllocationSlot>& slots, int keptHeads) {
    std::vector<int> groups(slots.size());
    int kept = 0;
    for (size_t s = 0; s < slots.size(); ++s) {
        const AllocationSlot& slot = slots[s];
        if (slot.tree == nullptr || slot.minGroups < 1 || slot.minGroups > slot.maxGroups ||
            slot.maxGroups > slot.tree->numLeaves || slot.headsPerGroup < 1) {
            failUnreachable(keptHeads, "slot " + std::to_string(s) + " is inconsistent");
        }
        groups[s] = slot.maxGroups;  // the forced merges: a prefix of the tree, whatever it costs
        kept += slot.maxGroups * slot.headsPerGroup;
    }
    if (kept < keptHeads) failUnreachable(keptHeads, "the maxima keep only " + std::to_string(kept));

    std::priority_queue<QueueEntry> queue;
    const auto pushNext = [&](size_t s) {
        const AllocationSlot& slot = slots[s];
        if (groups[s] <= slot.minGroups) return;
        const int mergesDone = slot.tree->numLeaves - groups[s];
        queue.push({slot.tree->merges[static_cast<size_t>(mergesDone)].cost, static_cast<int>(s)});
    };
    for (size_t s = 0; s < slots.size(); ++s) pushNext(s);
    while (kept > keptHeads) {
        if (queue.empty())
            failUnreachable(keptHeads, "every slot is at its minimum with " + std::to_string(kept));
        const size_t s = static_cast<size_t>(queue.top().slot);
        queue.pop();
        if (kept - slots[s].headsPerGroup < keptHeads) {
            failUnreachable(keptHeads,
                            "a merge of " + std::to_string(slots[s].headsPerGroup) + " heads overshoots");
        }
        --groups[s];
        kept -= slots[s].headsPerGroup;
        pushNext(s);
    }
    return groups;
}

}  // namespace dha::planning
