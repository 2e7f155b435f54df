// ATen reference implementation of rotary position embedding (runs on any device ATen supports).
#include "dha/kernels/rope.h"

#include <ATen/ATen.h>

namespace dha::kernels::reference {

RopeTables ropeTables(const at::Tensor& positions, const RopeParams& params) {
    TORCH_CHECK(params.headDim > 0 && params.headDim % 2 == 0, "RoPE needs an even head dimension, got ",
                params.headDim);
    TORCH_CHECK(params.theta > 0.0 && params.linearScaling > 0.0,
                "RoPE theta and scaling factor must be positive");
    TORCH_CHECK(positions.dim() == 1 || positions.dim() == 2, "RoPE positions must be [seq] or [batch, seq]");
    const auto floatOptions = at::TensorOptions().dtype(at::kFloat).device(positions.device());
    // inv_freq[i] = 1 / theta^(2i / d), evaluated in fp32 exactly as transformers does.
    const at::Tensor exponents =  // [d/2]
        at::arange(0, params.headDim, 2, floatOptions.dtype(at::kLong)).to(at::kFloat) /
        static_cast<double>(params.headDim);
    const at::Tensor invFreq = at::reciprocal(at::pow(params.theta, exponents));  // [d/2]
    at::Tensor scaledPositions = positions.to(at::kFloat);                        // [batch?, seq]
    if (params.linearScaling != 1.0) scaledPositions = scaledPositions / params.linearScaling;
    if (scaledPositions.dim() == 1) scaledPositions = scaledPositions.unsqueeze(0);
    const at::Tensor freqs = scaledPositions.unsqueeze(-1) * invFreq;  // [batch|1, seq, d/2]
    const at::Tensor angles = at::cat({freqs, freqs}, -1);             // [batch|1, seq, d]
    return {angles.cos(), angles.sin()};
}

at::Tensor applyRope(const at::Tensor& x, const RopeTables& tables) {
    TORCH_CHECK(x.dim() == 4, "RoPE input must be [batch, heads, seq, headDim]");
    TORCH_CHECK(tables.cos.dim() == 3 && tables.cos.size(1) == x.size(2) && tables.cos.size(2) == x.size(3),
                "RoPE tables do not match the input's sequence length or head dimension");
    const int64_t half = x.size(3) / 2;
    const at::Tensor xFloat = x.to(at::kFloat);      // [batch, heads, seq, d]
    const at::Tensor cos = tables.cos.unsqueeze(1);  // [batch|1, 1, seq, d]
    const at::Tensor sin = tables.sin.unsqueeze(1);
    const at::Tensor rotated = at::cat({-xFloat.narrow(-1, half, half), xFloat.narrow(-1, 0, half)}, -1);
    return (xFloat * cos + rotated * sin).to(x.scalar_type());
}

}  // namespace dha::kernels::reference
