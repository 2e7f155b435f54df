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

}  // namespace dha::test::ui
