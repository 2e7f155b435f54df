// Head analysis: per layer, how similar the key heads are to each other and the value heads (dha-method.md
// section 2), as plain matrices the GUI draws and the planner groups.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dha/job.h"
#include "dha/matrix.h"

namespace dha {

enum class SimilarityMetric {
    WeightCka,           // linear CKA of the heads' projection weights (default): rotation and scale invariant
    WeightCosine,        // cosine of the flattened projection weights: not rotation invariant
    ActivationCka,       // linear CKA of the heads' key/value outputs over a calibration text
    ActivationCosine,    // cosine of the flattened key/value outputs over a calibration text
};

// "cka", "cosine", "act-cka", "act-cosine" (the CLI spelling) and back; nullopt for anything else.
const char* similarityMetricName(SimilarityMetric metric);
std::optional<SimilarityMetric> similarityMetricFromName(const std::string& name);
bool isActivationMetric(SimilarityMetric metric);

// How redundant one (layer, K|V) head set is: what the paper's per-layer bar chart shows.
struct RedundancySummary {
    double meanOffDiagonal = 0;  // mean of the H(H-1) off-diagonal similarities
    double maxOffDiagonal = 0;
    // Fewest heads whose eigen-directions of the similarity matrix hold 90% of its trace (clamped
    // eigenvalues): 1 = all heads say the same thing, H = all different.
    int headsFor90Percent = 0;
};

struct LayerSimilarity {
    int layer = 0;
    Matrix key;    // hk x hk of the analysed model (H x H for an MHA source)
    Matrix value;  // hv x hv
    RedundancySummary keySummary;
    RedundancySummary valueSummary;
};

struct SimilarityReport {
    SimilarityMetric metric = SimilarityMetric::WeightCka;
    std::string modelFingerprint;  // of the analysed checkpoint (config + tensor names, shapes, dtypes)
    bool preRopeKeys = false;      // activation metrics: keys compared before (true) or after RoPE
    int64_t calibrationTokens = 0; // activation metrics: tokens the outputs were collected over
    double seconds = 0;
    std::vector<LayerSimilarity> layers;
};

struct AnalyseSpec {
    std::filesystem::path modelDir;
    SimilarityMetric metric = SimilarityMetric::WeightCka;
    // Activation metrics: calibration text (UTF-8), tokenized with the model's tokenizer as one stream.
    std::filesystem::path calibrationText;
    int64_t calibrationTokens = 4096;  // at most this many tokens, in windows of calibrationContext
    int calibrationContext = 0;        // tokens per window; 0 = min(256, max_position_embeddings)
    bool preRopeKeys = false;
    // When set, the report is cached in <runDir>/analysis/<metric>.json and reused when the model fingerprint
    // and the settings match.
    std::optional<std::filesystem::path> runDir;
};

// One layer's matrices, emitted as soon as the layer is analysed (the GUI draws heatmaps as they arrive).
struct SimilarityEvent {
    SimilarityMetric metric = SimilarityMetric::WeightCka;
    int numLayers = 0;
    LayerSimilarity layer;
};

// Streams over the checkpoint one layer at a time (weights are read from the mmapped files and released after
// each layer), so a model never has to fit in memory. Cancel is checked between layers.
JobResult<SimilarityReport> runAnalyseJob(const AnalyseSpec& spec, JobSink& sink, const CancelToken& cancel);

// Summary of a symmetric similarity matrix with 1 on the diagonal (exposed for tests and the GUI).
RedundancySummary summariseRedundancy(const Matrix& similarity);

}  // namespace dha
