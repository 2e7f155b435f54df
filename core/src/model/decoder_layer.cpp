// A pre-norm decoder layer and the list of layers.
#include "model/decoder_layer.h"

#include <ATen/ATen.h>

#include <string>

namespace dha::model {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& config, int layerIndex,
                                   const at::TensorOptions& options) {
    selfAttn = register_module("self_attn", AttentionLayer(config, layerIndex, options));
    mlp = register_module("mlp", Mlp(config.hiddenSize, config.intermediateSize, options));
    inputLayernorm =
        register_module("input_layernorm", RmsNorm(config.hiddenSize, config.rmsNormEps, options));
    postAttentionLayernorm =
        register_module("post_attention_layernorm", RmsNorm(config.hiddenSize, config.rmsNormEps, options));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& hidden, const kernels::RopeTables& rope,
                                     KvCache* cache) const {
    const at::Tensor afterAttention =
        hidden + selfAttn->forward(inputLayernorm->forward(hidden), rope, cache);
    return afterAttention + mlp->forward(postAttentionLayernorm->forward(afterAttention));
}

LayerListImpl::LayerListImpl(const ModelConfig& config, const at::TensorOptions& options) {
    for (int index = 0; index < config.numLayers; ++index) {
        m_layers.push_back(register_module(std::to_string(index), DecoderLayer(config, index, options)));
    }
}

}  // namespace dha::model
