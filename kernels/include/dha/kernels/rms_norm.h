// RMSNorm: x / sqrt(mean(x^2) + eps) * weight, computed in fp32 and returned in x's dtype (as HF Llama does).
#pragma once

#include <ATen/core/Tensor.h>

namespace dha::kernels {

at::Tensor rmsNorm(const at::Tensor& input, const at::Tensor& weight, double eps);  // input [..., d], weight [d]

}  // namespace dha::kernels
