// The search stage's training step (LM loss + weighted pull, through Omega W to Omega) and the similarity
// report the planner reads from the learned distances.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h in LibTorch 2.x

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "dha/error.h"
#include "training/fused_forward.h"
#include "training/search_stage.h"

namespace dha::training {
namespace {

// [H, H] double, row-major, of a Matrix (symmetrised, clipped to [0, 1], 1 on the diagonal).
std::vector<double> clippedSimilarity(const Matrix& matrix) {
    const int n = matrix.rows;
    std::vector<double> result(static_cast<size_t>(n) * n, 1.0);
    for (int j = 0; j < n; ++j) {
        for (int k = 0; k < n; ++k) {
            if (j == k) continue;
            const double mean = (static_cast<double>(matrix.at(j, k)) + matrix.at(k, j)) / 2.0;
            result[static_cast<size_t>(j) * n + k] = std::min(1.0, std::max(0.0, mean));
        }
    }
    return result;
}

void checkCkaReport(const SimilarityReport& cka, int layers, int heads) {
    if (cka.layers.size() != static_cast<size_t>(layers)) {
        failInput("similarity", "the CKA report has " + std::to_string(cka.layers.size()) +
                                    " layers and the searched model " + std::to_string(layers));
    }
    for (int layer = 0; layer < layers; ++layer) {
        const LayerSimilarity& entry = cka.layers[static_cast<size_t>(layer)];
        for (const Matrix* matrix : {&entry.key, &entry.value}) {
            bool ok = entry.layer == layer && matrix->rows == heads && matrix->cols == heads &&
                      matrix->values.size() == static_cast<size_t>(heads) * heads;
            for (size_t i = 0; ok && i < matrix->values.size(); ++i) ok = std::isfinite(matrix->values[i]);
            if (!ok) {
                failInput("similarity", "layer " + std::to_string(layer) + " of the CKA report is not " +
                                            std::to_string(heads) + " x " + std::to_string(heads) +
                                            " finite similarities of the searched model's layer " +
                                            std::to_string(layer));
            }
        }
    }
}

}  // namespace

SearchStepResult searchStep(SearchStageState& state, const at::Tensor& batch, const SearchOptions& options) {
    for (const double value : {options.omegaLearningRate, options.modelLearningRate, options.pullWeight}) {
        if (!std::isfinite(value) || value < 0) {
            failInput("search options",
                      "learning rates and the pull weight must be finite numbers >= 0, not " +
                          std::to_string(value));
        }
    }
    if (options.modelLearningRate > 0 && !state.trainsModel()) {
        fail(ErrorCode::Internal, "search step",
             "a model learning rate was given to a search whose model was built frozen");
    }
    AdamW::NamedParameters trained = state.omegaParameters();
    trained.insert(trained.end(), state.modelParameters().begin(), state.modelParameters().end());
    clearGradients(trained);
    const FusedForward forward(state.fusion(), state.fusedModel(), batch, options.bf16Autocast, "search step");
    const at::Tensor& lmLoss = forward.lmLoss();
    const at::Tensor pullLoss = state.pullLoss();
    (lmLoss + pullLoss * options.pullWeight).backward();

    SearchStepResult result;
    result.lmLoss = lmLoss.item<double>();
    result.pullLoss = pullLoss.item<double>();
    if (!std::isfinite(result.lmLoss) || !std::isfinite(result.pullLoss)) {
        fail(ErrorCode::InvalidInput, "search stage",
             "the LM loss is " + std::to_string(result.lmLoss) + " and the pull " +
                 std::to_string(result.pullLoss) + ": training diverged",
             "start again with lower learning rates (or fp32)");
    }

    forward.propagateToFusionWeights();  // on to Omega (and the source heads when the model trains)

    result.gradNorm = clipGradientNorm(trained, options.gradientClip);
    state.omegaOptimizer().step(options.omegaLearningRate);
    if (AdamW* modelOptimizer = state.modelOptimizer()) modelOptimizer->step(options.modelLearningRate);
    state.finishStep();
    return result;
}

SimilarityReport learnedSimilarity(const SearchStageState& state, const SimilarityReport* cka,
                                   double ckaMix) {
    if (!std::isfinite(ckaMix) || ckaMix < 0 || ckaMix > 1)
        failInput("search similarity", "the CKA mix " + std::to_string(ckaMix) + " is outside [0, 1]");
    if (ckaMix > 0 && cka == nullptr)
        failInput("search similarity", "a CKA mix of " + std::to_string(ckaMix) + " needs a CKA report");
    const int layers = state.numLayers();
    const int heads = state.numHeads();
    if (cka != nullptr) checkCkaReport(*cka, layers, heads);

    // Every matrix's distances first: Dref is one number for the whole model.
    std::vector<at::Tensor> distances;
    double reference = 2.0;  // the identity's distance between any two slots
    {
        at::NoGradGuard noGrad;
        for (int layer = 0; layer < layers; ++layer) {
            for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
                distances.push_back(
                    rowDistances(state.omega(layer, kind).detach().to(at::kCPU).to(at::kDouble))
                        .contiguous());
                reference = std::max(reference, distances.back().max().item<double>());
            }
        }
    }
    if (!std::isfinite(reference))
        failInput("search similarity", "an Omega holds a non-finite value: the search diverged");

    SimilarityReport report;
    report.metric = SimilarityMetric::WeightCka;  // closest existing value; see learnedSimilarity's comment
    if (cka != nullptr) report.modelFingerprint = cka->modelFingerprint;
    for (int layer = 0; layer < layers; ++layer) {
        LayerSimilarity entry;
        entry.layer = layer;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const at::Tensor& d = distances[static_cast<size_t>(layer) * 2 + (kind == HeadKind::Key ? 0 : 1)];
            const double* values = d.data_ptr<double>();
            std::vector<double> mixWith;
            if (cka != nullptr && ckaMix > 0) {
                const LayerSimilarity& other = cka->layers[static_cast<size_t>(layer)];
                mixWith = clippedSimilarity(kind == HeadKind::Key ? other.key : other.value);
            }
            Matrix similarity(heads, heads);
            for (int j = 0; j < heads; ++j) {
                for (int k = 0; k < heads; ++k) {
                    const size_t index = static_cast<size_t>(j) * heads + k;
                    double s = j == k ? 1.0 : 1.0 - values[index] / reference;
                    if (!mixWith.empty()) s = (1.0 - ckaMix) * s + ckaMix * mixWith[index];
                    similarity.at(j, k) = static_cast<float>(j == k ? 1.0 : std::min(1.0, std::max(0.0, s)));
                }
            }
            (kind == HeadKind::Key ? entry.key : entry.value) = similarity;
        }
        entry.keySummary = summariseRedundancy(entry.key);
        entry.valueSummary = summariseRedundancy(entry.value);
        report.layers.push_back(std::move(entry));
    }
    return report;
}

}  // namespace dha::training
