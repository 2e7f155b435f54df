// Loading a Hugging Face-format model directory (MHA, GQA or DHA) into a Transformer, checking every tensor.
// Presence, dtype and shape are checked against the config before any weight is allocated.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dha/job.h"
#include "dha/model_config.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace dha::model {

struct LoadOptions {
    bool allowUnusedTensors =
        false;  // tensors the config does not explain: error, or returned in unusedTensors
    c10::ScalarType dtype = at::kFloat;  // weights are converted to this (fp32, bf16, fp16 or fp64)
    c10::Device device = c10::kCPU;
    const CancelToken* cancel = nullptr;  // checked before each tensor; a cancel throws ErrorCode::Cancelled
    std::function<void(int64_t done, int64_t total)> onTensorLoaded;  // progress, in tensors
};

struct LoadedModel {
    ModelConfig config;
    Transformer model{nullptr};
    // Checkpoint tensors the model does not use: ones transformers ignores too (rotary inv_freq, lm_head of a
    // tied model) and, with allowUnusedTensors, any other.
    std::vector<std::string> unusedTensors;
};

LoadedModel loadModel(const std::filesystem::path& modelDir, const LoadOptions& options = {});

// Copies an open checkpoint's weights into `model` (whose config says what to expect). The checks and error
// messages are those of loadModel(); modelDir names the files in errors. Returns the unused tensor names.
std::vector<std::string> loadWeights(Transformer& model, const io::SafetensorsCheckpoint& checkpoint,
                                     const std::filesystem::path& modelDir, const LoadOptions& options = {});

}  // namespace dha::model
