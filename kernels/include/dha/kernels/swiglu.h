// SwiGLU gating of the Llama MLP: silu(gate) * up, and the whole block down(silu(gate(x)) * up(x)).
#pragma once

#include <ATen/core/Tensor.h>

namespace dha::kernels {

// gate, up: same shape [..., intermediate]. Computed in the inputs' dtype, as Hugging Face does.
at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up);

// x [..., hidden]; gateWeight, upWeight [intermediate, hidden]; downWeight [hidden, intermediate].
at::Tensor swigluMlp(const at::Tensor& x, const at::Tensor& gateWeight, const at::Tensor& upWeight,
                     const at::Tensor& downWeight);

namespace reference {
at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up);
}  // namespace reference

}  // namespace dha::kernels
