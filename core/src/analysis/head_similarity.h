// Head-by-head similarity kernels: linear CKA and cosine between the row blocks of one matrix.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "dha/matrix.h"

namespace dha::analysis {

// `rows` is [heads * headDim, samples]: rows h*headDim .. (h+1)*headDim - 1 belong to head h. Weight metrics
// pass a k_proj / v_proj weight as stored (samples = the model's input features); activation metrics pass
// the heads' outputs transposed (samples = calibration tokens). Any device; float32, float64 or bfloat16
// (float16 is computed in float32). Both results are heads x heads, symmetric, exactly 1 on the diagonal.

// Linear CKA of head blocks X_h (headDim x samples), each row centred over the samples:
// CKA(h, g) = ||X_h X_g^T||_F^2 / (||X_h X_h^T||_F ||X_g X_g^T||_F), in [0, 1]. The Gram matrix is computed
// block row panel by block row panel over its upper triangle only, in the input's dtype for bfloat16 (fp32
// accumulation, about twice the fp32 speed on AVX512-BF16 CPUs); per-block sums of squares are fp32 (fp64 for
// fp64 input) and the ratio fp64. A head whose centred block is all zero has similarity 0 with every other
// head.
Matrix linearCka(const at::Tensor& rows, int64_t heads);

// Cosine between the flattened (uncentred) head blocks, in [-1, 1]; 0 against an all-zero head.
Matrix flatCosine(const at::Tensor& rows, int64_t heads);

}  // namespace dha::analysis
