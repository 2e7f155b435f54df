// Self-attention of one decoder layer with its own HeadLayout: MHA, GQA and DHA are this one class.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

#include "dha/head_layout.h"
#include "dha/kernels/rope.h"
#include "dha/model_config.h"
#include "model/building_blocks.h"

namespace dha::model {

class KvCache;

class AttentionLayerImpl : public torch::nn::Module {
public:
    AttentionLayerImpl(const ModelConfig& config, int layerIndex, const at::TensorOptions& options);

    // x [batch, seq, hidden]; `rope` holds the tables of x's positions. With a cache, the new keys/values are
    // appended to layer layerIndex() and x attends to every cached position too. Returns [batch, seq,
    // hidden].
    at::Tensor forward(const at::Tensor& x, const kernels::RopeTables& rope, KvCache* cache = nullptr) const;

    const HeadLayout& layout() const { return m_layout; }
    int layerIndex() const { return m_layerIndex; }
    int64_t headDim() const { return m_headDim; }

    Projection qProj{nullptr}, kProj{nullptr}, vProj{nullptr}, oProj{nullptr};

private:
    static const at::Tensor& headIndex(const at::Tensor& index, at::Tensor& cached,
                                       const c10::Device& device);

    HeadLayout m_layout;
    int m_layerIndex;
    int64_t m_numQueryHeads;
    int64_t m_headDim;
    std::optional<int64_t> m_slidingWindow;
    // int64 [H]: not registered as buffers, because Module::to(dtype) would cast them to floating point.
    at::Tensor m_keyHeadOfQuery;
    at::Tensor m_valueHeadOfQuery;
    // Copies on the device forward() last ran on (a cache, hence mutable: forward() is logically const).
    mutable at::Tensor m_keyHeadOnDevice;
    mutable at::Tensor m_valueHeadOnDevice;
};
TORCH_MODULE(AttentionLayer);

}  // namespace dha::model
