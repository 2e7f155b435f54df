// The fusion stage's training step: fused forward, LM loss + Lagrangian, backward through the fused
// projections, AdamW for weights and blocks, gradient ascent for the multipliers.
#include "training/fusion_step.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "dha/error.h"
#include "training/autocast_scope.h"

namespace dha::training {
namespace {

void clearGradient(const at::Tensor& tensor) {
    if (tensor.grad().defined()) tensor.mutable_grad().reset();  // set_to_none, as zero_grad() does
}

// A fused projection built inside the autograd graph, and the fused model's parameter it is copied into.
struct FusedSlot {
    at::Tensor value;      // differentiable in the blocks and the source heads
    at::Tensor parameter;  // the fused model's k_proj/v_proj weight or bias
};

}  // namespace

FusionStepResult fusionStep(FusionStageState& state, const at::Tensor& batch,
                            const FusionStepOptions& options) {
    if (batch.dim() != 2 || batch.size(1) < 2 || batch.scalar_type() != at::kLong) {
        fail(ErrorCode::Internal, "fusion step",
             "the batch must be int64 [batch, context + 1], context >= 1");
    }
    const model::Transformer& fused = state.fusedModel();
    const int64_t context = batch.size(1) - 1;
    const at::Tensor onDevice = batch.to(fused->device());
    const at::Tensor inputs = onDevice.narrow(1, 0, context);   // [batch, context]
    const at::Tensor targets = onDevice.narrow(1, 1, context);  // [batch, context]

    for (const auto& [name, parameter] : state.modelParameters()) clearGradient(parameter);
    for (const auto& [name, block] : state.fusionParameters()) clearGradient(block);

    // The fused projections, in the graph; their values go into the fused model, whose forward pass then
    // leaves dLoss/dProjection on those parameters.
    std::vector<FusedSlot> slots;
    for (int layer = 0; layer < fused->numLayers(); ++layer) {
        const model::AttentionLayer& attention = fused->layer(layer)->selfAttn;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const conversion::ProjectionWeights projection = state.fusion().fusedProjection(layer, kind);
            const model::Projection& target = kind == HeadKind::Key ? attention->kProj : attention->vProj;
            slots.push_back({projection.weight, target->weight()});
            if (projection.bias.defined()) slots.push_back({projection.bias, target->bias()});
        }
    }
    {
        at::NoGradGuard noGrad;
        for (const FusedSlot& slot : slots) {
            clearGradient(slot.parameter);
            slot.parameter.copy_(slot.value);
        }
    }

    at::Tensor logits;  // float32 [batch, context, vocab]
    {
        AutocastScope autocast(options.bf16Autocast, fused->device().is_cuda());
        logits = fused->forward(inputs);
    }
    const at::Tensor lmLoss =
        at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
    const at::Tensor fusionLoss = state.fusion().fusionLoss();
    const double target = state.schedule().target(state.step());
    (lmLoss + lagrangianTerm(fusionLoss, target, state.multipliers())).backward();

    FusionStepResult result;
    result.lmLoss = lmLoss.item<double>();
    result.fusionLoss = fusionLoss.item<double>();
    result.target = target;
    if (!std::isfinite(result.lmLoss) || !std::isfinite(result.fusionLoss)) {
        fail(ErrorCode::InvalidInput, "fusion stage",
             "the LM loss is " + std::to_string(result.lmLoss) + " and the fusion loss " +
                 std::to_string(result.fusionLoss) + ": training diverged",
             "start again with lower learning rates (or fp32)");
    }

    // Chain rule through the fused projections: sum(value * dLoss/dParameter) has the gradient
    // dLoss/dParameter with respect to value, which backward() carries on to the blocks and the heads.
    std::vector<at::Tensor> terms;
    for (const FusedSlot& slot : slots) {
        if (slot.parameter.grad().defined()) terms.push_back((slot.value * slot.parameter.grad()).sum());
    }
    if (!terms.empty()) at::stack(terms).sum().backward();

    result.gradNorm = clipGradientNorm(state.modelParameters(), options.gradientClip);
    result.fusionGradNorm = clipGradientNorm(state.fusionParameters(), 0.0);
    state.modelOptimizer().step(options.modelLearningRate);
    state.fusionOptimizer().step(options.fusionLearningRate);
    ascendMultipliers(state.multipliers(), result.fusionLoss, target, options.lambdaLearningRate);
    result.lambda1 = state.multipliers().lambda1;
    result.lambda2 = state.multipliers().lambda2;
    state.finishStep();
    return result;
}

}  // namespace dha::training
