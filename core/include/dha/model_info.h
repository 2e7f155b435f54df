// What `dha inspect` shows: a model directory's architecture, per-layer heads, parameters and KV cache cost,
// computed from config.json and the safetensors headers without loading any weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dha/job.h"
#include "dha/model_config.h"

namespace dha {

struct LayerHeadsInfo {
    int queryHeads = 0;
    int keyHeads = 0;
    int valueHeads = 0;
    int64_t kvBytesPerToken = 0;        // at kvBytesPerElement
    int64_t sourceKvBytesPerToken = 0;  // the same layer in the source model
};

struct ModelInfo {
    std::filesystem::path directory;
    ModelConfig config;
    std::string architecture;  // "MHA", "GQA (4 key/value heads)", "DHA"
    int64_t parameterCount = 0;
    int64_t weightBytes = 0;
    std::string weightDtype;  // "F32", "BF16", or "mixed (F32, BF16)"
    std::vector<std::string> weightFiles;
    std::string tokenizerDescription;  // empty when the directory has no tokenizer
    int kvBytesPerElement = 2;         // the KV cache is costed at 16-bit, as deployed runtimes keep it
    int64_t kvBytesPerToken = 0;
    int64_t sourceKvBytesPerToken = 0;  // the MHA/GQA model this one was converted from (itself if unconverted)
    std::vector<LayerHeadsInfo> layers;

    double kvSavedFraction() const {
        return sourceKvBytesPerToken > 0 ? 1.0 - static_cast<double>(kvBytesPerToken) / sourceKvBytesPerToken : 0.0;
    }
};

// Reads config.json, the safetensors headers (validated) and the tokenizer of `modelDir`.
JobResult<ModelInfo> runInspectJob(const std::filesystem::path& modelDir, JobSink& sink);

}  // namespace dha
