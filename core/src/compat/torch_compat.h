// Every difference between LibTorch 1.13 (Debian, CPU) and 2.x (the GPU machine) that the engine relies on.
#pragma once

#include <torch/version.h>

// True when the LibTorch being compiled against is at least major.minor.
#define DHA_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace dha::compat {

// at::scaled_dot_product_attention is public from 2.0; 1.13 only has a private CPU variant. The attention
// kernel (kernels/cpu/attention.cpp) is written with matmul + softmax so that both behave the same; a fused
// path may use the public op when this is true.
inline constexpr bool kHasScaledDotProductAttention = DHA_TORCH_AT_LEAST(2, 0);

// Optional arguments of ATen ops are c10::optional in 1.13 and std::optional from 2.4 on; both accept a plain
// value or {}, so code passes values and never names the optional type.

}  // namespace dha::compat
