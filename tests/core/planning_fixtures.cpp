// Similarity matrices and reports with planted structure (see planning_fixtures.h).
#include "planning_fixtures.h"

#include <algorithm>

namespace dha::test {

std::string errorOf(const std::function<void()>& call, ErrorCode* code) {
    try {
        call();
    } catch (const Exception& error) {
        if (code != nullptr) *code = error.error().code;
        return error.error().describe();
    }
    return "no error";
}

Matrix blockSimilarity(const std::vector<int>& labelOf, double within, double between, double noise,
                       std::mt19937& rng) {
    const int n = static_cast<int>(labelOf.size());
    std::uniform_real_distribution<double> jitter(-noise, noise);
    Matrix m(n, n, 1.0f);
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
            const double base =
                labelOf[static_cast<size_t>(i)] == labelOf[static_cast<size_t>(j)] ? within : between;
            m.at(i, j) = m.at(j, i) = static_cast<float>(base + jitter(rng));
        }
    }
    return m;
}

Matrix randomSimilarity(int n, std::mt19937& rng) {
    std::uniform_real_distribution<double> value(-0.2, 1.0);
    Matrix m(n, n, 1.0f);
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) m.at(i, j) = m.at(j, i) = static_cast<float>(value(rng));
    }
    return m;
}

Matrix uniformSimilarity(int n, double value) {
    Matrix m(n, n, static_cast<float>(value));
    for (int i = 0; i < n; ++i) m.at(i, i) = 1.0f;
    return m;
}

SimilarityReport reportOf(const std::vector<std::pair<Matrix, Matrix>>& layers) {
    SimilarityReport report;
    for (size_t l = 0; l < layers.size(); ++l) {
        LayerSimilarity layer;
        layer.layer = static_cast<int>(l);
        layer.key = layers[l].first;
        layer.value = layers[l].second;
        report.layers.push_back(layer);
    }
    return report;
}

SimilarityReport randomReport(int numLayers, int numHeads, std::mt19937& rng) {
    std::vector<std::pair<Matrix, Matrix>> layers;
    for (int l = 0; l < numLayers; ++l)
        layers.emplace_back(randomSimilarity(numHeads, rng), randomSimilarity(numHeads, rng));
    return reportOf(layers);
}

HeadGroups groupsOfLabels(const std::vector<int>& labelOf) {
    HeadGroups groups;
    std::vector<int> groupOfLabel(labelOf.size() + 1, -1);
    for (size_t head = 0; head < labelOf.size(); ++head) {
        int& group = groupOfLabel[static_cast<size_t>(labelOf[head])];
        if (group < 0) {
            group = static_cast<int>(groups.size());
            groups.emplace_back();
        }
        groups[static_cast<size_t>(group)].push_back(static_cast<int>(head));
    }
    return groups;
}

double dispersion(const std::vector<double>& distance, int n, const HeadGroups& groups) {
    double total = 0;
    for (const auto& group : groups) {
        double sum = 0;
        for (size_t i = 0; i < group.size(); ++i) {
            for (size_t j = i + 1; j < group.size(); ++j)
                sum += distance[static_cast<size_t>(group[i]) * n + group[j]];
        }
        total += sum / static_cast<double>(group.size());
    }
    return total;
}

double wardIncrease(const std::vector<double>& distance, int n, const std::vector<int>& a,
                    const std::vector<int>& b) {
    std::vector<int> both = a;
    both.insert(both.end(), b.begin(), b.end());
    return dispersion(distance, n, {both}) - dispersion(distance, n, {a}) - dispersion(distance, n, {b});
}

planning::MergeTree bruteForceTree(int n, const LinkageCost& cost) {
    planning::MergeTree tree;
    tree.numLeaves = n;
    std::vector<std::vector<int>> clusters;  // ordered by smallest head
    for (int i = 0; i < n; ++i) clusters.push_back({i});
    while (clusters.size() > 1) {
        size_t bestA = 0;
        size_t bestB = 1;
        double best = cost(clusters[0], clusters[1]);
        for (size_t a = 0; a < clusters.size(); ++a) {
            for (size_t b = a + 1; b < clusters.size(); ++b) {
                const double c = cost(clusters[a], clusters[b]);
                if (c < best) {  // strict, in (a, b) order: the lowest pair wins a tie
                    best = c;
                    bestA = a;
                    bestB = b;
                }
            }
        }
        tree.merges.push_back({clusters[bestA].front(), clusters[bestB].front(), best});
        clusters[bestA].insert(clusters[bestA].end(), clusters[bestB].begin(), clusters[bestB].end());
        std::sort(clusters[bestA].begin(), clusters[bestA].end());
        clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bestB));
    }
    return tree;
}

}  // namespace dha::test
