// Similarity metric names and the per-(layer, K|V) redundancy summary of a similarity matrix.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h in LibTorch 2.x

#include <algorithm>
#include <cmath>
#include <string>

#include "dha/error.h"
#include "dha/similarity.h"

namespace dha {
namespace {

constexpr double kCoveredFraction = 0.9;

}  // namespace

const char* similarityMetricName(SimilarityMetric metric) {
    switch (metric) {
        case SimilarityMetric::WeightCka:
            return "cka";
        case SimilarityMetric::WeightCosine:
            return "cosine";
        case SimilarityMetric::ActivationCka:
            return "act-cka";
        case SimilarityMetric::ActivationCosine:
            return "act-cosine";
    }
    return "unknown";
}

std::optional<SimilarityMetric> similarityMetricFromName(const std::string& name) {
    for (const SimilarityMetric metric :
         {SimilarityMetric::WeightCka, SimilarityMetric::WeightCosine, SimilarityMetric::ActivationCka,
          SimilarityMetric::ActivationCosine}) {
        if (name == similarityMetricName(metric)) return metric;
    }
    return std::nullopt;
}

bool isActivationMetric(SimilarityMetric metric) {
    return metric == SimilarityMetric::ActivationCka || metric == SimilarityMetric::ActivationCosine;
}

RedundancySummary summariseRedundancy(const Matrix& similarity) {
    const int heads = similarity.rows;
    if (heads < 1 || similarity.cols != heads ||
        similarity.values.size() != static_cast<size_t>(heads) * static_cast<size_t>(heads)) {
        fail(ErrorCode::Usage, "similarity matrix",
             "expected a non-empty square matrix, got " + std::to_string(similarity.rows) + " x " +
                 std::to_string(similarity.cols) + " with " + std::to_string(similarity.values.size()) +
                 " values");
    }
    for (const float value : similarity.values) {
        if (!std::isfinite(value)) fail(ErrorCode::Usage, "similarity matrix", "has a non-finite value");
    }
    RedundancySummary summary;
    double sum = 0;
    double maximum = -1;
    for (int i = 0; i < heads; ++i) {
        for (int j = 0; j < heads; ++j) {
            if (i == j) continue;
            sum += similarity.at(i, j);
            maximum = std::max(maximum, static_cast<double>(similarity.at(i, j)));
        }
    }
    const int pairs = heads * (heads - 1);
    summary.meanOffDiagonal = pairs > 0 ? sum / pairs : 0.0;
    summary.maxOffDiagonal = pairs > 0 ? maximum : 0.0;

    // Eigenvalues of the symmetrised matrix (fp64; a non-PSD similarity such as cosine can have negative
    // ones, which carry no "shared direction" mass, hence the clamp). Largest first, then count to 90%.
    at::NoGradGuard noGrad;
    const at::Tensor matrix =
        at::from_blob(const_cast<float*>(similarity.values.data()), {heads, heads}, at::kFloat)
            .to(at::kDouble);
    const at::Tensor eigenvalues = at::linalg_eigvalsh((matrix + matrix.t()) / 2).clamp_min(0).contiguous();
    const double* values = eigenvalues.data_ptr<double>();  // ascending
    double total = 0;
    for (int i = 0; i < heads; ++i) total += values[i];
    if (!(total > 0)) {
        summary.headsFor90Percent = heads;  // no positive mass (not a valid similarity): nothing is shared
        return summary;
    }
    double covered = 0;
    summary.headsFor90Percent = heads;
    for (int count = 1; count <= heads; ++count) {
        covered += values[heads - count];
        // A relative slack: a matrix of identical heads has eigenvalues {H, 0, ...}, covered == total
        // exactly.
        if (covered >= kCoveredFraction * total * (1 - 1e-12)) {
            summary.headsFor90Percent = count;
            break;
        }
    }
    return summary;
}

}  // namespace dha
