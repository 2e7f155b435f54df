// The Hugging Face tensor-name table of a Llama-family checkpoint and each tensor's shape under a config.
// k_proj/v_proj follow the layer's HeadLayout. The one place the loader, the writer and the exporters look.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dha/model_config.h"

namespace dha::model {

inline constexpr const char* kEmbedTokensName = "model.embed_tokens.weight";
inline constexpr const char* kFinalNormName = "model.norm.weight";
inline constexpr const char* kLmHeadName = "lm_head.weight";

// "model.layers.{layer}.{suffix}", e.g. layerTensor(3, "self_attn.k_proj.weight").
std::string layerTensor(int layer, const std::string& suffix);

struct ExpectedTensor {
    std::string name;
    std::vector<int64_t> shape;
};

// Every tensor a checkpoint of `config` holds, in the order transformers registers them (embeddings, then
// each layer: q/k/v/o projections with their biases, gate/up/down, the two norms; final norm; lm_head unless
// tied). Transformer::named_parameters() yields exactly these names in this order.
std::vector<ExpectedTensor> expectedTensors(const ModelConfig& config);

// Checkpoint entries that transformers itself ignores for this config: rotary `inv_freq` buffers that old
// conversions saved, and `lm_head.weight` when the embeddings are tied (transformers overwrites it).
bool isIgnoredTensor(const std::string& name, const ModelConfig& config);

// "[64, 128]".
std::string shapeToString(const std::vector<int64_t>& shape);

}  // namespace dha::model
