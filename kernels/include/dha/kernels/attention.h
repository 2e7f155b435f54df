// Causal scaled-dot-product attention where every query head names its key head and its value head (DHA).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace dha::kernels {

struct AttentionParams {
    // Absolute position of the first query; key s is visible to query t iff s <= queryOffset + t.
    int64_t queryOffset = 0;
    // When set (Mistral), query position p also ignores keys at positions <= p - slidingWindow.
    std::optional<int64_t> slidingWindow;
    // Softmax scale; 0 means 1 / sqrt(headDim).
    double scale = 0.0;
};

// queries [batch, H, T, d]; keys [batch, hk, S, d]; values [batch, hv, S, d]; keyHeadOfQuery and
// valueHeadOfQuery int64 [H] on the tensors' device. K/V heads are gathered per query head only for the
// duration of the call: callers keep the compact heads. Scores and softmax are computed in fp32.
// Returns [batch, H, T, d] in the queries' dtype.
at::Tensor causalAttention(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                           const at::Tensor& keyHeadOfQuery, const at::Tensor& valueHeadOfQuery,
                           const AttentionParams& params);

namespace reference {
at::Tensor causalAttention(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                           const at::Tensor& keyHeadOfQuery, const at::Tensor& valueHeadOfQuery,
                           const AttentionParams& params);
}  // namespace reference

}  // namespace dha::kernels
