// The forward pass shared by the search and fusion steps: a model whose k/v projections are mixed from source
// heads by fusion weights. The mixed projections are built in the autograd graph and copied into the fused
// model, the model's LM loss is taken, and after backward() the chain rule is carried on to the fusion
// weights and the source heads.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "conversion/fusion_weights.h"
#include "model/transformer.h"
#include "training/adamw.h"

namespace dha::training {

// Copies the current fused projections into the fused model's k_proj/v_proj (no autograd): after an
// optimizer step, so the fused model is the one the fusion weights describe.
void refreshFusedProjections(const conversion::FusionWeights& fusion, const model::Transformer& fused);

// Sets every parameter's gradient to none, as zero_grad() does.
void clearGradients(const AdamW::NamedParameters& parameters);

class FusedForward {
public:
    // batch: int64 [batch, context + 1]; inputs are its first `context` columns, targets the last. `what`
    // names the step in errors (a malformed batch is an Internal error).
    FusedForward(const conversion::FusionWeights& fusion, const model::Transformer& fused, const at::Tensor& batch,
                 bool bf16Autocast, const char* what);

    // Mean next-token cross-entropy of the batch, differentiable in the fused model's parameters.
    const at::Tensor& lmLoss() const { return m_lmLoss; }

    // After backward() of a loss that includes lmLoss(): the fused model's k/v parameters hold dLoss/dProjection;
    // sum(projection * that gradient) has the same gradient with respect to the projection, so its backward()
    // carries it on to the fusion weights and the source heads.
    void propagateToFusionWeights() const;

private:
    // A fused projection built inside the autograd graph, and the fused model's parameter it is copied into.
    struct Slot {
        at::Tensor value;      // differentiable in the fusion weights (and the source heads)
        at::Tensor parameter;  // the fused model's k_proj/v_proj weight or bias
    };
    std::vector<Slot> m_slots;
    at::Tensor m_lmLoss;
};

}  // namespace dha::training
