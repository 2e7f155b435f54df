// The fusion stage's training step: fused forward, LM loss + Lagrangian, backward through the fused
// projections, AdamW for weights and blocks, gradient ascent for the multipliers.
#include "training/fusion_step.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "dha/error.h"
#include "training/fused_forward.h"

namespace dha::training {

FusionStepResult fusionStep(FusionStageState& state, const at::Tensor& batch,
                            const FusionStepOptions& options) {
    clearGradients(state.modelParameters());
    clearGradients(state.fusionParameters());
    const FusedForward forward(state.fusion(), state.fusedModel(), batch, options.bf16Autocast, "fusion step");
    const at::Tensor& lmLoss = forward.lmLoss();
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

    forward.propagateToFusionWeights();  // on to the blocks and the source heads

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
