// bf16 autocast scoped to one forward pass (CPU or CUDA), shared by the training steps.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

namespace dha::training {

// Enables bf16 autocast on the model's device type for one forward pass, as `with torch.autocast(...)` does:
// the cast-weight cache is dropped when the outermost scope ends, so updated weights are re-cast next step.
class AutocastScope {
public:
    AutocastScope(bool enabled, bool cuda) : m_enabled(enabled), m_cuda(cuda) {
        if (!m_enabled) return;
        if (m_cuda) {
            m_wasEnabled = at::autocast::is_enabled();
            m_previousDtype = at::autocast::get_autocast_gpu_dtype();
            at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
            at::autocast::set_enabled(true);
        } else {
            m_wasEnabled = at::autocast::is_cpu_enabled();
            m_previousDtype = at::autocast::get_autocast_cpu_dtype();
            at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            at::autocast::set_cpu_enabled(true);
        }
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!m_enabled) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        if (m_cuda) {
            at::autocast::set_enabled(m_wasEnabled);
            at::autocast::set_autocast_gpu_dtype(m_previousDtype);
        } else {
            at::autocast::set_cpu_enabled(m_wasEnabled);
            at::autocast::set_autocast_cpu_dtype(m_previousDtype);
        }
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool m_enabled;
    bool m_cuda;
    bool m_wasEnabled = false;
    at::ScalarType m_previousDtype = at::kBFloat16;
};

}  // namespace dha::training
