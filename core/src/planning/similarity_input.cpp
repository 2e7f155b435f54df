// Checks on the planner's input (a SimilarityReport from the analysis, or from a cache file) and distances.
#include "planning/similarity_input.h"

#include <cmath>
#include <string>

#include "dha/error.h"
#include "planning/plan_checks.h"

namespace dha::planning {
namespace {

constexpr const char* kWhere = "similarity";

void checkMatrix(const Matrix& matrix, int heads, int layer, const char* kind) {
    const std::string name = "layer " + std::to_string(layer) + " " + kind + " similarity";
    if (matrix.rows != heads || matrix.cols != heads ||
        matrix.values.size() != static_cast<size_t>(heads) * static_cast<size_t>(heads)) {
        failInput(
            kWhere,
            name + " is " + std::to_string(matrix.rows) + " x " + std::to_string(matrix.cols) + " (" +
                std::to_string(matrix.values.size()) + " values), expected " + std::to_string(heads) + " x " +
                std::to_string(heads) + " like layer 0 keys",
            "plans need an MHA source analysed in every layer: one key and one value head per query head");
    }
    for (int row = 0; row < heads; ++row) {
        for (int col = 0; col < heads; ++col) {
            if (!std::isfinite(matrix.at(row, col))) {
                failInput(kWhere, name + " at (" + std::to_string(row) + ", " + std::to_string(col) +
                                      ") is not a finite number");
            }
        }
    }
}

}  // namespace

int checkSimilarityReport(const SimilarityReport& report) {
    if (report.layers.empty()) failInput(kWhere, "the similarity report has no layers");
    if (report.layers.size() > static_cast<size_t>(kMaxLayers)) {
        failInput(kWhere, "the similarity report has " + std::to_string(report.layers.size()) +
                              " layers, expected at most " + std::to_string(kMaxLayers));
    }
    const int heads = report.layers.front().key.rows;
    if (heads < 1 || heads > kMaxSourceHeads) {
        failInput(kWhere, "layer 0 key similarity has " + std::to_string(heads) + " rows, expected 1.." +
                              std::to_string(kMaxSourceHeads) + " heads");
    }
    for (size_t i = 0; i < report.layers.size(); ++i) {
        const LayerSimilarity& layer = report.layers[i];
        if (layer.layer != static_cast<int>(i)) {
            failInput(kWhere, "entry " + std::to_string(i) + " of the similarity report is layer " +
                                  std::to_string(layer.layer) + "; plans need every layer, in order from 0");
        }
        checkMatrix(layer.key, heads, layer.layer, "key");
        checkMatrix(layer.value, heads, layer.layer, "value");
    }
    return heads;
}

std::vector<double> symmetricSimilarity(const Matrix& similarity, const Matrix* other) {
    const int n = similarity.rows;
    std::vector<double> result(static_cast<size_t>(n) * static_cast<size_t>(n), 1.0);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            if (i == j) continue;
            double value = (static_cast<double>(similarity.at(i, j)) + similarity.at(j, i)) / 2.0;
            if (other != nullptr)
                value = (value + (static_cast<double>(other->at(i, j)) + other->at(j, i)) / 2.0) / 2.0;
            result[static_cast<size_t>(i) * n + j] = value;
        }
    }
    return result;
}

std::vector<double> headDistances(const Matrix& similarity, const Matrix* other) {
    std::vector<double> distance = symmetricSimilarity(similarity, other);
    const size_t n = static_cast<size_t>(similarity.rows);
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) distance[i * n + j] = i == j ? 0.0 : 1.0 - distance[i * n + j];
    }
    return distance;
}

}  // namespace dha::planning
