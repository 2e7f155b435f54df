// Leaf modules of the Llama decoder (projection, embedding, RMSNorm, SwiGLU MLP) with Hugging Face names.
// Parameters are registered as "weight"/"bias" and submodules as "gate_proj"/..., so named_parameters()
// is the checkpoint's name table.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace dha::model {

// y = x W^T + b: the nn.Linear of transformers, with weight [out, in] and an optional bias [out].
class ProjectionImpl : public torch::nn::Module {
public:
    ProjectionImpl(int64_t inFeatures, int64_t outFeatures, bool hasBias, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;  // [..., in] -> [..., out]

    const at::Tensor& weight() const { return m_weight; }
    const at::Tensor& bias() const { return m_bias; }  // undefined when the projection has none

private:
    at::Tensor m_weight;  // [out, in]
    at::Tensor m_bias;    // [out] or undefined
};
TORCH_MODULE(Projection);

class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t vocabSize, int64_t hiddenSize, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& tokens) const;  // int64 [...] -> [..., hidden]
    const at::Tensor& weight() const { return m_weight; }

private:
    at::Tensor m_weight;  // [vocab, hidden]
};
TORCH_MODULE(Embedding);

class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(int64_t hiddenSize, double eps, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;  // [..., hidden]
    const at::Tensor& weight() const { return m_weight; }

private:
    at::Tensor m_weight;  // [hidden], initialised to ones
    double m_eps;
};
TORCH_MODULE(RmsNorm);

// down(silu(gate(x)) * up(x)), no biases (Llama, Mistral and Qwen2 MLPs have none).
class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int64_t hiddenSize, int64_t intermediateSize, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;  // [..., hidden]

    Projection gateProj{nullptr}, upProj{nullptr}, downProj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace dha::model
