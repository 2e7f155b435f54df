// Layer-by-layer forward over the calibration windows, reading K/V outputs on the way.
#include "analysis/layer_activations.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "analysis/checkpoint_stream.h"
#include "dha/error.h"
#include "model/decoder_layer.h"
#include "model/tensor_names.h"

namespace dha::analysis {
namespace {

const std::string kLayerPrefix = "model.layers.";

kernels::RopeTables ropeFor(const ModelConfig& config, int64_t length, c10::Device device) {
    kernels::RopeParams params;
    params.headDim = config.headDim;
    params.theta = config.ropeTheta;
    if (config.ropeScaling.type == RopeScalingType::Linear) params.linearScaling = config.ropeScaling.factor;
    const at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device));
    return kernels::ropeTables(positions, params);
}

// [windows, heads, length, headDim] -> [heads * headDim, windows * length]: one row per head feature, one
// column per token.
at::Tensor toRows(const at::Tensor& heads) {
    const int64_t count = heads.size(1);
    const int64_t headDim = heads.size(3);
    return heads.permute({1, 3, 0, 2}).reshape({count * headDim, -1}).to(at::kFloat).contiguous();
}

}  // namespace

LayerActivations::LayerActivations(const ModelConfig& config, const io::SafetensorsCheckpoint& checkpoint,
                                   const std::filesystem::path& modelDir, const at::Tensor& tokens,
                                   c10::Device device)
    : m_config(config), m_checkpoint(checkpoint), m_device(device) {
    if (tokens.dim() != 2 || tokens.size(0) < 1 || tokens.size(1) < 1 || tokens.scalar_type() != at::kLong) {
        fail(ErrorCode::Internal, "calibration tokens", "expected int64 [windows, length]");
    }
    for (const model::ExpectedTensor& expected : model::expectedTensors(config)) {
        if (expected.name == model::kEmbedTokensName || expected.name.rfind(kLayerPrefix, 0) == 0) {
            checkTensor(checkpoint, modelDir, expected.name, expected.shape);
        }
    }
    const at::Tensor flat = tokens.reshape({-1}).cpu().contiguous();
    const std::vector<int64_t> ids(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
    m_hidden = gatherRows(checkpoint, model::kEmbedTokensName, ids)
                   .view({tokens.size(0), tokens.size(1), config.hiddenSize})
                   .to(device);
    m_rope = ropeFor(config, tokens.size(1), device);
}

KvRows LayerActivations::next(bool preRopeKeys) {
    if (m_nextLayer >= m_config.numLayers) fail(ErrorCode::Internal, "layer activations", "no layer left");
    at::NoGradGuard noGrad;
    const int index = m_nextLayer;
    model::DecoderLayer layer(m_config, index, at::TensorOptions().dtype(at::kFloat).device(m_device));
    for (auto& item : layer->named_parameters()) {
        item.value().copy_(readTensor(m_checkpoint, model::layerTensor(index, item.key())));
    }

    const int64_t windows = m_hidden.size(0);
    const int64_t length = m_hidden.size(1);
    const HeadLayout& layout = m_config.layers.at(static_cast<size_t>(index));
    // The attention layer's own projections of the normed input, as its forward() computes them.
    const at::Tensor normed = layer->inputLayernorm->forward(m_hidden);  // [windows, length, hidden]
    at::Tensor keys = layer->selfAttn->kProj
                          ->forward(normed)  // [windows, hk, length, headDim]
                          .view({windows, length, layout.numKeyHeads, m_config.headDim})
                          .transpose(1, 2);
    if (!preRopeKeys) keys = kernels::applyRope(keys, m_rope);
    const at::Tensor values = layer->selfAttn->vProj
                                  ->forward(normed)  // [windows, hv, length, headDim]
                                  .view({windows, length, layout.numValueHeads, m_config.headDim})
                                  .transpose(1, 2);
    KvRows rows{toRows(keys), toRows(values)};

    m_hidden = layer->forward(m_hidden, m_rope);
    ++m_nextLayer;
    return rows;
}

}  // namespace dha::analysis
