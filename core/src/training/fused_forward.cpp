// The fused model's forward pass and the chain rule through its fused projections.
#include "training/fused_forward.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h in LibTorch 2.x

#include "dha/error.h"
#include "training/autocast_scope.h"

namespace dha::training {
namespace {

void clearGradient(const at::Tensor& tensor) {
    if (tensor.grad().defined()) tensor.mutable_grad().reset();  // set_to_none, as zero_grad() does
}

}  // namespace

void refreshFusedProjections(const conversion::FusionWeights& fusion, const model::Transformer& fused) {
    at::NoGradGuard noGrad;
    for (int layer = 0; layer < fused->numLayers(); ++layer) {
        const model::AttentionLayer& attention = fused->layer(layer)->selfAttn;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const conversion::ProjectionWeights projection = fusion.fusedProjection(layer, kind);
            const model::Projection& target = kind == HeadKind::Key ? attention->kProj : attention->vProj;
            target->weight().copy_(projection.weight);
            if (projection.bias.defined()) target->bias().copy_(projection.bias);
        }
    }
}

void clearGradients(const AdamW::NamedParameters& parameters) {
    for (const auto& [name, parameter] : parameters) clearGradient(parameter);
}

FusedForward::FusedForward(const conversion::FusionWeights& fusion, const model::Transformer& fused,
                           const at::Tensor& batch, bool bf16Autocast, const char* what) {
    if (batch.dim() != 2 || batch.size(1) < 2 || batch.scalar_type() != at::kLong)
        fail(ErrorCode::Internal, what, "the batch must be int64 [batch, context + 1], context >= 1");
    const int64_t context = batch.size(1) - 1;
    const at::Tensor onDevice = batch.to(fused->device());
    const at::Tensor inputs = onDevice.narrow(1, 0, context);   // [batch, context]
    const at::Tensor targets = onDevice.narrow(1, 1, context);  // [batch, context]

    // The fused projections, in the graph; their values go into the fused model, whose forward pass then
    // leaves dLoss/dProjection on those parameters.
    for (int layer = 0; layer < fused->numLayers(); ++layer) {
        const model::AttentionLayer& attention = fused->layer(layer)->selfAttn;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const conversion::ProjectionWeights projection = fusion.fusedProjection(layer, kind);
            const model::Projection& target = kind == HeadKind::Key ? attention->kProj : attention->vProj;
            m_slots.push_back({projection.weight, target->weight()});
            if (projection.bias.defined()) m_slots.push_back({projection.bias, target->bias()});
        }
    }
    {
        at::NoGradGuard noGrad;
        for (const Slot& slot : m_slots) {
            clearGradient(slot.parameter);
            slot.parameter.copy_(slot.value);
        }
    }

    at::Tensor logits;  // float32 [batch, context, vocab]
    {
        AutocastScope autocast(bf16Autocast, fused->device().is_cuda());
        logits = fused->forward(inputs);
    }
    m_lmLoss = at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

void FusedForward::propagateToFusionWeights() const {
    std::vector<at::Tensor> terms;
    for (const Slot& slot : m_slots) {
        if (slot.parameter.grad().defined()) terms.push_back((slot.value * slot.parameter.grad()).sum());
    }
    if (!terms.empty()) at::stack(terms).sum().backward();
}

}  // namespace dha::training
