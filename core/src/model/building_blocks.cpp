// Leaf modules of the Llama decoder; weights start at zero and norms at one until loaded.
#include "model/building_blocks.h"

#include <ATen/ATen.h>

#include "dha/kernels/rms_norm.h"
#include "dha/kernels/swiglu.h"

namespace dha::model {

ProjectionImpl::ProjectionImpl(int64_t inFeatures, int64_t outFeatures, bool hasBias,
                               const at::TensorOptions& options) {
    m_weight = register_parameter("weight", at::zeros({outFeatures, inFeatures}, options));
    if (hasBias) m_bias = register_parameter("bias", at::zeros({outFeatures}, options));
}

at::Tensor ProjectionImpl::forward(const at::Tensor& x) const { return at::linear(x, m_weight, m_bias); }

EmbeddingImpl::EmbeddingImpl(int64_t vocabSize, int64_t hiddenSize, const at::TensorOptions& options) {
    m_weight = register_parameter("weight", at::zeros({vocabSize, hiddenSize}, options));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& tokens) const { return at::embedding(m_weight, tokens); }

RmsNormImpl::RmsNormImpl(int64_t hiddenSize, double eps, const at::TensorOptions& options) : m_eps(eps) {
    m_weight = register_parameter("weight", at::ones({hiddenSize}, options));
}

at::Tensor RmsNormImpl::forward(const at::Tensor& x) const { return kernels::rmsNorm(x, m_weight, m_eps); }

MlpImpl::MlpImpl(int64_t hiddenSize, int64_t intermediateSize, const at::TensorOptions& options) {
    gateProj = register_module("gate_proj", Projection(hiddenSize, intermediateSize, false, options));
    upProj = register_module("up_proj", Projection(hiddenSize, intermediateSize, false, options));
    downProj = register_module("down_proj", Projection(intermediateSize, hiddenSize, false, options));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) const {
    return downProj->forward(kernels::swiglu(gateProj->forward(x), upProj->forward(x)));
}

}  // namespace dha::model
