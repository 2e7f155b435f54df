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

    friend bool operator==(const RopeScaling& a, const RopeScaling& b) {
        return a.type == b.type && a.factor == b.factor;
    }
    friend bool operator!=(const RopeScaling& a, const RopeScaling& b) { return !(a == b); }
};

// What the DHA object of a converted model's config.json says about its source (formats.md).
struct DhaSourceInfo {
    int formatVersion = 1;
    std::string fingerprint;
    int sourceNumKeyValueHeads = 0;
    int64_t sourceKvBytesPerToken = 0;

    friend bool operator==(const DhaSourceInfo& a, const DhaSourceInfo& b) {
        return a.formatVersion == b.formatVersion && a.fingerprint == b.fingerprint &&
               a.sourceNumKeyValueHeads == b.sourceNumKeyValueHeads &&
               a.sourceKvBytesPerToken == b.sourceKvBytesPerToken;
    }
    friend bool operator!=(const DhaSourceInfo& a, const DhaSourceInfo& b) { return !(a == b); }
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
    // One meaning for every model type: attentionBias = q_proj, k_proj and v_proj have biases; outputBias =
    // o_proj has one. llama's attention_bias sets both; qwen2 always has q/k/v biases and no o bias
    // (transformers hard-codes this, whatever attention_bias says); mistral has none.
    bool attentionBias = false;
    bool outputBias = false;
    // Mistral's sliding-window attention span when it is smaller than maxPositionEmbeddings (a window at
    // least that long never limits attention); nullopt when attention is full. The model decides whether it
    // can run it.
    std::optional<int> slidingWindow;
    std::string torchDtype = "float32";  // torch_dtype (or transformers' newer `dtype`)
    std::optional<int> bosTokenId;
    std::optional<int> eosTokenId;

    std::vector<HeadLayout> layers;  // [numLayers]
    // Present when config.json has a `dha` object with a `source_model` (what a conversion writes); a `dha`
    // object without one still sets per-layer `layers`.
    std::optional<DhaSourceInfo> dhaSource;
    std::string originalJson;  // the file as read; writers keep fields this struct does not model

    bool isMha() const;
    bool isUniform() const;              // every layer has the same contiguous GQA (or MHA) layout
    int64_t kvElementsPerToken() const;  // sum over layers of headDim * (hk + hv)

    // Compares every modelled field; originalJson (text kept only for unmodelled fields) is not compared.
    friend bool operator==(const ModelConfig& a, const ModelConfig& b);
    friend bool operator!=(const ModelConfig& a, const ModelConfig& b) { return !(a == b); }
};

// Bytes per element of a torch_dtype spelling: float32 4, bfloat16/float16 2, float64 8; 0 when unknown.
int torchDtypeBytes(const std::string& torchDtype);

// KV cache bytes per token for the whole model at bytesPerElement (e.g. torchDtypeBytes(config.torchDtype)).
int64_t kvBytesPerToken(const ModelConfig& config, int bytesPerElement);

// Parses config.json text. Applies transformers' defaults and rejects every inconsistency before anything
// is allocated; errors name `pathForErrors`.
ModelConfig parseModelConfig(const std::string& jsonText, const std::string& pathForErrors);
ModelConfig loadModelConfig(const std::filesystem::path& configJsonPath);

// config.json text for `config`: the original fields, updated sizes and, unless every layer is the uniform
// layout written by num_key_value_heads, a `dha` object with the per-layer layouts (formats.md).
std::string serializeModelConfig(const ModelConfig& config);

}  // namespace dha
