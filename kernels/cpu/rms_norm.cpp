// ATen reference implementation of RMSNorm (runs on any device ATen supports).
#include "dha/kernels/rms_norm.h"

#include <ATen/ATen.h>

namespace dha::kernels {

at::Tensor rmsNorm(const at::Tensor& input, const at::Tensor& weight, double eps) {
    const at::Tensor inputFloat = input.to(at::kFloat);
    const at::Tensor variance = inputFloat.pow(2).mean(-1, /*keepdim=*/true);
    const at::Tensor normalized = inputFloat * at::rsqrt(variance + eps);
    return weight * normalized.to(input.scalar_type());
}

}  // namespace dha::kernels
