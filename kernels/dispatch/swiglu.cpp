// Chooses the SwiGLU implementation per device, and composes the MLP block from it.
#include "dha/kernels/swiglu.h"

#include <ATen/ATen.h>

namespace dha::kernels {

at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up) { return reference::swiglu(gate, up); }

at::Tensor swigluMlp(const at::Tensor& x, const at::Tensor& gateWeight, const at::Tensor& upWeight,
                     const at::Tensor& downWeight) {
    return at::linear(swiglu(at::linear(x, gateWeight), at::linear(x, upWeight)), downWeight);
}

}  // namespace dha::kernels
