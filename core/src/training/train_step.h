// One optimizer step of next-token training: forward (optionally under bf16 autocast), cross-entropy,
// backward, gradient clipping, AdamW.
#pragma once

#include <ATen/core/Tensor.h>

#include "model/transformer.h"
#include "training/adamw.h"

namespace dha::training {

struct TrainStepResult {
    double loss = 0;      // mean next-token cross-entropy over the batch, nats
    double gradNorm = 0;  // global L2 norm before clipping
};

// batch: int64 [batch, context + 1]; inputs are its first `context` columns, targets the last `context`.
// bf16Autocast runs the forward pass's matrix products in bf16 (CPU autocast) while the weights, gradients
// and optimizer state stay fp32. A non-finite loss throws InvalidInput (the run diverged).
TrainStepResult trainStep(model::TransformerImpl& model, const AdamW::NamedParameters& parameters,
                          AdamW& optimizer, const at::Tensor& batch, double learningRate, double gradientClip,
                          bool bf16Autocast);

}  // namespace dha::training
