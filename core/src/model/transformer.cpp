// The decoder's forward pass: embeddings, positions (continuing a KV cache), layers, final norm, logits.
#include "model/transformer.h"

#include <ATen/ATen.h>

#include <string>

#include "dha/error.h"
#include "dha/kernels/rope.h"
#include "model/kv_cache.h"

namespace dha::model {
namespace {

void checkConfig(const ModelConfig& config) {
    const auto bad = [](const std::string& message) { fail(ErrorCode::Usage, "model config", message); };
    if (config.hiddenSize < 1 || config.numQueryHeads < 1 || config.headDim < 2 ||
        config.intermediateSize < 1 || config.vocabSize < 1 || config.numLayers < 1) {
        bad("sizes must be positive (hidden " + std::to_string(config.hiddenSize) + ", heads " +
            std::to_string(config.numQueryHeads) + ", head_dim " + std::to_string(config.headDim) +
            ", layers " + std::to_string(config.numLayers) + ", vocab " + std::to_string(config.vocabSize) +
            ")");
    }
    if (config.headDim % 2 != 0) bad("head_dim must be even for RoPE, got " + std::to_string(config.headDim));
    if (static_cast<int>(config.layers.size()) != config.numLayers) {
        bad("has " + std::to_string(config.layers.size()) + " head layouts for " +
            std::to_string(config.numLayers) + " layers");
    }
    if (config.slidingWindow && *config.slidingWindow < 1) bad("sliding window must be positive");
}

}  // namespace

DecoderStackImpl::DecoderStackImpl(const ModelConfig& config, const at::TensorOptions& options) {
    embedTokens = register_module("embed_tokens", Embedding(config.vocabSize, config.hiddenSize, options));
    layers = register_module("layers", LayerList(config, options));
    norm = register_module("norm", RmsNorm(config.hiddenSize, config.rmsNormEps, options));
}

TransformerImpl::TransformerImpl(const ModelConfig& config, const TransformerOptions& options)
    : m_config(config) {
    checkConfig(config);
    const auto tensorOptions = at::TensorOptions().dtype(options.dtype).device(options.device);
    model = register_module("model", DecoderStack(config, tensorOptions));
    if (!config.tieWordEmbeddings) {
        lmHead =
            register_module("lm_head", Projection(config.hiddenSize, config.vocabSize, false, tensorOptions));
    }
}

at::Tensor TransformerImpl::hiddenStates(const at::Tensor& tokens, KvCache* cache) const {
    if (tokens.dim() != 2 || tokens.size(1) < 1 || tokens.size(0) < 1 ||
        at::isFloatingType(tokens.scalar_type())) {
        fail(ErrorCode::Usage, "tokens", "expected integer token ids of shape [batch, seq] with seq >= 1");
    }
    const int64_t batch = tokens.size(0);
    const int64_t seq = tokens.size(1);
    const at::Tensor input = tokens.to(device(), at::kLong);  // [batch, seq]
    const int64_t lowest = input.min().item<int64_t>();
    const int64_t highest = input.max().item<int64_t>();
    if (lowest < 0 || highest >= m_config.vocabSize) {
        failInput("tokens", "token id " + std::to_string(lowest < 0 ? lowest : highest) +
                                " is outside the vocabulary of " + std::to_string(m_config.vocabSize) +
                                " tokens");
    }
    int64_t offset = 0;
    if (cache) {
        if (cache->batchSize() != batch || cache->numLayers() != numLayers()) {
            fail(ErrorCode::Usage, "kv cache",
                 "cache for batch " + std::to_string(cache->batchSize()) + " and " +
                     std::to_string(cache->numLayers()) + " layers used with batch " + std::to_string(batch) +
                     " on a model of " + std::to_string(numLayers()) + " layers");
        }
        if (seq > cache->remaining()) {
            fail(ErrorCode::Usage, "kv cache",
                 "cannot add " + std::to_string(seq) + " tokens: the cache holds " +
                     std::to_string(cache->length()) + " of " + std::to_string(cache->maxLength()));
        }
        offset = cache->length();
    }

    kernels::RopeParams ropeParams;
    ropeParams.headDim = m_config.headDim;
    ropeParams.theta = m_config.ropeTheta;
    if (m_config.ropeScaling.type == RopeScalingType::Linear)
        ropeParams.linearScaling = m_config.ropeScaling.factor;
    const at::Tensor positions =
        at::arange(offset, offset + seq, at::TensorOptions().dtype(at::kLong).device(device()));
    const kernels::RopeTables rope = kernels::ropeTables(positions, ropeParams);  // [1, seq, d]

    at::Tensor hidden = model->embedTokens->forward(input);  // [batch, seq, hidden]
    for (int index = 0; index < numLayers(); ++index) hidden = layer(index)->forward(hidden, rope, cache);
    if (cache) cache->advance(seq);
    return model->norm->forward(hidden);
}

at::Tensor TransformerImpl::logitsFromHidden(const at::Tensor& hidden) const {
    return at::linear(hidden, outputWeight()).to(at::kFloat);  // [batch, seq, vocab]
}

at::Tensor TransformerImpl::forward(const at::Tensor& tokens, KvCache* cache) const {
    return logitsFromHidden(hiddenStates(tokens, cache));
}

const at::Tensor& TransformerImpl::outputWeight() const {
    return lmHead ? lmHead->weight() : model->embedTokens->weight();
}

c10::ScalarType TransformerImpl::dtype() const { return model->embedTokens->weight().scalar_type(); }

c10::Device TransformerImpl::device() const { return model->embedTokens->weight().device(); }

int64_t TransformerImpl::parameterCount() const {
    int64_t count = 0;
    for (const at::Tensor& parameter : parameters()) count += parameter.numel();
    return count;
}

}  // namespace dha::model
