// ATen reference implementation of the SwiGLU gate.
#include "dha/kernels/swiglu.h"

#include <ATen/ATen.h>

namespace dha::kernels::reference {

at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up) {
    TORCH_CHECK(gate.sizes() == up.sizes(), "SwiGLU gate and up projections differ in shape");
    return at::silu(gate) * up;
}

}  // namespace dha::kernels::reference
