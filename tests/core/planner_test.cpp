// The planner (dha-method.md section 3): one global cheapest-first queue over the Ward merge trees, the
// budget met exactly, every constraint honoured, and a clear error with the feasible budgets when it cannot
// be.
#include <QTest>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dha/budget.h"
#include "dha/error.h"
#include "dha/plan.h"
#include "planning/allocation.h"
#include "planning/merge_tree.h"
#include "planning/similarity_input.h"
#include "planning_fixtures.h"
#include "test_registry.h"

using namespace dha;
using namespace dha::test;

namespace {

// Group counts in slot order 2 * layer + (0 keys, 1 values).
std::vector<int> countsOf(const Plan& plan) {
    std::vector<int> counts;
    for (const auto& layer : plan.layers) {
        counts.push_back(layer.numKeyHeads());
        counts.push_back(layer.numValueHeads());
    }
    return counts;
}

// Every group of `finer` lies inside one group of `coarser`.
bool refines(const HeadGroups& finer, const HeadGroups& coarser) {
    std::vector<int> groupOf(64, -1);
    for (size_t g = 0; g < coarser.size(); ++g) {
        for (const int head : coarser[g]) groupOf[static_cast<size_t>(head)] = static_cast<int>(g);
    }
    for (const auto& group : finer) {
        for (const int head : group) {
            if (groupOf[static_cast<size_t>(head)] != groupOf[static_cast<size_t>(group.front())])
                return false;
        }
    }
    return true;
}

}  // namespace

class PlannerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void budgetMetExactly();
    void greedyMinimisesMergeCost();
    void nearEqualSimilaritySpreadsTheBudget_data();
    void nearEqualSimilaritySpreadsTheBudget();
    void plansFollowHeadPermutation();
    void redundantLayerGetsFewerHeads();
    void keyAndValueCountsDiffer();
    void constraintsHonoured();
    void tiedKeyValue();
    void uniformCounts();
    void infeasibleBudgetGivesRange_data();
    void infeasibleBudgetGivesRange();
    void constraintErrors_data();
    void constraintErrors();
    void malformedReports_data();
    void malformedReports();
};

void PlannerTest::budgetMetExactly() {
    std::mt19937 rng(4);
    const SimilarityReport report = randomReport(3, 6, rng);
    Plan previous;
    for (int budget = 36; budget >= 6; --budget) {
        const Plan plan = planFromSimilarity(report, Budget::ofHeads(budget));
        validatePlan(plan, 3, 6, "plan");
        QCOMPARE(plan.keptHeads(), budget);
        QCOMPARE(canonicalPlan(plan), plan);
        if (budget < 36) {
            // One queue: a budget one head smaller is the same plan after one more merge.
            const std::vector<int> now = countsOf(plan);
            const std::vector<int> before = countsOf(previous);
            int changed = 0;
            for (size_t s = 0; s < now.size(); ++s) {
                QVERIFY(now[s] == before[s] || now[s] == before[s] - 1);
                changed += before[s] - now[s];
            }
            QCOMPARE(changed, 1);
            for (size_t l = 0; l < plan.layers.size(); ++l) {
                QVERIFY(refines(previous.layers[l].keyGroups, plan.layers[l].keyGroups));
                QVERIFY(refines(previous.layers[l].valueGroups, plan.layers[l].valueGroups));
            }
        }
        previous = plan;
    }
    QCOMPARE(planFromSimilarity(report, Budget::ofHeads(36)),
             adjacentGqaPlan(3, 6, 6));  // everything kept: MHA
    QCOMPARE(planFromSimilarity(report, Budget::ofFraction(0.25)).keptHeads(), 9);
    QCOMPARE(planFromSimilarity(report, Budget::ofFraction(0.5)).keptHeads(), 18);
}

void PlannerTest::greedyMinimisesMergeCost() {
    // With monotone trees, the cheapest-first queue takes the merges of least total cost for the budget:
    // compare with every way of cutting the four trees (2 layers, K and V) that keeps the same heads. With
    // Ward trees that total is the plan's within-group dispersion, summed over keys and values.
    std::mt19937 rng(5);
    const int heads = 5;
    const SimilarityReport report = randomReport(2, heads, rng);
    std::vector<planning::MergeTree> trees;
    std::vector<std::vector<double>> distances;
    for (const auto& layer : report.layers) {
        distances.push_back(planning::headDistances(layer.key));
        distances.push_back(planning::headDistances(layer.value));
    }
    for (const auto& distance : distances) trees.push_back(planning::wardTree(distance, heads));
    const auto costOf = [&](const std::vector<int>& counts) {
        double cost = 0;
        for (size_t t = 0; t < trees.size(); ++t) cost += trees[t].costOfFirst(heads - counts[t]);
        return cost;
    };
    for (int budget = 4; budget <= 20; ++budget) {
        const Plan plan = planFromSimilarity(report, Budget::ofHeads(budget));
        const std::vector<int> counts = countsOf(plan);
        double planDispersion = 0;
        for (size_t t = 0; t < trees.size(); ++t) {
            const HeadGroups& groups =
                t % 2 == 0 ? plan.layers[t / 2].keyGroups : plan.layers[t / 2].valueGroups;
            QCOMPARE(groups, trees[t].groupsAt(counts[t]));  // each (layer, K|V) is its own tree's cut
            planDispersion += dispersion(distances[t], heads, groups);
        }
        QVERIFY(std::abs(costOf(counts) - planDispersion) < 1e-9);
        double best = 1e300;
        for (int a = 1; a <= heads; ++a) {
            for (int b = 1; b <= heads; ++b) {
                for (int c = 1; c <= heads; ++c) {
                    const int d = budget - a - b - c;
                    if (d >= 1 && d <= heads) best = std::min(best, costOf({a, b, c, d}));
                }
            }
        }
        QVERIFY2(std::abs(costOf(counts) - best) < 1e-9, std::to_string(budget).c_str());
    }
}

void PlannerTest::nearEqualSimilaritySpreadsTheBudget_data() {
    QTest::addColumn<int>("seed");
    for (const int seed : {1, 2, 3, 4, 5}) QTest::newRow(("seed " + std::to_string(seed)).c_str()) << seed;
}

void PlannerTest::nearEqualSimilaritySpreadsTheBudget() {
    // Why the trees use Ward linkage. Like the embedded teacher's value heads: in every (layer, K|V) all
    // heads are about equally (dis)similar, base similarity 0.13..0.16 with noise +-0.03, and in one layer
    // the values are a hair less similar and quieter (0.11 +- 0.005). Nothing says any tree is more redundant
    // than another, so a 25% budget should spread: no tree keeps all its heads while another of its kind
    // (keys, or values) is cut to one. Average linkage prices every merge at about the tree's mean distance,
    // so the queue empties every noisy tree down to one head before the quiet tree's first merge; Ward's
    // merges add up to a tree's dispersion, and the noisy trees' late merges cost more than the quiet ones.
    QFETCH(int, seed);
    std::mt19937 rng(static_cast<unsigned>(seed));
    const int layers = 6;
    const int heads = 8;
    const int quietLayer = seed % layers;
    const std::vector<int> oneGroup(heads, 0);
    std::vector<std::pair<Matrix, Matrix>> matrices;
    for (int layer = 0; layer < layers; ++layer) {
        std::uniform_real_distribution<double> base(0.13, 0.16);
        const Matrix keys = blockSimilarity(oneGroup, base(rng), 0, 0.03, rng);
        const Matrix values = layer == quietLayer ? blockSimilarity(oneGroup, 0.11, 0, 0.005, rng)
                                                  : blockSimilarity(oneGroup, base(rng), 0, 0.03, rng);
        matrices.emplace_back(keys, values);
    }
    const SimilarityReport report = reportOf(matrices);
    const auto lopsided = [](const std::vector<int>& counts) {
        for (size_t kind = 0; kind < 2; ++kind) {
            bool all = false;
            bool one = false;
            for (size_t s = kind; s < counts.size(); s += 2) {
                all = all || counts[s] == heads;
                one = one || counts[s] == 1;
            }
            if (all && one) return true;
        }
        return false;
    };
    const Plan plan = planFromSimilarity(report, Budget::ofFraction(0.25));
    QCOMPARE(plan.keptHeads(), 24);
    const std::vector<int> counts = countsOf(plan);
    std::string countsText;
    for (const int count : counts) countsText += std::to_string(count) + " ";
    QVERIFY2(!lopsided(counts), countsText.c_str());
    QVERIFY(plan.layers[static_cast<size_t>(quietLayer)].numValueHeads() < heads);

    // The same allocation over brute-force average-linkage trees is lopsided: the quiet value heads all stay.
    std::vector<planning::MergeTree> averageTrees;
    for (const auto& layer : report.layers) {
        for (const Matrix* similarity : {&layer.key, &layer.value}) {
            const std::vector<double> distance = planning::headDistances(*similarity);
            averageTrees.push_back(
                bruteForceTree(heads, [&](const std::vector<int>& a, const std::vector<int>& b) {
                    double sum = 0;
                    for (const int i : a) {
                        for (const int j : b) sum += distance[static_cast<size_t>(i) * heads + j];
                    }
                    return sum / static_cast<double>(a.size() * b.size());
                }));
        }
    }
    std::vector<planning::AllocationSlot> slots;
    for (const auto& tree : averageTrees) slots.push_back({&tree, 1, 1, heads});
    const std::vector<int> average = planning::allocateGroups(slots, 24);
    QVERIFY(lopsided(average));
    QCOMPARE(average[static_cast<size_t>(2 * quietLayer + 1)], heads);
}

void PlannerTest::plansFollowHeadPermutation() {
    // The plan depends on the similarities, not on how the heads happen to be numbered.
    std::mt19937 rng(6);
    const int heads = 8;
    const SimilarityReport report = randomReport(2, heads, rng);
    std::vector<int> perm(heads);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);  // new head perm[i] is old head i
    SimilarityReport permuted = report;
    for (auto& layer : permuted.layers) {
        const LayerSimilarity original = layer;
        for (int i = 0; i < heads; ++i) {
            for (int j = 0; j < heads; ++j) {
                layer.key.at(perm[i], perm[j]) = original.key.at(i, j);
                layer.value.at(perm[i], perm[j]) = original.value.at(i, j);
            }
        }
    }
    const auto renumbered = [&](HeadGroups groups) {
        for (auto& group : groups) {
            for (int& head : group) head = perm[static_cast<size_t>(head)];
        }
        return groups;
    };
    for (const int budget : {5, 12, 20}) {
        const Plan plan = planFromSimilarity(report, Budget::ofHeads(budget));
        Plan expected = plan;
        for (auto& layer : expected.layers) {
            layer.keyGroups = renumbered(layer.keyGroups);
            layer.valueGroups = renumbered(layer.valueGroups);
        }
        QCOMPARE(planFromSimilarity(permuted, Budget::ofHeads(budget)), canonicalPlan(expected));
    }
}

void PlannerTest::redundantLayerGetsFewerHeads() {
    std::mt19937 rng(7);
    const std::vector<int> alike(8, 0);
    std::vector<int> distinct(8);
    std::iota(distinct.begin(), distinct.end(), 0);
    const SimilarityReport report = reportOf(
        {{blockSimilarity(alike, 0.95, 0.0, 0.02, rng), blockSimilarity(alike, 0.9, 0.0, 0.02, rng)},
         {blockSimilarity(distinct, 0.0, 0.05, 0.02, rng), blockSimilarity(distinct, 0.0, 0.1, 0.02, rng)}});
    const Plan plan = planFromSimilarity(report, Budget::ofFraction(0.5));
    QCOMPARE(plan.keptHeads(), 16);
    // Layer 0's heads all say the same thing: it gives up its heads first (down to the minimum of one).
    QCOMPARE(plan.layers[0].numKeyHeads(), 1);
    QCOMPARE(plan.layers[0].numValueHeads(), 1);
    QCOMPARE(plan.layers[1].numKeyHeads() + plan.layers[1].numValueHeads(), 14);
}

void PlannerTest::keyAndValueCountsDiffer() {
    std::mt19937 rng(8);
    const std::vector<int> keyLabels = {0, 1, 0, 1, 0, 1, 0, 1};  // two kinds of key head
    std::vector<int> valueLabels(8);
    std::iota(valueLabels.begin(), valueLabels.end(), 0);  // eight different value heads
    const SimilarityReport report = reportOf({{blockSimilarity(keyLabels, 0.9, 0.0, 0.02, rng),
                                               blockSimilarity(valueLabels, 0.0, 0.2, 0.02, rng)}});
    const Plan plan = planFromSimilarity(report, Budget::ofHeads(10));
    QCOMPARE(plan.layers[0].numKeyHeads(), 2);
    QCOMPARE(plan.layers[0].numValueHeads(), 8);
    QCOMPARE(plan.layers[0].keyGroups, groupsOfLabels(keyLabels));
}

void PlannerTest::constraintsHonoured() {
    // Random similarities, random constraints, random feasible budgets: every constraint holds and the
    // budget is met. Also: one head below or above the feasible range is refused with that range.
    std::mt19937 rng(9);
    for (int trial = 0; trial < 40; ++trial) {
        const int layers = std::uniform_int_distribution<int>(2, 4)(rng);
        const int heads = std::uniform_int_distribution<int>(3, 7)(rng);
        const SimilarityReport report = randomReport(layers, heads, rng);
        PlanConstraints constraints;
        constraints.tieKeyValue = trial % 4 == 3;
        constraints.minHeads = std::uniform_int_distribution<int>(1, 2)(rng);
        constraints.maxHeads =
            trial % 3 == 0 ? 0 : std::uniform_int_distribution<int>(constraints.minHeads, heads)(rng);
        const int maxHeads = constraints.maxHeads == 0 ? heads : constraints.maxHeads;
        if (trial % 2 == 0)
            constraints.lockedLayers.push_back(std::uniform_int_distribution<int>(0, layers - 1)(rng));
        const bool lockedLayer0 = !constraints.lockedLayers.empty() && constraints.lockedLayers[0] == 0;
        // Fixed counts in layer 0 unless it is locked: keys (and values too when not tied).
        if (!lockedLayer0) {
            const int count = std::uniform_int_distribution<int>(1, heads)(rng);
            constraints.fixed.push_back({0, HeadKind::Key, count});
            if (!constraints.tieKeyValue)
                constraints.fixed.push_back({0, HeadKind::Value, heads + 1 - count});
        }
        // What the limits are, per (layer, K|V): locked, fixed, else min..max.
        std::vector<std::pair<int, int>> limits;
        for (int layer = 0; layer < layers; ++layer) {
            for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
                std::pair<int, int> limit{constraints.minHeads, maxHeads};
                if (std::count(constraints.lockedLayers.begin(), constraints.lockedLayers.end(), layer)) {
                    limit = {heads, heads};
                }
                for (const FixedCount& fixed : constraints.fixed) {
                    if (fixed.layer == layer && (fixed.kind == kind || constraints.tieKeyValue)) {
                        limit = {fixed.heads, fixed.heads};
                    }
                }
                limits.push_back(limit);
            }
        }
        int low = 0;
        int high = 0;
        for (const auto& limit : limits) {
            low += limit.first;
            high += limit.second;
        }
        const int step = constraints.tieKeyValue ? 2 : 1;
        const int budget = low + step * std::uniform_int_distribution<int>(0, (high - low) / step)(rng);
        const Plan plan = planFromSimilarity(report, Budget::ofHeads(budget), constraints);
        validatePlan(plan, layers, heads, "plan");
        QCOMPARE(plan.keptHeads(), budget);
        const std::vector<int> counts = countsOf(plan);
        for (size_t s = 0; s < counts.size(); ++s) {
            QVERIFY2(counts[s] >= limits[s].first && counts[s] <= limits[s].second,
                     ("trial " + std::to_string(trial) + " slot " + std::to_string(s)).c_str());
        }
        for (const int layer : constraints.lockedLayers) {
            QCOMPARE(plan.layers[static_cast<size_t>(layer)],
                     adjacentGqaPlan(1, heads, heads).layers[0]);  // MHA
        }
        if (constraints.tieKeyValue) {
            for (const auto& layer : plan.layers) QCOMPARE(layer.keyGroups, layer.valueGroups);
        }
        const std::string range =
            "feasible budgets are " + std::to_string(low) + ".." + std::to_string(high) + " heads";
        if (low > 1) {
            QVERIFY(errorOf([&] {
                        planFromSimilarity(report, Budget::ofHeads(low - step), constraints);
                    }).find(range) != std::string::npos);
        }
        QVERIFY(errorOf([&] {
                    planFromSimilarity(report, Budget::ofHeads(high + step), constraints);
                }).find(range) != std::string::npos);
    }
}

void PlannerTest::tiedKeyValue() {
    // Keys pair {0,1},{2,3} strongly, values pair {0,2},{1,3} weakly: tied, the mean follows the keys.
    std::mt19937 rng(10);
    const Matrix keys = blockSimilarity({0, 0, 1, 1}, 0.9, 0.0, 0.0, rng);
    const Matrix values = blockSimilarity({0, 1, 0, 1}, 0.3, 0.0, 0.0, rng);
    PlanConstraints tied;
    tied.tieKeyValue = true;
    const SimilarityReport report = reportOf({{keys, values}, {keys, values}, {values, keys}});
    const Plan plan = planFromSimilarity(report, Budget::ofHeads(12), tied);
    QCOMPARE(plan.keptHeads(), 12);
    for (const auto& layer : plan.layers) {
        QCOMPARE(layer.keyGroups, layer.valueGroups);
        QCOMPARE(layer.keyGroups, (HeadGroups{{0, 1}, {2, 3}}));
    }
    // Untied, the values of layer 0 follow their own similarity.
    QCOMPARE(planFromSimilarity(report, Budget::ofHeads(12)).layers[0].valueGroups,
             (HeadGroups{{0, 2}, {1, 3}}));
    ErrorCode code = ErrorCode::Internal;
    const std::string odd = errorOf([&] { planFromSimilarity(report, Budget::ofHeads(13), tied); }, &code);
    QVERIFY2(
        odd.find("budget 13 heads is not feasible") != std::string::npos &&
            odd.find("must be even; the nearest feasible budgets are 12 and 14 heads") != std::string::npos,
        odd.c_str());
    QCOMPARE(code, ErrorCode::InvalidInput);
    // A fraction that rounds to an odd count says both.
    const std::string fraction = errorOf([&] { planFromSimilarity(report, Budget::ofFraction(0.3), tied); });
    QVERIFY2(fraction.find("budget 30% (7 of 24 K+V heads) is not feasible") != std::string::npos &&
                 fraction.find("6 and 8 heads") != std::string::npos,
             fraction.c_str());
}

void PlannerTest::uniformCounts() {
    std::mt19937 rng(11);
    const SimilarityReport report = randomReport(2, 8, rng);  // 32 K+V heads; a uniform count G keeps 4G
    PlanConstraints uniform;
    uniform.uniform = true;
    const Plan plan = planFromSimilarity(report, Budget::ofHeads(12), uniform);
    for (const int count : countsOf(plan)) QCOMPARE(count, 3);
    PlanConstraints both = uniform;
    both.tieKeyValue = true;
    const Plan tied = planFromSimilarity(report, Budget::ofHeads(12), both);
    for (const auto& layer : tied.layers) {
        QCOMPARE(layer.numKeyHeads(), 3);
        QCOMPARE(layer.keyGroups, layer.valueGroups);
    }
    const std::string message = errorOf([&] { planFromSimilarity(report, Budget::ofHeads(14), uniform); });
    QVERIFY2(message.find("must be a multiple of 4; the nearest feasible budgets are 12 and 16 heads") !=
                 std::string::npos,
             message.c_str());
    const std::string fraction =
        errorOf([&] { planFromSimilarity(report, Budget::ofFraction(0.4), uniform); });
    QVERIFY2(fraction.find("budget 40% (13 of 32 K+V heads) is not feasible") != std::string::npos &&
                 fraction.find("12 and 16 heads") != std::string::npos,
             fraction.c_str());
    // Uniform and min/max: only counts 2..3 are allowed.
    uniform.minHeads = 2;
    uniform.maxHeads = 3;
    QVERIFY(errorOf([&] {
                planFromSimilarity(report, Budget::ofHeads(4), uniform);
            }).find("feasible budgets are 8..12 heads in steps of 4") != std::string::npos);
    // A locked layer makes a uniform plan all-MHA.
    uniform.minHeads = 1;
    uniform.maxHeads = 0;
    uniform.lockedLayers = {1};
    QCOMPARE(planFromSimilarity(report, Budget::ofHeads(32), uniform), adjacentGqaPlan(2, 8, 8));
}

void PlannerTest::infeasibleBudgetGivesRange_data() {
    QTest::addColumn<int>("heads");  // budget as a head count, or 0 for `fraction`
    QTest::addColumn<double>("fraction");
    QTest::addColumn<int>("minHeads");
    QTest::addColumn<int>("maxHeads");
    QTest::addColumn<int>("lockedLayer");  // -1 none
    QTest::addColumn<bool>("tied");
    QTest::addColumn<QString>("fragment");
    // 2 layers of 4 heads: 16 K+V heads.
    QTest::newRow("below the minimum")
        << 6 << 0.0 << 2 << 0 << -1 << false
        << "budget 6 heads is below what the constraints allow: feasible budgets are "
           "8..16 heads (50%..100%)";
    QTest::newRow("above the maximum")
        << 14 << 0.0 << 1 << 3 << -1 << false
        << "budget 14 heads is above what the constraints allow: feasible budgets are "
           "4..12 heads (25%..75%)";
    QTest::newRow("above the source")
        << 17 << 0.0 << 1 << 0 << -1 << false << "feasible budgets are 4..16 heads";
    QTest::newRow("locked layer") << 4 << 0.0 << 1 << 0 << 0 << false << "feasible budgets are 10..16 heads";
    QTest::newRow("tied") << 2 << 0.0 << 1 << 0 << -1 << true
                          << "feasible budgets are 4..16 heads in steps of 2";
    QTest::newRow("fraction rounds to zero")
        << 0 << 0.01 << 1 << 0 << -1 << false
        << "budget 1% (0 of 16 K+V heads) is below what the constraints allow";
    QTest::newRow("fraction below min")
        << 0 << 0.2 << 1 << 0 << -1 << false << "budget 20% (3 of 16 K+V heads) is below";
}

void PlannerTest::infeasibleBudgetGivesRange() {
    QFETCH(int, heads);
    QFETCH(double, fraction);
    QFETCH(int, minHeads);
    QFETCH(int, maxHeads);
    QFETCH(int, lockedLayer);
    QFETCH(bool, tied);
    QFETCH(QString, fragment);
    std::mt19937 rng(12);
    const SimilarityReport report = randomReport(2, 4, rng);
    PlanConstraints constraints;
    constraints.minHeads = minHeads;
    constraints.maxHeads = maxHeads;
    constraints.tieKeyValue = tied;
    if (lockedLayer >= 0) constraints.lockedLayers.push_back(lockedLayer);
    const Budget budget = heads > 0 ? Budget::ofHeads(heads) : Budget::ofFraction(fraction);
    ErrorCode code = ErrorCode::Internal;
    const std::string message = errorOf([&] { planFromSimilarity(report, budget, constraints); }, &code);
    QVERIFY2(message.rfind("budget: ", 0) == 0 && message.find(fragment.toStdString()) != std::string::npos,
             message.c_str());
    QCOMPARE(code, ErrorCode::InvalidInput);
}

void PlannerTest::constraintErrors_data() {
    QTest::addColumn<int>("minHeads");
    QTest::addColumn<int>("maxHeads");
    QTest::addColumn<int>("lockedLayer");  // -1 none
    QTest::addColumn<int>("fixedLayer");   // -1 none
    QTest::addColumn<int>("fixedHeads");
    QTest::addColumn<bool>("fixTwice");  // a second fixed count of fixedLayer's key heads (1)
    QTest::addColumn<bool>("tied");
    QTest::addColumn<bool>("uniform");
    QTest::addColumn<QString>("fragment");
    // 3 layers of 4 heads.
    QTest::newRow("min zero") << 0 << 0 << -1 << -1 << 0 << false << false << false
                              << "min heads per layer is 0, expected 1..4";
    QTest::newRow("max above heads") << 1 << 9 << -1 << -1 << 0 << false << false << false
                                     << "max heads per layer is 9, expected 1..4";
    QTest::newRow("min above max") << 3 << 2 << -1 << -1 << 0 << false << false << false
                                   << "min heads per layer (3) is above max heads per layer (2)";
    QTest::newRow("locked layer missing") << 1 << 0 << 3 << -1 << 0 << false << false << false
                                          << "locked layer 3 does not exist: the model has 3 layers (0..2)";
    QTest::newRow("locked layer negative")
        << 1 << 0 << -5 << -1 << 0 << false << false << false << "locked layer -5 does not exist";
    QTest::newRow("fixed layer missing") << 1 << 0 << -1 << 7 << 2 << false << false << false
                                         << "fixed count for the key heads of layer 7: no such layer";
    QTest::newRow("fixed zero heads") << 1 << 0 << -1 << 1 << 0 << false << false << false
                                      << "fixed count for the key heads of layer 1 is 0, expected 1..4";
    QTest::newRow("fixed too many heads") << 1 << 0 << -1 << 1 << 5 << false << false << false
                                          << "fixed count for the key heads of layer 1 is 5, expected 1..4";
    QTest::newRow("fixed in a locked layer")
        << 1 << 0 << 2 << 2 << 3 << false << false << false
        << "layer 2 is locked (keeps all 4 heads) but its key heads are fixed at 3";
    QTest::newRow("fixed twice") << 1 << 0 << -1 << 1 << 2 << true << false << false
                                 << "the key heads of layer 1 are fixed twice";
    QTest::newRow("tied key and value differ")
        << 1 << 0 << -1 << 1 << 2 << false << true << false
        << "layer 1 has 2 key heads and 3 value heads fixed, but key and value "
           "groupings are tied";
    QTest::newRow("uniform against fixed and locked")
        << 1 << 0 << 0 << 1 << 2 << false << false << true << "a uniform plan keeps one count in every layer";
}

void PlannerTest::constraintErrors() {
    QFETCH(int, minHeads);
    QFETCH(int, maxHeads);
    QFETCH(int, lockedLayer);
    QFETCH(int, fixedLayer);
    QFETCH(int, fixedHeads);
    QFETCH(bool, fixTwice);
    QFETCH(bool, tied);
    QFETCH(bool, uniform);
    QFETCH(QString, fragment);
    std::mt19937 rng(13);
    const SimilarityReport report = randomReport(3, 4, rng);
    PlanConstraints constraints;
    constraints.minHeads = minHeads;
    constraints.maxHeads = maxHeads;
    constraints.tieKeyValue = tied;
    constraints.uniform = uniform;
    if (lockedLayer != -1) constraints.lockedLayers.push_back(lockedLayer);
    if (fixedLayer >= 0) constraints.fixed.push_back({fixedLayer, HeadKind::Key, fixedHeads});
    if (fixTwice) constraints.fixed.push_back({fixedLayer, HeadKind::Key, 1});
    if (tied) constraints.fixed.push_back({fixedLayer, HeadKind::Value, fixedHeads + 1});
    ErrorCode code = ErrorCode::Internal;
    const std::string message =
        errorOf([&] { planFromSimilarity(report, Budget::ofHeads(12), constraints); }, &code);
    QVERIFY2(message.rfind("plan constraints: ", 0) == 0 &&
                 message.find(fragment.toStdString()) != std::string::npos,
             message.c_str());
    QCOMPARE(code, ErrorCode::InvalidInput);
}

void PlannerTest::malformedReports_data() {
    QTest::addColumn<int>("defect");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("no layers") << 0 << "the similarity report has no layers";
    QTest::newRow("not square") << 1 << "layer 1 key similarity is 4 x 3 (12 values), expected 4 x 4";
    QTest::newRow("other head count") << 2 << "layer 2 value similarity is 3 x 3 (9 values), expected 4 x 4";
    QTest::newRow("too few values") << 3 << "layer 0 value similarity is 4 x 4 (15 values), expected 4 x 4";
    QTest::newRow("not finite") << 4 << "layer 1 value similarity at (2, 3) is not a finite number";
    QTest::newRow("layers out of order") << 5 << "entry 1 of the similarity report is layer 2";
    QTest::newRow("empty matrices") << 6 << "layer 0 key similarity has 0 rows, expected 1..4096 heads";
}

void PlannerTest::malformedReports() {
    QFETCH(int, defect);
    QFETCH(QString, fragment);
    std::mt19937 rng(14);
    SimilarityReport report = randomReport(3, 4, rng);
    switch (defect) {
        case 0:
            report.layers.clear();
            break;
        case 1:
            report.layers[1].key = Matrix(4, 3, 0.5f);
            break;
        case 2:
            report.layers[2].value = uniformSimilarity(3, 0.5);
            break;
        case 3:
            report.layers[0].value.values.pop_back();
            break;
        case 4:
            report.layers[1].value.at(2, 3) = std::nanf("");
            break;
        case 5:
            report.layers[1].layer = 2;
            break;
        case 6:
            report.layers[0].key = Matrix();
            break;
    }
    for (int planner = 0; planner < 2; ++planner) {
        ErrorCode code = ErrorCode::Internal;
        const std::string message = errorOf(
            [&] {
                if (planner == 0) planFromSimilarity(report, Budget::ofHeads(12));
                if (planner == 1) similarityGroupedGqaPlan(report, 2);
            },
            &code);
        QVERIFY2(message.rfind("similarity: ", 0) == 0 &&
                     message.find(fragment.toStdString()) != std::string::npos,
                 message.c_str());
        QCOMPARE(code, ErrorCode::InvalidInput);
    }
}

DHA_TEST_SUITE(PlannerTest)
#include "planner_test.moc"
