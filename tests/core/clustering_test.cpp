// Ward merge trees per (layer, K|V) and the GQA baseline plans (adjacent and similarity-grouped), on
// hand-made, planted and random similarity matrices.
#include <QTest>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dha/budget.h"
#include "dha/error.h"
#include "dha/plan.h"
#include "planning/merge_tree.h"
#include "planning/similarity_input.h"
#include "planning_fixtures.h"
#include "test_registry.h"

using namespace dha;
using namespace dha::test;

namespace {

// Summed within-group similarity: what the similarity-grouped GQA baseline maximises.
double withinGroupSimilarity(const HeadGroups& groups, const Matrix& s) {
    double total = 0;
    for (const auto& group : groups) {
        for (size_t i = 0; i < group.size(); ++i) {
            for (size_t j = i + 1; j < group.size(); ++j) total += s.at(group[i], group[j]);
        }
    }
    return total;
}

}  // namespace

class ClusteringTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mergeTreeRecoversBlocks();
    void mergeTreeIsWard();
    void mergeCostIsDispersionIncrease();
    void mergeTreeIsMonotone();
    void mergeTreeTiesAreDeterministic();
    void adjacentGqaEqualsHeadLayoutGqa();
    void similarityGroupedGqaRecoversBlocks_data();
    void similarityGroupedGqaRecoversBlocks();
    void similarityGroupedGqaIsLocallyOptimal();
};

void ClusteringTest::mergeTreeRecoversBlocks() {
    std::mt19937 rng(1);
    const std::vector<int> labels = {2, 0, 1, 0, 2, 1, 1, 0, 2};
    const Matrix similarity = blockSimilarity(labels, 0.9, 0.1, 0.02, rng);
    const planning::MergeTree tree = planning::wardTree(planning::headDistances(similarity), 9);
    QCOMPARE(tree.numLeaves, 9);
    QCOMPARE(tree.merges.size(), size_t(8));
    QCOMPARE(tree.groupsAt(3), groupsOfLabels(labels));
    QCOMPARE(tree.groupsAt(9), (HeadGroups{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}}));
    QCOMPARE(tree.groupsAt(1), (HeadGroups{{0, 1, 2, 3, 4, 5, 6, 7, 8}}));
    // Within a block (distance ~0.1) a merge adds ~0.05 of dispersion; joining two blocks of three at
    // distance ~0.9 adds ~1.25 (|A||B|/(|A|+|B|) times the squared distance of their centres).
    for (size_t i = 0; i < 6; ++i) QVERIFY(tree.merges[i].cost < 0.1);
    QVERIFY(tree.merges[6].cost > 1.0);
    for (const auto& merge : tree.merges) QVERIFY(merge.kept < merge.absorbed);
    for (int count = 1; count <= 9; ++count) QCOMPARE(static_cast<int>(tree.groupsAt(count).size()), count);
}

void ClusteringTest::mergeTreeIsWard() {
    // Against a brute-force replay that recomputes Ward's criterion from the leaves for every pair of
    // clusters at every step: the same merges, in the same order, with the same names and costs.
    std::mt19937 rng(2);
    for (int trial = 0; trial < 6; ++trial) {
        const int n = trial == 0 ? 2 : 11;
        const std::vector<double> distance = planning::headDistances(randomSimilarity(n, rng));
        const planning::MergeTree tree = planning::wardTree(distance, n);
        const planning::MergeTree brute =
            bruteForceTree(n, [&](const std::vector<int>& a, const std::vector<int>& b) {
                return wardIncrease(distance, n, a, b);
            });
        QCOMPARE(tree.numLeaves, n);
        QCOMPARE(tree.merges.size(), brute.merges.size());
        for (size_t step = 0; step < tree.merges.size(); ++step) {
            QCOMPARE(tree.merges[step].kept, brute.merges[step].kept);
            QCOMPARE(tree.merges[step].absorbed, brute.merges[step].absorbed);
            QVERIFY(std::abs(tree.merges[step].cost - brute.merges[step].cost) < 1e-12);
        }
    }
    QCOMPARE(planning::wardTree({0.0}, 1).merges.size(), size_t(0));
}

void ClusteringTest::mergeCostIsDispersionIncrease() {
    // The convention of merge_tree.h, checked two independent ways.
    std::mt19937 rng(16);
    // 1. The Lance-Williams Ward recursion on D (D = d between single heads), replayed along the tree: before
    // every merge, D / 2 of every pair of clusters equals the leaf-level increase W(A u B) - W(A) - W(B) (the
    // closed form), the merged pair is the cheapest, and its D / 2 is the recorded cost.
    for (int trial = 0; trial < 4; ++trial) {
        const int n = 12;
        const std::vector<double> distance = planning::headDistances(randomSimilarity(n, rng));
        const planning::MergeTree tree = planning::wardTree(distance, n);
        std::vector<std::vector<double>> lw(n, std::vector<double>(n));
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j) lw[i][j] = distance[static_cast<size_t>(i) * n + j];
        }
        std::vector<std::vector<int>> members(n);
        for (int i = 0; i < n; ++i) members[i] = {i};
        for (const planning::MergeStep& merge : tree.merges) {
            double cheapest = 1e300;
            for (int a = 0; a < n; ++a) {
                for (int b = a + 1; b < n; ++b) {
                    if (members[a].empty() || members[b].empty()) continue;
                    QVERIFY(std::abs(lw[a][b] / 2 - wardIncrease(distance, n, members[a], members[b])) <
                            1e-12);
                    cheapest = std::min(cheapest, lw[a][b] / 2);
                }
            }
            const int a = merge.kept;
            const int b = merge.absorbed;
            QVERIFY(!members[a].empty() && !members[b].empty());
            QVERIFY(std::abs(lw[a][b] / 2 - merge.cost) < 1e-12);
            QVERIFY(std::abs(merge.cost - cheapest) < 1e-12);
            const double na = static_cast<double>(members[a].size());
            const double nb = static_cast<double>(members[b].size());
            for (int k = 0; k < n; ++k) {
                if (k == a || k == b || members[k].empty()) continue;
                const double nk = static_cast<double>(members[k].size());
                lw[a][k] = lw[k][a] =
                    ((nk + na) * lw[k][a] + (nk + nb) * lw[k][b] - nk * lw[a][b]) / (nk + na + nb);
            }
            members[a].insert(members[a].end(), members[b].begin(), members[b].end());
            members[b].clear();
        }
    }
    // 2. Points in 3-d, d = squared Euclidean distance: a merge costs |A||B|/(|A|+|B|) |c_A - c_B|^2 (the
    // rise in the summed squared distances to the group centres), and the whole tree costs the total sum of
    // squares.
    std::uniform_real_distribution<double> coordinate(-1.0, 1.0);
    const int n = 10;
    std::vector<std::array<double, 3>> points(n);
    for (auto& point : points) {
        for (double& x : point) x = coordinate(rng);
    }
    std::vector<double> distance(static_cast<size_t>(n) * n);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            double squared = 0;
            for (int axis = 0; axis < 3; ++axis) squared += std::pow(points[i][axis] - points[j][axis], 2);
            distance[static_cast<size_t>(i) * n + j] = squared;
        }
    }
    const auto centre = [&](const std::vector<int>& group) {
        std::array<double, 3> c{};
        for (const int head : group) {
            for (int axis = 0; axis < 3; ++axis) c[axis] += points[head][axis] / group.size();
        }
        return c;
    };
    const auto sumOfSquares = [&](const std::vector<int>& group) {
        const std::array<double, 3> c = centre(group);
        double total = 0;
        for (const int head : group) {
            for (int axis = 0; axis < 3; ++axis) total += std::pow(points[head][axis] - c[axis], 2);
        }
        return total;
    };
    const planning::MergeTree tree = planning::wardTree(distance, n);
    for (int merges = 1; merges < n; ++merges) {
        const HeadGroups before = tree.groupsAt(n - merges + 1);
        const planning::MergeStep& merge = tree.merges[static_cast<size_t>(merges - 1)];
        std::vector<int> kept;
        std::vector<int> absorbed;
        for (const auto& group : before) {
            if (group.front() == merge.kept) kept = group;
            if (group.front() == merge.absorbed) absorbed = group;
        }
        QVERIFY(!kept.empty() && !absorbed.empty());
        const std::array<double, 3> ca = centre(kept);
        const std::array<double, 3> cb = centre(absorbed);
        double squared = 0;
        for (int axis = 0; axis < 3; ++axis) squared += std::pow(ca[axis] - cb[axis], 2);
        const double sizes =
            static_cast<double>(kept.size() * absorbed.size()) / (kept.size() + absorbed.size());
        QVERIFY(std::abs(merge.cost - sizes * squared) < 1e-12);
    }
    std::vector<int> all(n);
    std::iota(all.begin(), all.end(), 0);
    QVERIFY(std::abs(tree.costOfFirst(n - 1) - sumOfSquares(all)) < 1e-12);
}

void ClusteringTest::mergeTreeIsMonotone() {
    // Ward's heights never decrease along a tree (up to rounding), and the cost of a tree's first m merges is
    // the dispersion of its cut at n - m groups: on random similarities and on the near-equal ones of real
    // value heads, where the merges are nearly equally costly and rounding has the most room.
    std::mt19937 rng(17);
    for (int trial = 0; trial < 8; ++trial) {
        const int n = trial % 2 == 0 ? 12 : 32;
        const Matrix similarity = trial % 2 == 0
                                      ? randomSimilarity(n, rng)
                                      : blockSimilarity(std::vector<int>(n, 0), 0.14, 0, 0.03, rng);
        const std::vector<double> distance = planning::headDistances(similarity);
        const planning::MergeTree tree = planning::wardTree(distance, n);
        for (size_t i = 1; i < tree.merges.size(); ++i)
            QVERIFY(tree.merges[i].cost >= tree.merges[i - 1].cost - 1e-12);
        for (int merges = 0; merges < n; ++merges) {
            QVERIFY(std::abs(tree.costOfFirst(merges) - dispersion(distance, n, tree.groupsAt(n - merges))) <
                    1e-9);
        }
    }
}

void ClusteringTest::mergeTreeTiesAreDeterministic() {
    // All heads equally far apart (d = 0.5): every merge adds d / 2 = 0.25 exactly, whatever the sizes, and
    // every tie goes to the lowest pair of cluster names.
    const planning::MergeTree flat =
        planning::wardTree(planning::headDistances(uniformSimilarity(5, 0.5)), 5);
    QCOMPARE(flat.merges.size(), size_t(4));
    for (int i = 0; i < 4; ++i) {
        QCOMPARE(flat.merges[static_cast<size_t>(i)].kept, 0);
        QCOMPARE(flat.merges[static_cast<size_t>(i)].absorbed, i + 1);
        QCOMPARE(flat.merges[static_cast<size_t>(i)].cost, 0.25);
    }
    // Two equally close pairs, {2, 3} and {0, 4}: (0, 4) first, being the lower pair; the rest stays apart.
    Matrix s = uniformSimilarity(5, 0.25);
    s.at(2, 3) = s.at(3, 2) = 0.75f;
    s.at(0, 4) = s.at(4, 0) = 0.75f;
    const planning::MergeTree tree = planning::wardTree(planning::headDistances(s), 5);
    QCOMPARE(tree.merges[0].kept, 0);
    QCOMPARE(tree.merges[0].absorbed, 4);
    QCOMPARE(tree.merges[1].kept, 2);
    QCOMPARE(tree.merges[1].absorbed, 3);
    QCOMPARE(tree.merges[0].cost, tree.merges[1].cost);
    QCOMPARE(tree.groupsAt(3), (HeadGroups{{0, 4}, {1}, {2, 3}}));
    // Head 1 is then exactly as cheap to join to {0, 4} as to {2, 3}, clusters built by different merges:
    // the costs tie exactly and the lower pair, (0, 1), wins.
    QCOMPARE(tree.merges[2].kept, 0);
    QCOMPARE(tree.merges[2].absorbed, 1);
    const std::vector<double> distance = planning::headDistances(s);
    QCOMPARE(tree.merges[2].cost, wardIncrease(distance, 5, {0, 4}, {1}));
    QCOMPARE(wardIncrease(distance, 5, {0, 4}, {1}), wardIncrease(distance, 5, {2, 3}, {1}));
    // The same input always gives the same tree, and the same plan.
    std::mt19937 rng(3);
    const SimilarityReport report = randomReport(3, 6, rng);
    QCOMPARE(planFromSimilarity(report, Budget::ofHeads(17)),
             planFromSimilarity(report, Budget::ofHeads(17)));
}

void ClusteringTest::adjacentGqaEqualsHeadLayoutGqa() {
    for (const int groups : {1, 2, 3, 4, 6, 12}) {
        const Plan plan = adjacentGqaPlan(3, 12, groups);
        validatePlan(plan, 3, 12, "plan");
        QCOMPARE(plan.keptHeads(), 2 * 3 * groups);
        QCOMPARE(canonicalPlan(plan), plan);
        for (const HeadLayout& layout : plan.layouts()) {
            QCOMPARE(layout, HeadLayout::gqa(12, groups));
            QVERIFY(layout.isContiguousGqa());
        }
    }
    for (const int groups : {5, 0, 13, -2}) {
        ErrorCode code = ErrorCode::Internal;
        const std::string message = errorOf([&] { adjacentGqaPlan(3, 12, groups); }, &code);
        QVERIFY2(message.find(std::to_string(groups) +
                              " groups cannot split 12 heads per layer into equal groups; "
                              "valid group counts: 1, 2, 3, 4, 6, 12") != std::string::npos,
                 message.c_str());
        QCOMPARE(code, ErrorCode::InvalidInput);
    }
    QVERIFY(errorOf([] { adjacentGqaPlan(0, 12, 4); }).find("0 layers") != std::string::npos);
}

void ClusteringTest::similarityGroupedGqaRecoversBlocks_data() {
    QTest::addColumn<int>("groups");
    QTest::addColumn<int>("seed");
    QTest::newRow("3 groups of 4") << 3 << 1;
    QTest::newRow("4 groups of 3") << 4 << 2;
    QTest::newRow("6 pairs") << 6 << 3;
    QTest::newRow("2 groups of 6") << 2 << 4;
}

void ClusteringTest::similarityGroupedGqaRecoversBlocks() {
    // Planted equal-size blocks under a different random numbering of the heads in every layer; the values
    // share the keys' blocks but are noisier, as the mean of both is what groups them.
    QFETCH(int, groups);
    QFETCH(int, seed);
    std::mt19937 rng(static_cast<unsigned>(seed));
    const int heads = 12;
    std::vector<std::pair<Matrix, Matrix>> layers;
    std::vector<HeadGroups> expected;
    for (int layer = 0; layer < 3; ++layer) {
        std::vector<int> labels(heads);
        for (int h = 0; h < heads; ++h) labels[static_cast<size_t>(h)] = h / (heads / groups);
        std::shuffle(labels.begin(), labels.end(), rng);
        layers.emplace_back(blockSimilarity(labels, 0.8, 0.2, 0.05, rng),
                            blockSimilarity(labels, 0.6, 0.2, 0.15, rng));
        expected.push_back(groupsOfLabels(labels));
    }
    const Plan plan = similarityGroupedGqaPlan(reportOf(layers), groups);
    validatePlan(plan, 3, heads, "plan");
    QCOMPARE(plan.keptHeads(), 2 * 3 * groups);
    for (size_t layer = 0; layer < 3; ++layer) {
        QCOMPARE(plan.layers[layer].keyGroups, expected[layer]);
        QCOMPARE(plan.layers[layer].valueGroups, plan.layers[layer].keyGroups);
    }
    QVERIFY(errorOf([&] {
                similarityGroupedGqaPlan(reportOf(layers), 5);
            }).find("valid group counts: 1, 2, 3, 4, 6, 12") != std::string::npos);
}

void ClusteringTest::similarityGroupedGqaIsLocallyOptimal() {
    // On unstructured similarity: equal-size groups, and no swap of two heads between groups raises the
    // summed within-group similarity (the greedy result is polished until that holds).
    std::mt19937 rng(15);
    const int heads = 12;
    for (const int groups : {2, 3, 4}) {
        const SimilarityReport report = randomReport(2, heads, rng);
        const Plan plan = similarityGroupedGqaPlan(report, groups);
        for (size_t l = 0; l < plan.layers.size(); ++l) {
            const HeadGroups& grouping = plan.layers[l].keyGroups;
            QCOMPARE(plan.layers[l].valueGroups, grouping);
            QCOMPARE(static_cast<int>(grouping.size()), groups);
            for (const auto& group : grouping) QCOMPARE(static_cast<int>(group.size()), heads / groups);
            Matrix mean(heads, heads);
            const std::vector<double> symmetric =
                planning::symmetricSimilarity(report.layers[l].key, &report.layers[l].value);
            for (size_t i = 0; i < symmetric.size(); ++i) mean.values[i] = static_cast<float>(symmetric[i]);
            const double score = withinGroupSimilarity(grouping, mean);
            for (size_t a = 0; a < grouping.size(); ++a) {
                for (size_t b = a + 1; b < grouping.size(); ++b) {
                    for (size_t i = 0; i < grouping[a].size(); ++i) {
                        for (size_t j = 0; j < grouping[b].size(); ++j) {
                            HeadGroups swapped = grouping;
                            std::swap(swapped[a][i], swapped[b][j]);
                            QVERIFY(withinGroupSimilarity(swapped, mean) <= score + 1e-5);
                        }
                    }
                }
            }
        }
    }
}

DHA_TEST_SUITE(ClusteringTest)
#include "clustering_test.moc"
