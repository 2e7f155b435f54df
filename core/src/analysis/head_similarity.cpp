// Linear CKA and cosine between head blocks: the hot loop of weight analysis (a 7B layer is two Gram
// matrices of 4096 x 4096 x 4096), so it works on panels of the upper triangle in the weights' own dtype.
#include "analysis/head_similarity.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h in LibTorch 2.x
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dha/error.h"

namespace dha::analysis {
namespace {

// Rows per Gram panel: big enough for an efficient matmul, small enough that computing whole panels (rather
// than only upper-triangle blocks) wastes little: 256 rows of a 4096-row matrix do ~56% of the full product.
constexpr int64_t kPanelRows = 256;

int64_t headDimOf(const at::Tensor& rows, int64_t heads) {
    if (rows.dim() != 2 || heads < 1 || rows.size(0) < heads || rows.size(0) % heads != 0 ||
        rows.size(1) < 1) {
        fail(ErrorCode::Internal, "head similarity",
             "expected [heads * headDim, samples] rows for " + std::to_string(heads) + " heads, got " +
                 std::to_string(rows.dim()) + "-d tensor with " + std::to_string(rows.size(0)) + " rows");
    }
    return rows.size(0) / heads;
}

// The dtype the products run in: bfloat16 stays (fast and exact enough for a ratio of sums), float64 stays
// (reference precision), everything else is float32 (no float16 matmul on the CPU).
c10::ScalarType computeType(const at::Tensor& rows) {
    const c10::ScalarType type = rows.scalar_type();
    return type == at::kBFloat16 || type == at::kDouble ? type : at::kFloat;
}

// Normalises a symmetric matrix of inner products `dots` (heads x heads, fp64, upper triangle filled) by the
// square roots of its diagonal, into [low, 1]; a zero diagonal entry gives 0 off the diagonal.
Matrix normalise(const std::vector<double>& dots, int64_t heads, float low) {
    Matrix result(static_cast<int>(heads), static_cast<int>(heads));
    for (int64_t h = 0; h < heads; ++h) {
        result.at(static_cast<int>(h), static_cast<int>(h)) = 1.0f;
        const double normH = std::sqrt(std::max(0.0, dots[static_cast<size_t>(h * heads + h)]));
        for (int64_t g = h + 1; g < heads; ++g) {
            const double normG = std::sqrt(std::max(0.0, dots[static_cast<size_t>(g * heads + g)]));
            const double denominator = normH * normG;
            double value = denominator > 0 ? dots[static_cast<size_t>(h * heads + g)] / denominator : 0.0;
            if (!std::isfinite(value)) value = 0.0;  // overflowing sums of squares: no information
            const float clamped = std::clamp(static_cast<float>(value), low, 1.0f);
            result.at(static_cast<int>(h), static_cast<int>(g)) = clamped;
            result.at(static_cast<int>(g), static_cast<int>(h)) = clamped;
        }
    }
    return result;
}

// Rows minus their means over the samples, rounded once into `type`. The mean is accumulated in fp64 and
// subtracted in fp32 (fp64 for fp64), so a bfloat16 input is centred exactly to its own precision. On the
// CPU this is one fused pass over the data: ATen's to/mean/sub/to sequence costs several times the memory
// traffic, about 0.17 s per 4096 x 4096 projection, a third of its Gram matrix.
template <typename Value, typename Compute>
void centreRowsOnCpu(const Value* input, Value* output, int64_t rows, int64_t samples) {
    at::parallel_for(0, rows, 8, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const Value* source = input + row * samples;
            Value* target = output + row * samples;
            double sum = 0;
            for (int64_t i = 0; i < samples; ++i) sum += static_cast<double>(static_cast<Compute>(source[i]));
            const auto mean = static_cast<Compute>(sum / static_cast<double>(samples));
            for (int64_t i = 0; i < samples; ++i)
                target[i] = static_cast<Value>(static_cast<Compute>(source[i]) - mean);
        }
    });
}

at::Tensor centredRows(const at::Tensor& rows, c10::ScalarType type) {
    if (!rows.is_cpu()) {
        const at::Tensor wide = rows.to(type == at::kDouble ? at::kDouble : at::kFloat);
        return (wide - wide.mean(1, true)).to(type).contiguous();
    }
    const at::Tensor input = rows.to(type).contiguous();
    at::Tensor output = at::empty_like(input);
    if (type == at::kBFloat16) {
        centreRowsOnCpu<c10::BFloat16, float>(input.data_ptr<c10::BFloat16>(),
                                              output.data_ptr<c10::BFloat16>(), input.size(0), input.size(1));
    } else if (type == at::kDouble) {
        centreRowsOnCpu<double, double>(input.data_ptr<double>(), output.data_ptr<double>(), input.size(0),
                                        input.size(1));
    } else {
        centreRowsOnCpu<float, float>(input.data_ptr<float>(), output.data_ptr<float>(), input.size(0),
                                      input.size(1));
    }
    return output;
}

}  // namespace

Matrix linearCka(const at::Tensor& rows, int64_t heads) {
    const int64_t headDim = headDimOf(rows, heads);
    at::NoGradGuard noGrad;
    const c10::ScalarType type = computeType(rows);
    const c10::ScalarType centreType = type == at::kDouble ? at::kDouble : at::kFloat;
    const at::Tensor centred = centredRows(rows, type);  // [heads * headDim, samples]

    // squares[h * heads + g] = ||X_h X_g^T||_F^2 for g >= h.
    std::vector<double> squares(static_cast<size_t>(heads * heads), 0.0);
    const int64_t panelHeads = std::max<int64_t>(1, kPanelRows / headDim);
    for (int64_t first = 0; first < heads; first += panelHeads) {
        const int64_t count = std::min(panelHeads, heads - first);
        const int64_t rest = heads - first;  // heads first .. heads-1: this panel's upper-triangle columns
        const at::Tensor panel = centred.narrow(0, first * headDim, count * headDim);
        const at::Tensor columns = centred.narrow(0, first * headDim, rest * headDim);
        const at::Tensor gram = at::mm(panel, columns.t());  // [count * headDim, rest * headDim]
        // Per-block sums of squares, innermost dimension first (contiguous), then across the block's rows.
        const at::Tensor blockSquares =  // [count, rest]
            gram.to(centreType).square_().view({count, headDim, rest, headDim}).sum(3).sum(1);
        const at::Tensor host = blockSquares.to(at::kDouble).cpu().contiguous();
        const double* values = host.data_ptr<double>();
        for (int64_t i = 0; i < count; ++i) {
            for (int64_t j = i; j < rest; ++j) {
                squares[static_cast<size_t>((first + i) * heads + first + j)] = values[i * rest + j];
            }
        }
    }
    // ||X_h X_h^T||_F = sqrt(squares[h, h]), which normalise() takes as the diagonal's square root.
    return normalise(squares, heads, 0.0f);
}

Matrix flatCosine(const at::Tensor& rows, int64_t heads) {
    headDimOf(rows, heads);
    at::NoGradGuard noGrad;
    const c10::ScalarType type = rows.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const at::Tensor flat = rows.to(type).contiguous().view({heads, -1});  // [heads, headDim * samples]
    const at::Tensor dots = at::mm(flat, flat.t()).to(at::kDouble).cpu().contiguous();  // [heads, heads]
    const double* values = dots.data_ptr<double>();
    std::vector<double> products(values, values + heads * heads);
    return normalise(products, heads, -1.0f);
}

}  // namespace dha::analysis
