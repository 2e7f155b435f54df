// The fusion loss target and the augmented Lagrangian of the fusion stage.
#include "training/fusion_schedule.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "dha/error.h"

namespace dha::training {

FusionSchedule::FusionSchedule(double initialLoss, int64_t rampSteps)
    : m_initialLoss(initialLoss), m_rampSteps(rampSteps) {
    if (!std::isfinite(initialLoss) || initialLoss < 0) {
        failInput("fusion schedule",
                  "the initial fusion loss " + std::to_string(initialLoss) + " is not a finite value >= 0");
    }
    if (rampSteps < 0) {
        failInput("fusion schedule", "the ramp of " + std::to_string(rampSteps) + " steps is negative");
    }
}

double FusionSchedule::target(int64_t step) const {
    if (step < 0) fail(ErrorCode::Internal, "fusion schedule", "negative step " + std::to_string(step));
    if (step >= m_rampSteps) return 0.0;
    return m_initialLoss * (1.0 - static_cast<double>(step) / static_cast<double>(m_rampSteps));
}

at::Tensor lagrangianTerm(const at::Tensor& fusionLoss, double target,
                          const LagrangeMultipliers& multipliers) {
    const at::Tensor gap = fusionLoss - target;
    return gap * multipliers.lambda1 + gap.pow(2) * multipliers.lambda2;
}

void ascendMultipliers(LagrangeMultipliers& multipliers, double fusionLoss, double target,
                       double learningRate) {
    const double gap = fusionLoss - target;
    if (!std::isfinite(gap)) {
        failInput("fusion stage",
                  "the fusion loss " + std::to_string(fusionLoss) + " against its target " +
                      std::to_string(target) + " is not finite: training diverged",
                  "start again with lower learning rates");
    }
    multipliers.lambda1 += learningRate * gap;
    multipliers.lambda2 += learningRate * gap * gap;
}

}  // namespace dha::training
