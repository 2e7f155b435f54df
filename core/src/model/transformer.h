// The Llama-style decoder with a HeadLayout per layer: one class for MHA, GQA and DHA models.
// Parameters carry the Hugging Face names ("model.layers.0.self_attn.k_proj.weight", "lm_head.weight").
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "dha/model_config.h"
#include "model/building_blocks.h"
#include "model/decoder_layer.h"

namespace dha::model {

class KvCache;

struct TransformerOptions {
    c10::ScalarType dtype = at::kFloat;  // weights and compute; logits are float32 whatever this is
    c10::Device device = c10::kCPU;
};

// The "model" submodule of a Llama checkpoint: embeddings, layers and the final norm.
class DecoderStackImpl : public torch::nn::Module {
public:
    DecoderStackImpl(const ModelConfig& config, const at::TensorOptions& options);
    Embedding embedTokens{nullptr};
    LayerList layers{nullptr};
    RmsNorm norm{nullptr};
};
TORCH_MODULE(DecoderStack);

class TransformerImpl : public torch::nn::Module {
public:
    // Weights start at zero (norms at one); load them with loadModel() or fill them by name. Throws
    // dha::Exception when the config is inconsistent (layer count, layouts, sizes).
    explicit TransformerImpl(const ModelConfig& config, const TransformerOptions& options = {});

    // Logically const (inference changes no parameter), so a const model can run. tokens: int64 [batch, seq]
    // on any device. With a cache, the tokens continue the cached sequence (positions start at
    // cache->length()) and the cache advances by seq. Returns float32 logits [batch, seq, vocab] on the
    // model's device. Token ids outside the vocabulary are an InvalidInput error. Positions are not limited
    // to maxPositionEmbeddings here; generate() enforces that limit.
    at::Tensor forward(const at::Tensor& tokens, KvCache* cache = nullptr) const;

    // The final-normed hidden states [batch, seq, hidden] in the model dtype, and the projection to float32
    // logits: forward() is logitsFromHidden(hiddenStates()). Lets a loss be computed in chunks of the
    // vocabulary.
    at::Tensor hiddenStates(const at::Tensor& tokens, KvCache* cache = nullptr) const;
    at::Tensor logitsFromHidden(const at::Tensor& hidden) const;

    const ModelConfig& config() const { return m_config; }
    int numLayers() const { return m_config.numLayers; }
    DecoderLayer& layer(int index) { return (*model->layers)[index]; }
    const DecoderLayer& layer(int index) const { return (*model->layers)[index]; }
    // lm_head.weight, or the embedding matrix when the embeddings are tied. [vocab, hidden]
    const at::Tensor& outputWeight() const;
    c10::ScalarType dtype() const;
    c10::Device device() const;
    int64_t parameterCount() const;

    DecoderStack model{nullptr};
    Projection lmHead{nullptr};  // null when tieWordEmbeddings

private:
    ModelConfig m_config;
};
TORCH_MODULE(Transformer);

}  // namespace dha::model
