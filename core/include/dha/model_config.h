// A Llama-family model's configuration (from Hugging Face config.json) with one HeadLayout per layer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dha/head_layout.h"

namespace dha {

enum class RopeScalingType { None, Linear };

struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    double factor = 1.0;  // positions are divided by this factor (linear scaling)
};

// What the DHA object of a converted model's config.json says about its source (formats.md).
struct DhaSourceInfo {
    int formatVersion = 1;
    std::string fingerprint;
    int sourceNumKeyValueHeads = 0;
    int64_t sourceKvBytesPerToken = 0;
};

struct ModelConfig {
    std::string modelType = "llama";  // llama | mistral | qwen2
    int hiddenSize = 0;
    int numLayers = 0;
    int numQueryHeads = 0;     // num_attention_heads
    int numKeyValueHeads = 0;  // num_key_value_heads as written (uniform); per-layer truth is in `layers`
    int headDim = 0;
    int intermediateSize = 0;
    int vocabSize = 0;
    int maxPositionEmbeddings = 0;
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;
    bool tieWordEmbeddings = false;
    bool attentionBias = false;
    std::string torchDtype = "float32";
    std::optional<int> bosTokenId;
    std::optional<int> eosTokenId;

    std::vector<HeadLayout> layers;        // [numLayers]
    std::optional<DhaSourceInfo> dhaSource;  // present when config.json has a `dha` object
    std::string originalJson;  // the file as read; writers keep fields this struct does not model

    bool isMha() const;
    bool isUniform() const;  // every layer has the same contiguous GQA (or MHA) layout
    int64_t kvElementsPerToken() const;  // sum over layers of headDim * (hk + hv)
};

// Parses config.json text. Applies transformers' defaults and rejects every inconsistency before anything
// is allocated; errors name `pathForErrors`.
ModelConfig parseModelConfig(const std::string& jsonText, const std::string& pathForErrors);
ModelConfig loadModelConfig(const std::filesystem::path& configJsonPath);

// config.json text for `config`: the original fields, updated sizes and, unless every layer is the uniform
// layout written by num_key_value_heads, a `dha` object with the per-layer layouts (formats.md).
std::string serializeModelConfig(const ModelConfig& config);

}  // namespace dha
