// The training step, with CPU/CUDA autocast scoped to the forward pass.
#include "training/train_step.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "dha/error.h"
#include "training/autocast_scope.h"

namespace dha::training {
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
