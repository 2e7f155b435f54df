// The plan value: counts, layouts derived from the groups, and the canonical form.
#include "dha/plan.h"

#include <algorithm>

#include "dha/error.h"
#include "planning/plan_checks.h"

namespace dha {
namespace {

std::vector<int> headOfQuery(const HeadGroups& groups, int numQueryHeads) {
    std::vector<int> map(static_cast<size_t>(numQueryHeads), -1);
    for (size_t g = 0; g < groups.size(); ++g) {
        for (const int query : groups[g]) map[static_cast<size_t>(query)] = static_cast<int>(g);
    }
    return map;
}

void canonicalise(HeadGroups& groups) {
    for (auto& group : groups) std::sort(group.begin(), group.end());
    // Sorted disjoint groups in lexicographic order are ordered by their smallest head; the comparison also
    // gives invalid plans (empty or overlapping groups) one deterministic order.
    std::sort(groups.begin(), groups.end());
}

}  // namespace

HeadLayout LayerPlan::layout(int numQueryHeads) const {
    // The groups come from files and GUI edits: check before indexing with them.
    if (numQueryHeads < 1 || numQueryHeads > planning::kMaxSourceHeads) {
        failInput("plan", "source_heads is " + std::to_string(numQueryHeads) + ", expected 1.." +
                              std::to_string(planning::kMaxSourceHeads));
    }
    planning::checkPartition(keyGroups, numQueryHeads, "key_groups", "plan");
    planning::checkPartition(valueGroups, numQueryHeads, "value_groups", "plan");
    HeadLayout result;
    result.numKeyHeads = numKeyHeads();
    result.numValueHeads = numValueHeads();
    result.keyHeadOfQuery = headOfQuery(keyGroups, numQueryHeads);
    result.valueHeadOfQuery = headOfQuery(valueGroups, numQueryHeads);
    return result;
}

LayerPlan LayerPlan::fromLayout(const HeadLayout& layout) {
    validateHeadLayout(layout, layout.numQueryHeads(), "head layout");
    // Group g is key (value) head g, so fromLayout(plan.layout(H)) keeps the plan's head numbering.
    return LayerPlan{layout.keyGroups(), layout.valueGroups()};
}

int Plan::keptHeads() const {
    int kept = 0;
    for (const auto& layer : layers) kept += layer.numKeyHeads() + layer.numValueHeads();
    return kept;
}

int Plan::sourceKvHeads() const { return 2 * sourceHeads * numLayers(); }

double Plan::keptFraction() const {
    const int source = sourceKvHeads();
    return source > 0 ? static_cast<double>(keptHeads()) / source : 0.0;
}

std::vector<HeadLayout> Plan::layouts() const {
    validatePlan(*this, 0, 0, "plan");  // names the layer at fault, which LayerPlan::layout cannot
    std::vector<HeadLayout> result;
    result.reserve(layers.size());
    for (const auto& layer : layers) result.push_back(layer.layout(sourceHeads));
    return result;
}

Plan canonicalPlan(Plan plan) {
    for (auto& layer : plan.layers) {
        canonicalise(layer.keyGroups);
        canonicalise(layer.valueGroups);
    }
    return plan;
}

}  // namespace dha
