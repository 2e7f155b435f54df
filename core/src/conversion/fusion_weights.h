// Fusion weights (dha-method.md 4.2-4.3): one trainable block per (layer, K|V, group) that mixes the group's
// source heads, the fusion loss that pulls a block's rows together, and the collapse into one head per group.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dha/budget.h"
#include "dha/plan.h"
#include "model/transformer.h"

namespace dha::conversion {

// Identity: the fused model is exactly the source (P8). Uniform: every entry 1/|G|, which collapses into the
// GQA mean-pool initialisation (Ainslie et al.) for any plan.
enum class FusionInit { Identity, Uniform };

// A projection's weight [heads * headDim, hidden] and bias [heads * headDim] (undefined when the model has
// no q/k/v biases).
struct ProjectionWeights {
    at::Tensor weight;
    at::Tensor bias;
};

// The compact key and value projections of one layer: head g is group g of the plan.
struct CollapsedLayer {
    ProjectionWeights key;    // [hk * headDim, hidden]
    ProjectionWeights value;  // [hv * headDim, hidden]
};

// One group's fusion loss, for reports (metrics, the GUI).
struct GroupFusionLoss {
    int layer = 0;
    HeadKind kind = HeadKind::Key;
    int group = 0;
    int size = 0;  // query heads (= source heads) in the group
    double loss = 0;
};

// ---- The maths, on plain tensors (exposed for tests and the trainer).

// The slots of one group: row j of omega [n, n] mixes the group's source heads [n, rowWidth] (each head's
// weight rows flattened). Returns [n, rowWidth]; differentiable in both arguments.
at::Tensor mixHeads(const at::Tensor& omega, const at::Tensor& heads);
// Mean over pairs j < k of ||omega_j - omega_k||^2 (rows); 0 for a group of one. A float32 scalar,
// differentiable in omega; exactly 0 when the rows are equal (no cancellation-prone expansion).
at::Tensor groupFusionLoss(const at::Tensor& omega);
// The row mean of omega [n, n]: the weights [n] with which collapse() merges the group's heads.
at::Tensor collapseWeights(const at::Tensor& omega);

// The fusion weights of a whole plan over an MHA source. Blocks are float32 leaf tensors with requires_grad,
// on the source's device. The source model is shared, not copied: the fused projections always read its
// current weights, so gradients reach them too when they require grad.
class FusionWeights {
public:
    // Throws dha::Exception: InvalidInput when the plan does not fit the model (layers, heads, partitions),
    // Unsupported when the source is not MHA in every layer (plans group one key and one value head per
    // query head).
    FusionWeights(model::Transformer source, const Plan& plan, FusionInit init = FusionInit::Identity);

    const Plan& plan() const { return m_plan; }
    const model::Transformer& source() const { return m_source; }

    int numGroups(int layer, HeadKind kind) const;
    // The block of group `group` of (layer, kind): [n, n], n = the group's size.
    const at::Tensor& block(int layer, HeadKind kind, int group) const;
    // Every block, layer by layer, keys before values, in group order (for an optimizer).
    std::vector<at::Tensor> parameters() const;
    // "layers.{l}.{key|value}.{g}" for each block in parameters() order (for checkpoints).
    static std::string blockName(int layer, HeadKind kind, int group);

    // The effective k_proj (Key) or v_proj (Value) of the uncollapsed fused model, in the SOURCE head order:
    // slot j of group G replaces source head G[j]. Weight [H * headDim, hidden] (+ bias), in the source's
    // dtype, built from differentiable ops so gradients reach the blocks (and the source weights).
    ProjectionWeights fusedProjection(int layer, HeadKind kind) const;

    // Sum over every group of groupFusionLoss (a differentiable float32 scalar), and per group for reports.
    at::Tensor fusionLoss() const;
    std::vector<GroupFusionLoss> groupLosses() const;

    // Each group becomes one head: w_G = row mean of its block, W_G = sum_k w_G[k] W_{G[k]} (same for the
    // bias). Detached tensors in the source's dtype; layers in order.
    std::vector<CollapsedLayer> collapse() const;

private:
    const std::vector<at::Tensor>& blocksOf(int layer, HeadKind kind) const;
    const HeadGroups& groupsOf(int layer, HeadKind kind) const;
    // The source projection of (layer, kind) as heads: weight [H, headDim * hidden], bias [H, headDim].
    ProjectionWeights sourceHeads(int layer, HeadKind kind) const;

    model::Transformer m_source;
    Plan m_plan;
    int64_t m_headDim = 0;
    int64_t m_hiddenSize = 0;
    // [layer][0 = keys, 1 = values][group] -> block [n, n]
    std::vector<std::vector<std::vector<at::Tensor>>> m_blocks;
};

}  // namespace dha::conversion
