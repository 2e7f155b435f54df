// One layer's self-attention: projections, RoPE, compact KV cache append, per-head-map attention, output.
#include "model/attention_layer.h"

#include <ATen/ATen.h>

#include <string>
#include <tuple>

#include "dha/error.h"
#include "dha/kernels/attention.h"
#include "model/kv_cache.h"

namespace dha::model {
namespace {

at::Tensor indexTensor(const std::vector<int>& headOfQuery) {
    const std::vector<int64_t> values(headOfQuery.begin(), headOfQuery.end());
    return at::tensor(values, at::kLong);
}

}  // namespace

AttentionLayerImpl::AttentionLayerImpl(const ModelConfig& config, int layerIndex,
                                       const at::TensorOptions& options)
    : m_layout(config.layers.at(static_cast<size_t>(layerIndex))),
      m_layerIndex(layerIndex),
      m_numQueryHeads(config.numQueryHeads),
      m_headDim(config.headDim) {
    validateHeadLayout(m_layout, config.numQueryHeads, "layer " + std::to_string(layerIndex));
    if (config.slidingWindow) m_slidingWindow = *config.slidingWindow;
    const int64_t hidden = config.hiddenSize;
    qProj = register_module("q_proj",
                            Projection(hidden, m_numQueryHeads * m_headDim, config.attentionBias, options));
    kProj = register_module(
        "k_proj", Projection(hidden, m_layout.numKeyHeads * m_headDim, config.attentionBias, options));
    vProj = register_module(
        "v_proj", Projection(hidden, m_layout.numValueHeads * m_headDim, config.attentionBias, options));
    oProj = register_module("o_proj",
                            Projection(m_numQueryHeads * m_headDim, hidden, config.outputBias, options));
    m_keyHeadOfQuery = indexTensor(m_layout.keyHeadOfQuery);
    m_valueHeadOfQuery = indexTensor(m_layout.valueHeadOfQuery);
}

const at::Tensor& AttentionLayerImpl::headIndex(const at::Tensor& index, at::Tensor& cached,
                                                const c10::Device& device) {
    if (!cached.defined() || cached.device() != device) cached = index.to(device);
    return cached;
}

at::Tensor AttentionLayerImpl::forward(const at::Tensor& x, const kernels::RopeTables& rope,
                                       KvCache* cache) const {
    const int64_t batch = x.size(0);
    const int64_t seq = x.size(1);
    const at::Tensor queries =  // [batch, H, seq, d]
        kernels::applyRope(qProj->forward(x).view({batch, seq, m_numQueryHeads, m_headDim}).transpose(1, 2),
                           rope);
    const at::Tensor newKeys =  // [batch, hk, seq, d]
        kernels::applyRope(
            kProj->forward(x).view({batch, seq, m_layout.numKeyHeads, m_headDim}).transpose(1, 2), rope);
    const at::Tensor newValues =  // [batch, hv, seq, d]
        vProj->forward(x).view({batch, seq, m_layout.numValueHeads, m_headDim}).transpose(1, 2);

    kernels::AttentionParams params;
    params.slidingWindow = m_slidingWindow;
    at::Tensor keys = newKeys;  // [batch, hk, offset + seq, d]
    at::Tensor values = newValues;
    if (cache) {
        params.queryOffset = cache->length();
        std::tie(keys, values) = cache->append(m_layerIndex, newKeys, newValues);
        keys = keys.to(queries.scalar_type());  // no-op unless the cache keeps another dtype
        values = values.to(queries.scalar_type());
    }
    const at::Tensor& keyHeads = headIndex(m_keyHeadOfQuery, m_keyHeadOnDevice, x.device());
    const at::Tensor& valueHeads = headIndex(m_valueHeadOfQuery, m_valueHeadOnDevice, x.device());
    const at::Tensor attended =  // [batch, H, seq, d]
        kernels::causalAttention(queries, keys, values, keyHeads, valueHeads, params);
    return oProj->forward(attended.transpose(1, 2).reshape({batch, seq, m_numQueryHeads * m_headDim}));
}

}  // namespace dha::model
