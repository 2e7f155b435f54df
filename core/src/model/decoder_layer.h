// One pre-norm Llama decoder layer, and the numbered list of layers ("layers.0", ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "dha/kernels/rope.h"
#include "dha/model_config.h"
#include "model/attention_layer.h"
#include "model/building_blocks.h"

namespace dha::model {

class KvCache;

class DecoderLayerImpl : public torch::nn::Module {
public:
    DecoderLayerImpl(const ModelConfig& config, int layerIndex, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& hidden, const kernels::RopeTables& rope,
                       KvCache* cache = nullptr) const;

    // Registered in transformers' order, so named_parameters() lists them as a Hugging Face state dict does.
    AttentionLayer selfAttn{nullptr};
    Mlp mlp{nullptr};
    RmsNorm inputLayernorm{nullptr};
    RmsNorm postAttentionLayernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The decoder layers, registered under their indices.
class LayerListImpl : public torch::nn::Module {
public:
    LayerListImpl(const ModelConfig& config, const at::TensorOptions& options);
    int size() const { return static_cast<int>(m_layers.size()); }
    DecoderLayer& operator[](int index) { return m_layers.at(static_cast<size_t>(index)); }
    const DecoderLayer& operator[](int index) const { return m_layers.at(static_cast<size_t>(index)); }

private:
    std::vector<DecoderLayer> m_layers;
};
TORCH_MODULE(LayerList);

}  // namespace dha::model
