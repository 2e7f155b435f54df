// Rotary position embedding (RoPE), Hugging Face rotate-half convention, tables and rotation in fp32.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dha::kernels {

// cos/sin for each position: [batch or 1, seq, headDim], float32. Both halves of the last dimension repeat
// the same frequencies (cat(freqs, freqs)), which is what rotate-half expects.
struct RopeTables {
    at::Tensor cos;
    at::Tensor sin;
};

struct RopeParams {
    int64_t headDim = 0;         // even
    double theta = 10000.0;      // inv_freq[i] = 1 / theta^(2i / headDim)
    double linearScaling = 1.0;  // positions are divided by this factor (rope_scaling type "linear")
};

// positions: int64 [seq] or [batch, seq] absolute token positions (a cache offset already added).
RopeTables ropeTables(const at::Tensor& positions, const RopeParams& params);

// x: [batch, heads, seq, headDim]. Returns x * cos + rotateHalf(x) * sin in x's dtype, computed in fp32.
at::Tensor applyRope(const at::Tensor& x, const RopeTables& tables);

namespace reference {
RopeTables ropeTables(const at::Tensor& positions, const RopeParams& params);
at::Tensor applyRope(const at::Tensor& x, const RopeTables& tables);
}  // namespace reference

}  // namespace dha::kernels
