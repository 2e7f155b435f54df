// Calibration windows: read, tokenize, cut and fingerprint the text activation analysis runs over.
#include "analysis/calibration_batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/sha256.h"
#include "tokenizer/tokenizer.h"

namespace dha::analysis {
namespace {

constexpr size_t kMaxTextBytes = size_t{1} << 30;

int resolveContext(const AnalyseSpec& spec, const ModelConfig& config) {
    if (spec.calibrationContext < 0) {
        fail(ErrorCode::Usage, "--context", "context length must be positive (0 = default)");
    }
    const int context =
        spec.calibrationContext > 0 ? spec.calibrationContext : std::min(256, config.maxPositionEmbeddings);
    if (context > config.maxPositionEmbeddings) {
        fail(ErrorCode::Usage, "--context",
             "context length " + std::to_string(context) + " exceeds the model's max_position_embeddings (" +
                 std::to_string(config.maxPositionEmbeddings) + ")");
    }
    return context;
}

}  // namespace

CalibrationBatch loadCalibrationBatch(const AnalyseSpec& spec, const ModelConfig& config, JobSink& sink) {
    if (spec.calibrationText.empty()) {
        fail(ErrorCode::Usage, "--text",
             std::string("the ") + similarityMetricName(spec.metric) + " metric needs a calibration text");
    }
    if (spec.calibrationTokens < 2) {
        fail(ErrorCode::Usage, "--tokens", "activation analysis needs at least 2 calibration tokens");
    }
    const int context = resolveContext(spec, config);
    const std::string path = spec.calibrationText.string();
    const std::string text = io::readSmallFile(spec.calibrationText, kMaxTextBytes);
    const std::unique_ptr<tok::Tokenizer> tokenizer = tok::loadTokenizer(spec.modelDir);
    if (tokenizer->vocabSize() > config.vocabSize) {
        failInput(spec.modelDir.string(), "the tokenizer has " + std::to_string(tokenizer->vocabSize()) +
                                              " tokens but config.json's vocab_size is " +
                                              std::to_string(config.vocabSize));
    }
    const auto bytes = static_cast<int64_t>(text.size());
    sink.onProgress({"tokenize", 0, bytes, "bytes", 0});
    std::vector<int32_t> ids = tokenizer->encode(text);
    sink.onProgress({"tokenize", bytes, bytes, "bytes", 0});
    const int64_t usable = std::min<int64_t>(static_cast<int64_t>(ids.size()), spec.calibrationTokens);
    if (usable < 2) {
        failInput(path, "the text has " + std::to_string(ids.size()) +
                            " token(s); activation analysis needs at least 2");
    }
    const int64_t windowLength = std::min<int64_t>(context, usable);
    const int64_t windows = usable / windowLength;
    ids.resize(static_cast<size_t>(windows * windowLength));

    CalibrationBatch batch;
    batch.tokenCount = windows * windowLength;
    batch.tokensSha256 = io::sha256Hex(
        std::string_view(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int32_t)));
    batch.tokens = at::from_blob(ids.data(), {windows, windowLength}, at::kInt).to(at::kLong);
    return batch;
}

}  // namespace dha::analysis
