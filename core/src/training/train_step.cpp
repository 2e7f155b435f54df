// The training step, with CPU/CUDA autocast scoped to the forward pass.
#include "training/train_step.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <cmath>
#include <string>

#include "dha/error.h"

namespace dha::training {
namespace {

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

}  // namespace

TrainStepResult trainStep(model::TransformerImpl& model, const AdamW::NamedParameters& parameters,
                          AdamW& optimizer, const at::Tensor& batch, double learningRate, double gradientClip,
                          bool bf16Autocast) {
    const int64_t context = batch.size(1) - 1;
    const at::Tensor onDevice = batch.to(model.device());
    const at::Tensor inputs = onDevice.narrow(1, 0, context);   // [batch, context]
    const at::Tensor targets = onDevice.narrow(1, 1, context);  // [batch, context]

    for (const auto& [name, parameter] : parameters) {
        if (parameter.grad().defined()) parameter.mutable_grad().reset();  // set_to_none, as zero_grad() does
    }
    at::Tensor logits;  // float32 [batch, context, vocab]
    {
        AutocastScope autocast(bf16Autocast, model.device().is_cuda());
        logits = model.forward(inputs);
    }
    const at::Tensor loss =
        at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
    loss.backward();

    TrainStepResult result;
    result.loss = loss.item<double>();
    if (!std::isfinite(result.loss)) {
        fail(ErrorCode::InvalidInput, "training",
             "the loss is " + std::to_string(result.loss) + ": training diverged",
             "start a new run with a lower --lr (or fp32)");
    }
    result.gradNorm = clipGradientNorm(parameters, gradientClip);
    optimizer.step(learningRate);
    return result;
}

}  // namespace dha::training
