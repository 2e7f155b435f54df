// The fusion stage's constraint (dha-method.md 4.2): the progressive target of the summed fusion loss and the
// augmented Lagrangian term whose multipliers ascend while the model and the fusion weights descend.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dha::training {

// t(step) = s0 * (1 - step / rampSteps) for step < rampSteps, then 0; s0 is the fusion loss at step 0.
// rampSteps = 0 asks for 0 from the first step.
class FusionSchedule {
public:
    // Throws dha::Exception (InvalidInput) when s0 is negative or not finite, or rampSteps is negative.
    FusionSchedule(double initialLoss, int64_t rampSteps);

    double target(int64_t step) const;  // step < 0 is an Internal error
    double initialLoss() const { return m_initialLoss; }
    int64_t rampSteps() const { return m_rampSteps; }

private:
    double m_initialLoss;
    int64_t m_rampSteps;
};

// The multipliers of the Lagrangian; both start at 0 and only gradient ascent changes them.
struct LagrangeMultipliers {
    double lambda1 = 0;
    double lambda2 = 0;
};

// lambda1 (s - t) + lambda2 (s - t)^2: a scalar differentiable in s (the summed fusion loss).
at::Tensor lagrangianTerm(const at::Tensor& fusionLoss, double target,
                          const LagrangeMultipliers& multipliers);

// One step of gradient ascent on the multipliers: their gradients are (s - t) and (s - t)^2, so lambda1 grows
// while s is above its target and lambda2 never falls. A non-finite s or t is an InvalidInput error (the run
// diverged).
void ascendMultipliers(LagrangeMultipliers& multipliers, double fusionLoss, double target,
                       double learningRate);

}  // namespace dha::training
