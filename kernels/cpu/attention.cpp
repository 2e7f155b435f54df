// ATen reference implementation of causal attention with per-query-head key and value heads.
#include "dha/kernels/attention.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace dha::kernels::reference {
namespace {

void checkShapes(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                 const at::Tensor& keyHeadOfQuery, const at::Tensor& valueHeadOfQuery,
                 const AttentionParams& params) {
    TORCH_CHECK(queries.dim() == 4 && keys.dim() == 4 && values.dim() == 4,
                "attention expects [batch, heads, seq, headDim] queries, keys and values");
    TORCH_CHECK(keys.size(0) == queries.size(0) && values.size(0) == queries.size(0),
                "attention batch mismatch");
    TORCH_CHECK(keys.size(3) == queries.size(3) && values.size(3) == queries.size(3),
                "attention head dimension mismatch");
    TORCH_CHECK(keys.size(2) == values.size(2), "attention keys and values differ in length");
    TORCH_CHECK(params.queryOffset >= 0 && keys.size(2) == params.queryOffset + queries.size(2),
                "attention needs exactly queryOffset + T keys, got ", keys.size(2), " for offset ",
                params.queryOffset, " and ", queries.size(2), " queries");
    TORCH_CHECK(keyHeadOfQuery.dim() == 1 && keyHeadOfQuery.size(0) == queries.size(1) &&
                    valueHeadOfQuery.dim() == 1 && valueHeadOfQuery.size(0) == queries.size(1),
                "attention head maps need one entry per query head");
    TORCH_CHECK(keyHeadOfQuery.scalar_type() == at::kLong && valueHeadOfQuery.scalar_type() == at::kLong,
                "attention head maps must be int64");
    TORCH_CHECK(!params.slidingWindow || *params.slidingWindow > 0, "sliding window must be positive");
}

}  // namespace

at::Tensor causalAttention(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                           const at::Tensor& keyHeadOfQuery, const at::Tensor& valueHeadOfQuery,
                           const AttentionParams& params) {
    checkShapes(queries, keys, values, keyHeadOfQuery, valueHeadOfQuery, params);
    const int64_t queryLength = queries.size(2);
    const int64_t keyLength = keys.size(2);
    const double scale =
        params.scale > 0.0 ? params.scale : 1.0 / std::sqrt(static_cast<double>(queries.size(3)));

    // Gathered per query head only here; the caller's (cache's) tensors stay compact.
    const at::Tensor keysPerQuery = keys.index_select(1, keyHeadOfQuery);        // [batch, H, S, d]
    const at::Tensor valuesPerQuery = values.index_select(1, valueHeadOfQuery);  // [batch, H, S, d]
    at::Tensor scores =                                                          // [batch, H, T, S]
        at::matmul(queries, keysPerQuery.transpose(-2, -1)).to(at::kFloat) * scale;

    const auto longOptions = at::TensorOptions().dtype(at::kLong).device(queries.device());
    const at::Tensor queryPositions =  // [T, 1]
        at::arange(params.queryOffset, params.queryOffset + queryLength, longOptions).unsqueeze(1);
    const at::Tensor keyPositions = at::arange(keyLength, longOptions).unsqueeze(0);  // [1, S]
    at::Tensor visible = keyPositions <= queryPositions;                              // [T, S]
    if (params.slidingWindow) visible = visible & (keyPositions > queryPositions - *params.slidingWindow);
    scores = scores.masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity());

    const at::Tensor weights = at::softmax(scores, -1).to(queries.scalar_type());  // [batch, H, T, S]
    return at::matmul(weights, valuesPerQuery);                                    // [batch, H, T, d]
}

}  // namespace dha::kernels::reference
