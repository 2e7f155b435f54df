// The conversion job (dha-method.md sections 4-5): analyse and plan (or load a plan), fuse the grouped heads
// under the augmented Lagrangian, collapse, continue pretraining the compact model, export. Also the GQA
// mean-pool baseline through the same run directory and events.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "dha/budget.h"
#include "dha/job.h"
#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha {

// The conversion and its baselines (dha-method.md section 5): how the plan is chosen and how each group
// becomes one head. Every method continues pretraining the compact model on the same data and tokens.
enum class ConvertMethod {
    Dha,               // "dha": adaptive plan from similarity, learned fusion, collapse
    GqaMeanPool,       // "gqa": adjacent equal groups shared by K and V, mean-pooled (Ainslie et al. 2023)
    CkaGqaMeanPool,    // "cka-gqa": equal groups chosen by similarity, the same count per layer, mean-pooled
    UniformFusion,     // "dha-uniform": ablation, CKA-GQA's uniform plan with learned fusion
    AdaptiveMeanPool,  // "dha-meanpool": ablation, the adaptive plan with mean pooling instead of fusion
};

// The CLI spelling ("dha", "gqa", "cka-gqa", "dha-uniform", "dha-meanpool") and back; nullopt otherwise.
const char* convertMethodName(ConvertMethod method);
std::optional<ConvertMethod> convertMethodFromName(const std::string& name);
// Whether the method trains fusion weights (a fusion phase) rather than mean-pooling each group.
bool usesLearnedFusion(ConvertMethod method);
// Whether the method's plan has the same number of key and value heads in every layer (a GQA plan).
bool usesUniformPlan(ConvertMethod method);

struct ConvertSpec {
    std::filesystem::path sourceModelDir;  // an MHA Hugging Face model directory with its tokenizer
    std::filesystem::path trainText;       // UTF-8 text, documents separated by blank lines
    std::filesystem::path validationText;  // optional: held-out losses are only measured with it
    ConvertMethod method = ConvertMethod::Dha;
    // Exactly one of budget and planFile. A plan file must be for the source's layers and heads (methods dha
    // and dha-meanpool only); the uniform methods need a budget that is 2 x layers x a divisor of the head
    // count.
    std::optional<Budget> budget;
    std::filesystem::path planFile;
    PlanConstraints constraints;
    SimilarityMetric metric = SimilarityMetric::WeightCka;  // activation metrics calibrate on trainText
    // Token budgets: steps = ceil(tokens / (batchSize x contextLength)) per phase. The fusion phase may stop
    // early when it has converged (fusionTolerance).
    // Search (dha-method.md 4.1), for the adaptive methods (dha, dha-meanpool) planning from a budget: this
    // many tokens train identity-initialised H x H fusion weights per (layer, K|V) with the model frozen; their
    // learned row distances, mixed with weight CKA by searchCkaMix, place the budget. 0 = no search: the plan
    // comes from the metric's similarity alone.
    int64_t searchTokens = 0;
    double searchCkaMix = 0.5;       // 0 = learned distances only, 1 = CKA only
    double searchPullWeight = 1e-2;  // the similarity-weighted pull against the LM loss
    int64_t fusionTokens = 0;
    int64_t continuedTokens = 0;
    int batchSize = 8;
    int contextLength = 256;           // at most the source's max_position_embeddings
    double modelLearningRate = 1e-4;   // every model weight during fusion
    // The fusion blocks: constant over the ramp, then cosine decay to 0. 0 = automatic: AdamW moves a block
    // entry by about the learning rate per step, and an entry travels up to 1 (identity to a row mean), so
    // the rate is 2 / (ramp steps + half the tail steps), at least 1e-2 and at most 0.5.
    double fusionLearningRate = 0;
    double lambdaLearningRate = 1.0;   // gradient ascent on the multipliers
    double continuedPeakLearningRate = 1e-4;
    double continuedMinLearningRate = 1e-5;
    int64_t continuedWarmupSteps = 0;  // 0 = 5% of the continued steps, at most 1000
    double fusionRampFraction = 0.3;   // of the fusion steps, over which the fusion loss target falls to 0
    double fusionTolerance = 1e-9;     // after the ramp, fusion stops once the fusion loss per fused group
                                       // (groups of 2+ heads) is at most this
    double gradientClip = 1.0;
    double weightDecay = 0.1;
    uint64_t seed = 1;             // the data order
    std::string dtype = "fp32";    // "fp32" or "bf16" (autocast of the forward pass, fp32 weights)
    std::filesystem::path runDir;  // must not exist or be empty, unless resume
    // Continue the run in runDir from its latest checkpoint. The spec must be the one run.json records
    // (loadConvertSpec); a changed source model, text, plan or setting is refused, naming it.
    bool resume = false;
    int64_t checkpointInterval = 100;  // steps between checkpoints; 0 = only at phase ends and on cancel
    int keepCheckpoints = 2;           // complete checkpoints kept (the newest)
    int64_t validationTokens = 0;  // predicted tokens per held-out measurement; 0 = the whole file
};

struct ConvertReport {
    std::filesystem::path runDir;
    std::filesystem::path exportDir;  // runDir/export
    ConvertMethod method = ConvertMethod::Dha;
    Plan plan;
    std::string planSummary;            // "kept 12 of 32 K+V heads (37.5%); layer 0: 2K 3V, ..."
    int64_t kvBytesPerTokenBefore = 0;  // fp32, the source
    int64_t kvBytesPerTokenAfter = 0;   // fp32, the export
    // Held-out losses (nats per token), present when validationText was given.
    std::optional<double> heldOutSource;
    std::optional<double> heldOutBeforeCollapse;  // the uncollapsed fused model (dha only)
    std::optional<double> heldOutAfterCollapse;   // the compact model (the mean-pooled one for gqa-meanpool)
    std::optional<double> heldOutAfterContinued;
    int64_t fusionSteps = 0;
    int64_t searchSteps = 0;  // 0 when the plan did not come from a search
    int64_t searchTokens = 0;
    int64_t fusionTokens = 0;  // tokens the fusion phase consumed (it may stop early)
    double finalFusionLoss = 0;
    bool fusionConverged = false;  // the mean fusion loss per group reached fusionTolerance
    int64_t continuedSteps = 0;
    int64_t continuedTokens = 0;
    bool resumed = false;  // this call continued an earlier run
    int64_t resumedFromStep = 0;
};

// The spec recorded in runDir/run.json (with resume = true), so `dha convert --resume RUN` needs nothing
// else. Errors name run.json.
ConvertSpec loadConvertSpec(const std::filesystem::path& runDir);

// The tokens a source model was pretrained on, when its directory records them (eval.json of format
// "dha-model-card-figures", "training.tokens", written by scripts/write-model-card.sh); nullopt when unknown. A malformed record is an
// InvalidInput error naming the file.
std::optional<int64_t> sourcePretrainingTokens(const std::filesystem::path& modelDir);

// How a token budget divides between the phases: searchShare of it searches (the adaptive methods, when they
// plan from a budget), fusionShare fuses (methods with learned fusion), the rest continues pretraining.
struct PhaseTokens {
    int64_t search = 0;
    int64_t fusion = 0;
    int64_t continued = 0;
};
PhaseTokens splitTokenBudget(int64_t totalTokens, ConvertMethod method, double fusionShare = 0.5,
                             double searchShare = 0.0);
// Whether the method plans adaptively from similarity (dha, dha-meanpool), so a search can inform its plan.
bool usesAdaptivePlan(ConvertMethod method);

// Runs the whole conversion in spec.runDir: run.json, plan.json, metrics.jsonl (loss events of both phases,
// held-out measurements), checkpoints/ and export/. Events: onPlan once, KvSavingsEvent ("plan", then during
// fusion whenever a group's fusion loss reaches the tolerance, then "collapse"), LossEvent per step with phase
// "fusion" (fusionLoss set) then "continued", ValidationEvent for every held-out measurement, CheckpointEvent.
// Errors: Usage for settings no run can use, InvalidInput naming the file for malformed or mismatched inputs
// (a missing text, an infeasible budget, a plan for another model, a resume that does not match run.json). A
// cancel writes a checkpoint first (within one optimizer step), then returns Cancelled; a resume continues
// from it with the same data, schedules and loss curve.
JobResult<ConvertReport> runConvertJob(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel);

}  // namespace dha
