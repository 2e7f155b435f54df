// Baseline plans with one grouping shared by keys and values, equal-size groups: adjacent and
// similarity-grouped.
#include <string>
#include <vector>

#include "dha/budget.h"
#include "dha/error.h"
#include "planning/plan_checks.h"
#include "planning/similarity_input.h"

namespace dha {
namespace {

void checkGroupCount(int numHeads, int groups) {
    if (groups >= 1 && groups <= numHeads && numHeads % groups == 0) return;
    std::vector<int> divisors;
    for (int d = 1; d <= numHeads; ++d) {
        if (numHeads % d == 0) divisors.push_back(d);
    }
    failInput("groups", std::to_string(groups) + " groups cannot split " + std::to_string(numHeads) +
                            " heads per layer into equal groups; valid group counts: " +
                            planning::listOfInts(divisors, divisors.size()));
}

// Equal-size groups with high within-group similarity. Greedy first: seed each group with the most similar
// unassigned pair (lowest indices on ties) and grow it with the unassigned head of highest mean similarity to
// the group, until it has `size` heads. Then steepest-ascent swaps of two heads between groups while one
// raises the summed within-group similarity: the greedy's last groups get whatever heads are left, and a swap
// can repair that without ever making the grouping worse.
HeadGroups equalSizeGroups(const std::vector<double>& similarity, int numHeads, int size) {
    const auto s = [&](int i, int j) {
        return i == j ? 0.0 : similarity[static_cast<size_t>(i) * numHeads + j];
    };
    const int numGroups = numHeads / size;
    std::vector<int> groupOf(static_cast<size_t>(numHeads), -1);
    for (int g = 0; g < numGroups; ++g) {
        std::vector<int> members;
        if (size == 1) {
            for (int i = 0; i < numHeads && members.empty(); ++i) {
                if (groupOf[static_cast<size_t>(i)] < 0) members.push_back(i);
            }
        } else {
            int seedA = -1;
            int seedB = -1;
            for (int i = 0; i < numHeads; ++i) {
                for (int j = i + 1; j < numHeads; ++j) {
                    if (groupOf[static_cast<size_t>(i)] >= 0 || groupOf[static_cast<size_t>(j)] >= 0)
                        continue;
                    if (seedA < 0 || s(i, j) > s(seedA, seedB)) {
                        seedA = i;
                        seedB = j;
                    }
                }
            }
            members = {seedA, seedB};
        }
        for (const int m : members) groupOf[static_cast<size_t>(m)] = g;
        while (static_cast<int>(members.size()) < size) {
            int best = -1;
            double bestSum = 0;  // the same group size for every candidate: the sum ranks as the mean does
            for (int k = 0; k < numHeads; ++k) {
                if (groupOf[static_cast<size_t>(k)] >= 0) continue;
                double sum = 0;
                for (const int m : members) sum += s(k, m);
                if (best < 0 || sum > bestSum) {
                    best = k;
                    bestSum = sum;
                }
            }
            members.push_back(best);
            groupOf[static_cast<size_t>(best)] = g;
        }
    }

    // affinity[h * numGroups + g] = summed similarity of head h to the other heads of group g.
    std::vector<double> affinity(static_cast<size_t>(numHeads) * numGroups, 0.0);
    const auto aff = [&](int h, int g) -> double& {
        return affinity[static_cast<size_t>(h) * numGroups + g];
    };
    for (int h = 0; h < numHeads; ++h) {
        for (int m = 0; m < numHeads; ++m) aff(h, groupOf[static_cast<size_t>(m)]) += s(h, m);
    }
    constexpr double kMinGain = 1e-9;  // below this a swap is rounding, and could cycle
    for (int iteration = 0; iteration < 4 * numHeads * numGroups; ++iteration) {
        int bestA = -1;
        int bestB = -1;
        double bestGain = kMinGain;
        for (int a = 0; a < numHeads; ++a) {
            for (int b = a + 1; b < numHeads; ++b) {
                const int ga = groupOf[static_cast<size_t>(a)];
                const int gb = groupOf[static_cast<size_t>(b)];
                if (ga == gb) continue;
                const double gain = aff(b, ga) - aff(a, ga) + aff(a, gb) - aff(b, gb) - 2.0 * s(a, b);
                if (gain > bestGain) {
                    bestGain = gain;
                    bestA = a;
                    bestB = b;
                }
            }
        }
        if (bestA < 0) break;
        const int ga = groupOf[static_cast<size_t>(bestA)];
        const int gb = groupOf[static_cast<size_t>(bestB)];
        for (int h = 0; h < numHeads; ++h) {
            aff(h, ga) += s(h, bestB) - s(h, bestA);
            aff(h, gb) += s(h, bestA) - s(h, bestB);
        }
        groupOf[static_cast<size_t>(bestA)] = gb;
        groupOf[static_cast<size_t>(bestB)] = ga;
    }

    HeadGroups groups(static_cast<size_t>(numGroups));
    for (int h = 0; h < numHeads; ++h)
        groups[static_cast<size_t>(groupOf[static_cast<size_t>(h)])].push_back(h);
    return groups;
}

}  // namespace

Plan adjacentGqaPlan(int numLayers, int numHeads, int groups) {
    if (numLayers < 1 || numLayers > planning::kMaxLayers) {
        failInput("plan",
                  std::to_string(numLayers) + " layers, expected 1.." + std::to_string(planning::kMaxLayers));
    }
    if (numHeads < 1 || numHeads > planning::kMaxSourceHeads) {
        failInput("plan", std::to_string(numHeads) + " heads per layer, expected 1.." +
                              std::to_string(planning::kMaxSourceHeads));
    }
    checkGroupCount(numHeads, groups);
    Plan plan;
    plan.sourceHeads = numHeads;
    plan.layers.assign(static_cast<size_t>(numLayers),
                       LayerPlan::fromLayout(HeadLayout::gqa(numHeads, groups)));
    return plan;
}

Plan similarityGroupedGqaPlan(const SimilarityReport& similarity, int groups) {
    const int numHeads = planning::checkSimilarityReport(similarity);
    checkGroupCount(numHeads, groups);
    Plan plan;
    plan.sourceHeads = numHeads;
    for (const LayerSimilarity& layer : similarity.layers) {
        LayerPlan layerPlan;
        layerPlan.keyGroups = equalSizeGroups(planning::symmetricSimilarity(layer.key, &layer.value),
                                              numHeads, numHeads / groups);
        layerPlan.valueGroups = layerPlan.keyGroups;
        plan.layers.push_back(std::move(layerPlan));
    }
    return canonicalPlan(std::move(plan));
}

}  // namespace dha
