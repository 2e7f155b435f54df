// The state of the fusion stage (dha-method.md 4.2): the uncollapsed fused model being trained, the fusion
// weights, the Lagrange multipliers, both optimizers and the step, saved to and restored from a directory of
// safetensors files so the fusion job can checkpoint and resume it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "conversion/fusion_weights.h"
#include "dha/plan.h"
#include "model/transformer.h"
#include "training/adamw.h"
#include "training/fusion_schedule.h"

namespace dha::training {

struct FusionStageOptions {
    int64_t rampSteps = 0;  // steps over which the fusion loss target falls to 0
    AdamWOptions modelOptimizer;
    // No weight decay for the fusion blocks: decay would pull them towards 0, not towards equal rows.
    AdamWOptions fusionOptimizer{0.9, 0.95, 1e-8, 0.0};
};

// Two models share the weights. The heads model has the source's shapes and holds the trained SOURCE k/v
// heads; the fusion weights mix them (fusion().source() is the heads model). The fused model has the same
// shapes, but its k_proj/v_proj hold the fused projections, refreshed from the heads and the blocks after
// every step; it is the model the forward pass runs. Every other parameter of the heads model shares its
// storage with the fused model's, so both always agree and the weights exist once.
class FusionStageState {
public:
    // Copies `source` (an MHA model; the caller's stays untouched) with identity fusion weights for `plan`:
    // the fused model starts as the source (P8). s0 = the fusion loss of the identity blocks. Throws
    // dha::Exception when the plan does not fit the model (see FusionWeights).
    FusionStageState(const model::Transformer& source, const Plan& plan, const FusionStageOptions& options);
    FusionStageState(const FusionStageState&) = delete;
    FusionStageState& operator=(const FusionStageState&) = delete;

    const Plan& plan() const { return m_fusion.plan(); }
    const conversion::FusionWeights& fusion() const { return m_fusion; }
    // The source-shaped model with the trained source heads (fusion().source()).
    const model::Transformer& headsModel() const { return m_fusion.source(); }
    // The uncollapsed fused model as it stands (current after every step).
    const model::Transformer& fusedModel() const { return m_fused; }
    // The compact DHA model: every group collapsed into one head (dha-method.md 4.3).
    model::Transformer collapsedModel() const;

    const FusionSchedule& schedule() const { return m_schedule; }
    const LagrangeMultipliers& multipliers() const { return m_multipliers; }
    LagrangeMultipliers& multipliers() { return m_multipliers; }
    int64_t step() const { return m_step; }

    // By Hugging Face name: the fused model's parameters except k_proj/v_proj, and the heads model's
    // k_proj/v_proj (the source heads). The fused model's own k_proj/v_proj are derived, not trained.
    const AdamW::NamedParameters& modelParameters() const { return m_modelParameters; }
    // The fusion blocks by FusionWeights::blockName.
    const AdamW::NamedParameters& fusionParameters() const { return m_fusionParameters; }
    AdamW& modelOptimizer() { return *m_modelOptimizer; }
    AdamW& fusionOptimizer() { return *m_fusionOptimizer; }

    // Copies the current fused projections into the fused model (no autograd) and counts one step.
    void finishStep();

    // Writes into `dir` (created when missing), each file atomically: model.safetensors + config.json (the
    // heads model: trained weights with the source heads), fusion.safetensors (the blocks by blockName,
    // F64 scalars "lambda1"/"lambda2", metadata format "dha-fusion-stage", step, initial_loss, ramp_steps),
    // optimizer-model.safetensors and optimizer-fusion.safetensors (AdamW::save). The caller publishes the
    // directory atomically (see checkpoint.h).
    void save(const std::filesystem::path& dir) const;
    // Restores everything save() wrote into a state built for the same source shapes and plan; the schedule
    // comes from the file. Every file is checked and errors name it; after an error the state is partly
    // restored and must be discarded.
    void load(const std::filesystem::path& dir);

private:
    void refreshFusedModel();

    conversion::FusionWeights m_fusion;
    model::Transformer m_fused{nullptr};
    FusionSchedule m_schedule;
    LagrangeMultipliers m_multipliers;
    int64_t m_step = 0;
    AdamW::NamedParameters m_modelParameters;
    AdamW::NamedParameters m_fusionParameters;
    std::unique_ptr<AdamW> m_modelOptimizer;
    std::unique_ptr<AdamW> m_fusionOptimizer;
};

}  // namespace dha::training
