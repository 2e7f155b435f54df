// Shared pieces of the head-analysis tests: a sink that records events, tiny model directories with a
// tokenizer, and raw rewriting of a model's safetensors file.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dha/error.h"
#include "dha/job.h"
#include "dha/similarity.h"
#include "io/safetensors.h"
#include "test_models.h"

namespace dha::test {

class RecordingSink : public JobSink {
public:
    void onProgress(const ProgressEvent& event) override { progress.push_back(event); }
    void onLog(const LogEvent& event) override { logs.push_back(event); }
    void onSimilarity(const SimilarityEvent& event) override {
        similarities.push_back(event);
        if (afterSimilarity) afterSimilarity(event);
    }
    bool logged(LogLevel level, const std::string& fragment) const {
        return std::any_of(logs.begin(), logs.end(), [&](const LogEvent& event) {
            return event.level == level && event.message.find(fragment) != std::string::npos;
        });
    }
    int count(LogLevel level) const {
        return static_cast<int>(std::count_if(logs.begin(), logs.end(),
                                              [&](const LogEvent& event) { return event.level == level; }));
    }

    std::vector<ProgressEvent> progress;
    std::vector<LogEvent> logs;
    std::vector<SimilarityEvent> similarities;
    std::function<void(const SimilarityEvent&)> afterSimilarity;
};

inline const std::filesystem::path kCalibrationText =
    std::filesystem::path(DHA_TEST_DATA_DIR) / "text" / "sample.txt";
inline const std::filesystem::path kCalibrationTokenizer =
    std::filesystem::path(DHA_TEST_DATA_DIR) / "tokenizers" / "unigram_identity.model";

// tinyConfig(shape) with a vocabulary large enough for kCalibrationTokenizer (500 pieces).
inline ModelConfig tinyCalibrationConfig(TinyModelShape shape = {}) {
    shape.vocabSize = 512;
    return tinyConfig(shape);
}

inline void addCalibrationTokenizer(const std::filesystem::path& modelDir) {
    std::filesystem::copy_file(kCalibrationTokenizer, modelDir / "tokenizer.model",
                               std::filesystem::copy_options::overwrite_existing);
}

// runAnalyseJob over the test calibration text: 96 tokens in windows of 32.
inline JobResult<SimilarityReport> analyse(const std::filesystem::path& modelDir, SimilarityMetric metric,
                                           RecordingSink& sink, const std::filesystem::path& runDir = {},
                                           bool preRopeKeys = false) {
    AnalyseSpec spec;
    spec.modelDir = modelDir;
    spec.metric = metric;
    spec.calibrationText = kCalibrationText;
    spec.calibrationTokens = 96;
    spec.calibrationContext = 32;
    spec.preRopeKeys = preRopeKeys;
    if (!runDir.empty()) spec.runDir = runDir;
    CancelToken cancel;
    return runAnalyseJob(spec, sink, cancel);
}

// "succeeded" or "code: path: message", for failure messages.
inline std::string describe(const JobResult<SimilarityReport>& result) {
    return result.ok() ? "succeeded"
                       : std::string(errorCodeName(result.error.code)) + ": " + result.error.describe();
}

struct RawTensor {
    std::string name;
    io::DType dtype = io::DType::F32;
    std::vector<int64_t> shape;
    std::vector<std::byte> bytes;
};

inline std::vector<RawTensor> readRawTensors(const std::filesystem::path& file) {
    const auto safetensors = io::SafetensorsFile::open(file);
    std::vector<RawTensor> tensors;
    for (const io::TensorInfo& info : safetensors->tensors()) {
        const std::byte* data = safetensors->data(info);
        tensors.push_back({info.name, info.dtype, info.shape, {data, data + info.byteSize()}});
    }
    return tensors;
}

inline void writeRawTensors(const std::filesystem::path& file, const std::vector<RawTensor>& tensors) {
    std::vector<io::TensorToWrite> toWrite;
    for (const RawTensor& tensor : tensors)
        toWrite.push_back({tensor.name, tensor.dtype, tensor.shape, tensor.bytes.data()});
    io::writeSafetensors(file, toWrite);
}

inline RawTensor& rawTensorNamed(std::vector<RawTensor>& tensors, const std::string& name) {
    for (RawTensor& tensor : tensors) {
        if (tensor.name == name) return tensor;
    }
    throw std::runtime_error("test model has no tensor " + name);
}

}  // namespace dha::test
