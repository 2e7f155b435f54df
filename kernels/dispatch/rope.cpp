// Chooses the RoPE implementation per device: the ATen reference everywhere until a CUDA kernel exists.
#include "dha/kernels/rope.h"

namespace dha::kernels {

RopeTables ropeTables(const at::Tensor& positions, const RopeParams& params) {
    return reference::ropeTables(positions, params);
}

at::Tensor applyRope(const at::Tensor& x, const RopeTables& tables) {
    return reference::applyRope(x, tables);
}

}  // namespace dha::kernels
