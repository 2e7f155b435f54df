// One optimizer step of the fusion stage (dha-method.md 4.2) on the uncollapsed fused model: LM loss plus the
// augmented Lagrangian; model weights and fusion blocks descend by AdamW, the multipliers ascend.
#pragma once

#include <ATen/core/Tensor.h>

#include "training/fusion_stage.h"

namespace dha::training {

struct FusionStepOptions {
    double modelLearningRate = 1e-4;   // every model weight, the source k/v heads included
    double fusionLearningRate = 1e-2;  // the fusion blocks (Omega)
    double lambdaLearningRate = 1.0;   // gradient ascent on lambda1, lambda2
    double gradientClip = 1.0;         // on the model weights' gradient norm; <= 0 only measures
    bool bf16Autocast = false;         // the forward pass's matrix products in bf16, as in trainStep
};

struct FusionStepResult {
    double lmLoss = 0;      // mean next-token cross-entropy over the batch, nats (before this step's update)
    double fusionLoss = 0;  // s: the summed fusion loss of every group, before this step's update
    double target = 0;      // t(step)
    double lambda1 = 0;     // the multipliers after this step's ascent
    double lambda2 = 0;
    double gradNorm = 0;        // L2 norm of the model weights' gradient before clipping
    double fusionGradNorm = 0;  // L2 norm of the fusion blocks' gradient (not clipped: AdamW normalises it)
};

// batch: int64 [batch, context + 1]; inputs are its first `context` columns, targets the last `context`.
// The forward pass runs the fused model; the gradient of its k/v projections flows on through the fused
// projections to the fusion blocks and the source heads. The fusion blocks' gradient is not clipped: the
// Lagrangian scales it by the multipliers, and clipping it together with the model's would starve the
// model. A non-finite loss throws InvalidInput (the run diverged). Advances state.step().
FusionStepResult fusionStep(FusionStageState& state, const at::Tensor& batch,
                            const FusionStepOptions& options);

}  // namespace dha::training
