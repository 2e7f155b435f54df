// planFromSimilarity: Ward merge trees per (layer, K|V), one global cheapest-first queue, exactly the budget.
#include <algorithm>
#include <sstream>
#include <string>

#include "dha/budget.h"
#include "dha/error.h"
#include "planning/allocation.h"
#include "planning/constraint_limits.h"
#include "planning/merge_tree.h"
#include "planning/similarity_input.h"

namespace dha {
namespace {

// The budgets a set of constraints can meet: first, first + step, ..., last.
struct FeasibleBudgets {
    int first = 0;
    int last = 0;
    int step = 1;
};

std::string percentOf(int heads, int sourceKvHeads) {
    std::ostringstream out;
    out.precision(3);
    out << 100.0 * heads / sourceKvHeads << "%";
    return out.str();
}

std::string budgetText(const Budget& budget, int keptHeads, int sourceKvHeads) {
    if (budget.heads) return "budget " + budget.describe();
    return "budget " + budget.describe() + " (" + std::to_string(keptHeads) + " of " +
           std::to_string(sourceKvHeads) + " K+V heads)";
}

std::string rangeText(const FeasibleBudgets& feasible, int sourceKvHeads) {
    std::string text = "feasible budgets are " + std::to_string(feasible.first) + ".." +
                       std::to_string(feasible.last) + " heads";
    if (feasible.step > 1) text += " in steps of " + std::to_string(feasible.step);
    return text + " (" + percentOf(feasible.first, sourceKvHeads) + ".." +
           percentOf(feasible.last, sourceKvHeads) + ")";
}

// Throws InvalidInput naming "budget" unless keptHeads is one of `feasible`.
void checkFeasible(const FeasibleBudgets& feasible, int keptHeads, const Budget& budget, int sourceKvHeads,
                   const std::string& stepReason) {
    const std::string what = budgetText(budget, keptHeads, sourceKvHeads);
    if (keptHeads < feasible.first) {
        failInput("budget",
                  what + " is below what the constraints allow: " + rangeText(feasible, sourceKvHeads));
    }
    if (keptHeads > feasible.last) {
        failInput("budget",
                  what + " is above what the constraints allow: " + rangeText(feasible, sourceKvHeads));
    }
    const int offset = (keptHeads - feasible.first) % feasible.step;
    if (offset != 0) {
        const int below = keptHeads - offset;
        failInput("budget", what + " is not feasible: " + stepReason + "; the nearest feasible budgets are " +
                                std::to_string(below) + " and " + std::to_string(below + feasible.step) +
                                " heads");
    }
}

// Uniform plans: one count G for every tree, inside every tree's limits. Returns the limits pinned at G.
std::vector<planning::CountLimits> uniformLimits(const std::vector<planning::CountLimits>& limits,
                                                 int headsPerGroup, int keptHeads, const Budget& budget,
                                                 int sourceKvHeads) {
    int low = 1;
    int high = limits.front().maxGroups;
    for (const auto& limit : limits) {
        low = std::max(low, limit.minGroups);
        high = std::min(high, limit.maxGroups);
    }
    if (low > high) {
        failInput("plan constraints",
                  "a uniform plan keeps one count in every layer, but the constraints need at least " +
                      std::to_string(low) + " heads in one place and at most " + std::to_string(high) +
                      " in another");
    }
    const int perCount = static_cast<int>(limits.size()) * headsPerGroup;  // 2 * layers heads per unit of G
    checkFeasible({low * perCount, high * perCount, perCount}, keptHeads, budget, sourceKvHeads,
                  "a uniform plan keeps the same count in all " + std::to_string(perCount) +
                      " (layer, K|V) head sets, so the budget must be a multiple of " +
                      std::to_string(perCount));
    const int groups = keptHeads / perCount;
    return std::vector<planning::CountLimits>(limits.size(), planning::CountLimits{groups, groups});
}

}  // namespace

Plan planFromSimilarity(const SimilarityReport& similarity, const Budget& budget,
                        const PlanConstraints& constraints) {
    const int numHeads = planning::checkSimilarityReport(similarity);
    const int numLayers = static_cast<int>(similarity.layers.size());
    const int sourceKvHeads = 2 * numHeads * numLayers;
    std::vector<planning::CountLimits> limits = planning::countLimits(constraints, numLayers, numHeads);
    const int keptHeads = budget.resolve(sourceKvHeads);
    const bool tied = constraints.tieKeyValue;
    const int headsPerGroup = tied ? 2 : 1;

    if (constraints.uniform) {
        limits = uniformLimits(limits, headsPerGroup, keptHeads, budget, sourceKvHeads);
    } else {
        FeasibleBudgets feasible{0, 0, headsPerGroup};
        for (const auto& limit : limits) {
            feasible.first += limit.minGroups * headsPerGroup;
            feasible.last += limit.maxGroups * headsPerGroup;
        }
        checkFeasible(
            feasible, keptHeads, budget, sourceKvHeads,
            "with key and value groupings tied every layer keeps as many value heads as key heads, so the "
            "budget must be even");
    }

    // Ward trees: per (layer, K|V), or per layer on the mean of the key and value similarity when tied. The
    // queue then takes the merges that add the least within-group dispersion, summed over all trees.
    std::vector<planning::MergeTree> trees;
    trees.reserve(limits.size());
    for (const LayerSimilarity& layer : similarity.layers) {
        if (tied) {
            trees.push_back(planning::wardTree(planning::headDistances(layer.key, &layer.value), numHeads));
        } else {
            trees.push_back(planning::wardTree(planning::headDistances(layer.key), numHeads));
            trees.push_back(planning::wardTree(planning::headDistances(layer.value), numHeads));
        }
    }
    std::vector<planning::AllocationSlot> slots;
    for (size_t t = 0; t < trees.size(); ++t) {
        slots.push_back({&trees[t], headsPerGroup, limits[t].minGroups, limits[t].maxGroups});
    }
    const std::vector<int> groups = planning::allocateGroups(slots, keptHeads);

    Plan plan;
    plan.sourceHeads = numHeads;
    for (int layer = 0; layer < numLayers; ++layer) {
        LayerPlan layerPlan;
        if (tied) {
            layerPlan.keyGroups =
                trees[static_cast<size_t>(layer)].groupsAt(groups[static_cast<size_t>(layer)]);
            layerPlan.valueGroups = layerPlan.keyGroups;
        } else {
            const size_t key = static_cast<size_t>(2 * layer);
            layerPlan.keyGroups = trees[key].groupsAt(groups[key]);
            layerPlan.valueGroups = trees[key + 1].groupsAt(groups[key + 1]);
        }
        plan.layers.push_back(std::move(layerPlan));
    }
    return plan;  // canonical: groupsAt lists heads in ascending order
}

}  // namespace dha
