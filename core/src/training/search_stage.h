// The search stage of adaptive heads fusion (dha-method.md 4.1): one identity-initialised H x H mix Omega per
// (layer, K|V) over a copy of the source, trained on LM loss plus a similarity-weighted pull; the learned row
// distances become the similarity the planner places the budget with.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "conversion/fusion_weights.h"
#include "dha/budget.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "model/transformer.h"
#include "training/adamw.h"

namespace dha::training {

struct SearchOptions {
    // The stage's length: the caller (the conversion job) runs this many searchStep() calls. A few hundred
    // steps are enough for the distances to separate (the paper's search is ~0.01% of pretraining tokens).
    int64_t steps = 300;
    double omegaLearningRate = 1e-2;  // Omega, as in the fusion stage
    // 0 (default) freezes the model: only Omega trains, no model gradients or optimizer moments exist and the
    // checkpoint holds no model copy. > 0 trains every model weight too (decided when the state is built).
    double modelLearningRate = 0;
    // Weight of the pull term against the LM loss. The affinity of each matrix sums to H (see
    // SearchStageState), so a slot's pull has unit weight on average and this knob means the same for any
    // model size; 0.01 keeps the data in charge and only tilts Omega towards similar heads.
    double pullWeight = 1e-2;
    // On the global gradient norm of everything trained (Omega, and the model when it trains); <= 0 only
    // measures.
    double gradientClip = 1.0;
    bool bf16Autocast = false;  // the forward pass's matrix products in bf16, as in trainStep
    // No weight decay for Omega: decay pulls it towards 0, not towards the identity or equal rows.
    AdamWOptions omegaOptimizer{0.9, 0.95, 1e-8, 0.0};
    AdamWOptions modelOptimizer;  // used only when modelLearningRate > 0
};

struct SearchStepResult {
    double lmLoss = 0;    // mean next-token cross-entropy over the batch, nats (before this step's update)
    double pullLoss = 0;  // the unweighted pull term (see pullTerm), before this step's update
    // L2 norm of the trained parameters' gradient (of lm + pullWeight * pull) before clipping.
    double gradNorm = 0;
};

// The plan of the search: every layer has ONE key group and ONE value group holding all H heads, so each
// fusion block is the whole H x H Omega of (layer, K|V).
Plan searchPlan(int numLayers, int numHeads);

// D[j, k] = ||omega_j - omega_k||^2 over the rows of omega [H, H], from the differences themselves (equal
// rows give exactly 0, the result is exactly symmetric). Differentiable; omega's dtype.
at::Tensor rowDistances(const at::Tensor& omega);

// The pull term of one (layer, K|V): sum_jk A_jk (D_jk - D0_jk), D0 the distances of the identity (2 off the
// diagonal). It differs from 4.1's sum_jk A_jk D_jk by a constant, so it has the same gradient, but it reads
// exactly 0 at the source and falls below 0 as similar slots approach each other (>= -2 sum A). float32
// scalar, differentiable in omega.
at::Tensor pullTerm(const at::Tensor& omega, const at::Tensor& affinity);

// The pull's weights from a similarity matrix: clipped to [0, 1], zero diagonal, symmetrised, scaled so the
// entries sum to H (each slot's pull weighs 1 on average); all zero when no pair is similar. float32 [H, H].
at::Tensor pullAffinity(const Matrix& similarity);

// Two models share the weights, as in FusionStageState: the heads model (a copy of the source, the fusion
// weights' source) and the fused model that the forward pass runs, whose k_proj/v_proj hold Omega W and are
// refreshed after every step; every other parameter is one tensor seen by both.
class SearchStageState {
public:
    // Copies `source` (an fp32 MHA model; the caller's stays untouched) with identity Omega: the fused model
    // starts as the source (P8). `affinitySource` gives A per (layer, K|V) through pullAffinity(); nullptr
    // computes the weight CKA of the source's k_proj/v_proj here. Throws InvalidInput when the report does
    // not match the model (layers, H x H, finite values) or an option is out of range, Unsupported for a
    // non-MHA or non-fp32 source.
    SearchStageState(const model::Transformer& source, const SearchOptions& options,
                     const SimilarityReport* affinitySource = nullptr);
    SearchStageState(const SearchStageState&) = delete;
    SearchStageState& operator=(const SearchStageState&) = delete;

    const conversion::FusionWeights& fusion() const { return m_fusion; }
    const model::Transformer& headsModel() const { return m_fusion.source(); }
    const model::Transformer& fusedModel() const { return m_fused; }
    int numLayers() const;
    int numHeads() const;
    bool trainsModel() const { return m_trainsModel; }
    int64_t step() const { return m_step; }

    // Omega of (layer, kind): the full-group fusion block, [H, H] float32 with requires_grad.
    const at::Tensor& omega(int layer, HeadKind kind) const { return m_fusion.block(layer, kind, 0); }
    // A of (layer, kind): [H, H] float32, no grad.
    const at::Tensor& affinity(int layer, HeadKind kind) const;
    // The sum of pullTerm over every (layer, K|V): a differentiable float32 scalar.
    at::Tensor pullLoss() const;

    // The Omegas by FusionWeights::blockName (group 0), and the model weights by Hugging Face name (empty
    // when the model is frozen): the fused model's except k_proj/v_proj, and the heads model's k_proj/v_proj.
    const AdamW::NamedParameters& omegaParameters() const { return m_omegaParameters; }
    const AdamW::NamedParameters& modelParameters() const { return m_modelParameters; }
    AdamW& omegaOptimizer() { return *m_omegaOptimizer; }
    AdamW* modelOptimizer() { return m_modelOptimizer.get(); }  // nullptr when the model is frozen

    // Copies the current fused projections into the fused model (no autograd) and counts one step.
    void finishStep();

    // Writes into `dir` (created when missing), each file atomically: search.safetensors (every Omega by
    // blockName, every A as "layers.{l}.{key|value}.affinity", metadata format "dha-search-stage", step,
    // layers, heads, trains_model), optimizer-omega.safetensors (AdamW::save) and, only when the model
    // trains, model.safetensors + config.json (the heads model) and optimizer-model.safetensors. The caller
    // publishes the directory atomically (see checkpoint.h).
    void save(const std::filesystem::path& dir) const;
    // Restores what save() wrote into a state built from the same source with the same trainsModel(); A
    // comes from the file. A frozen state's model is not in the checkpoint: the caller must rebuild the state
    // from the same source (the run directory records its fingerprint). Every file is checked and errors name
    // it; after an error the state is partly restored and must be discarded.
    void load(const std::filesystem::path& dir);

private:
    void refreshFusedModel();

    conversion::FusionWeights m_fusion;
    model::Transformer m_fused{nullptr};
    bool m_trainsModel = false;
    int64_t m_step = 0;
    std::vector<at::Tensor> m_affinity;  // [layer * 2 + (0 keys, 1 values)]
    AdamW::NamedParameters m_omegaParameters;
    AdamW::NamedParameters m_modelParameters;
    std::unique_ptr<AdamW> m_omegaOptimizer;
    std::unique_ptr<AdamW> m_modelOptimizer;
};

// batch: int64 [batch, context + 1]; inputs are its first `context` columns, targets the last `context`.
// Minimises lm + pullWeight * pull: the forward pass runs the fused model, the gradient of its k/v
// projections flows through Omega W to Omega (and to the model weights when they train). A non-finite loss
// throws InvalidInput (the run diverged); modelLearningRate > 0 on a frozen state throws Internal.
// Advances state.step().
SearchStepResult searchStep(SearchStageState& state, const at::Tensor& batch, const SearchOptions& options);

// The planner's input from the learned distances: per (layer, K|V) s_jk = 1 - D_jk / Dref with one Dref for
// the whole model, Dref = max(2, the largest D of any matrix) (2 = the identity's distance). The map is
// linear and decreasing in D, gives exactly 1 on the diagonal (D_jj = 0) and values in [0, 1], is symmetric,
// and keeps D's scale: the planner's Ward trees run on 1 - s = D / Dref, a squared Euclidean distance between
// Omega rows as Ward expects, and its global queue compares merge costs of different layers and K/V on one
// scale (a per-matrix normalisation would make every matrix's farthest pair equally far). With `cka` (a
// similarity report of the source) and ckaMix in (0, 1]: s = (1 - ckaMix) s_learned + ckaMix clip(cka, 0, 1)
// (cka symmetrised). ckaMix outside [0, 1], a positive mix without `cka`, or a report of another shape throw
// InvalidInput. The report's metric is WeightCka, the closest existing value: SimilarityMetric has no
// "search" value yet, so callers must not cache this report as an analysis result. Its fingerprint is
// cka's when given, else empty.
SimilarityReport learnedSimilarity(const SearchStageState& state, const SimilarityReport* cka = nullptr,
                                   double ckaMix = 0.0);

}  // namespace dha::training
