// bf16 autocast scoped to one forward pass (CPU or CUDA), shared by the training steps.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include "compat/torch_compat.h"

namespace dha::training {

// Enables bf16 autocast on the model's device type for one forward pass, as `with torch.autocast(...)` does:
// the cast-weight cache is dropped when the outermost scope ends, so updated weights are re-cast next step.
class AutocastScope {
public:
    AutocastScope(bool enabled, bool cuda) : m_enabled(enabled), m_device(cuda ? at::kCUDA : at::kCPU) {
        if (!m_enabled) return;
        m_wasEnabled = isEnabled(m_device);
        m_previousDtype = dtype(m_device);
        setDtype(m_device, at::kBFloat16);
        setEnabled(m_device, true);
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!m_enabled) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        setEnabled(m_device, m_wasEnabled);
        setDtype(m_device, m_previousDtype);
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    // LibTorch 2.4 replaced the per-device functions (set_cpu_enabled, get_autocast_gpu_dtype, ...) by ones
    // taking the device type, and deprecated the old ones; 1.13 has only the old ones.
#if DHA_TORCH_AT_LEAST(2, 4)
    static bool isEnabled(at::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
    static at::ScalarType dtype(at::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
    static void setEnabled(at::DeviceType device, bool on) { at::autocast::set_autocast_enabled(device, on); }
    static void setDtype(at::DeviceType device, at::ScalarType type) { at::autocast::set_autocast_dtype(device, type); }
#else
    static bool isEnabled(at::DeviceType device) {
        return device == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    }
    static at::ScalarType dtype(at::DeviceType device) {
        return device == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    }
    static void setEnabled(at::DeviceType device, bool on) {
        if (device == at::kCUDA) at::autocast::set_enabled(on);
        else at::autocast::set_cpu_enabled(on);
    }
    static void setDtype(at::DeviceType device, at::ScalarType type) {
        if (device == at::kCUDA) at::autocast::set_autocast_gpu_dtype(type);
        else at::autocast::set_autocast_cpu_dtype(type);
    }
#endif

    bool m_enabled;
    at::DeviceType m_device;
    bool m_wasEnabled = false;
    at::ScalarType m_previousDtype = at::kBFloat16;
};

}  // namespace dha::training
