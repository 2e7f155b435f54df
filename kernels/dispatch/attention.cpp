// Chooses the attention implementation per device: the ATen reference (which also runs on CUDA) for now.
#include "dha/kernels/attention.h"

namespace dha::kernels {

at::Tensor causalAttention(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                           const at::Tensor& keyHeadOfQuery, const at::Tensor& valueHeadOfQuery,
                           const AttentionParams& params) {
    return reference::causalAttention(queries, keys, values, keyHeadOfQuery, valueHeadOfQuery, params);
}

}  // namespace dha::kernels
