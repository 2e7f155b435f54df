// Tiny models and conversion specs for the GUI tests (public engine API only).
#include "ui_fixtures.h"

#include <stdexcept>

#include "dha/model_init.h"

namespace dha::test::ui {

std::filesystem::path writeTinyMhaModel(const std::filesystem::path& dir) {
    InitModelSpec init;
    init.outputDir = dir;
    init.tokenizerFile = kTokenizer;
    init.numLayers = 2;
    init.hiddenSize = 32;
    init.numQueryHeads = 4;
    init.maxPositionEmbeddings = 32;
    init.seed = 7;
    JobSink quiet;
    const auto result = runInitModelJob(init, quiet);
    if (!result.ok()) throw std::runtime_error("tiny model: " + result.error.describe());
    return dir;
}

ConvertSpec tinyConvertSpec(const std::filesystem::path& source, const std::filesystem::path& runDir,
                            int fusionSteps, int continuedSteps) {
    constexpr int kBatch = 4;
    constexpr int kContext = 16;
    ConvertSpec spec;
    spec.sourceModelDir = source;
    spec.trainText = kSampleText;
    spec.validationText = kSampleText;
    spec.validationTokens = 256;
    spec.budget = Budget::ofFraction(0.5);
    spec.batchSize = kBatch;
    spec.contextLength = kContext;
    spec.fusionTokens = int64_t{fusionSteps} * kBatch * kContext;
    spec.continuedTokens = int64_t{continuedSteps} * kBatch * kContext;
    spec.continuedPeakLearningRate = 1e-3;
    spec.checkpointInterval = 0;
    spec.runDir = runDir;
    return spec;
}

SimilarityReport blockSimilarityReport(int layers, int heads) {
    SimilarityReport report;
    for (int l = 0; l < layers; ++l) {
        LayerSimilarity layer;
        layer.layer = l;
        layer.key = Matrix(heads, heads);
        layer.value = Matrix(heads, heads);
        const int keyBlocks = l % 2 == 0 ? 4 : 2;
        for (int i = 0; i < heads; ++i) {
            for (int j = 0; j < heads; ++j) {
                const float jitter = 0.01f * static_cast<float>((i + j + l) % 3);
                layer.key.at(i, j) =
                    i == j ? 1.0f : (i % keyBlocks == j % keyBlocks ? 0.9f - jitter : 0.1f + jitter);
                layer.value.at(i, j) = i == j ? 1.0f : (i / 2 == j / 2 ? 0.85f - jitter : 0.05f + jitter);
            }
        }
        report.layers.push_back(layer);
    }
    return report;
}

Plan twoLayerDecoupledPlan() {
    Plan plan;
    plan.sourceHeads = 4;
    for (int layer = 0; layer < 2; ++layer) {
        LayerPlan entry;
        entry.keyGroups = {{0, 1}, {2, 3}};
        entry.valueGroups = {{0}, {1}, {2, 3}};
        plan.layers.push_back(entry);
    }
    return plan;
}

}  // namespace dha::test::ui
