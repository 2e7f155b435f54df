// In-memory tiny models for tests: a Transformer with seeded random weights (see test_models.h for configs).
#pragma once

#include <cstdint>

#include "dha/model_config.h"
#include "model/transformer.h"

namespace dha::test {

// Fills every parameter from a CPU generator seeded with `seed`, in named_parameters() order, so the same
// seed gives the same weights at any dtype and device: embeddings N(0, 1), projections N(0, 1/in_features),
// biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2).
void randomizeWeights(model::Transformer& model, uint64_t seed);

model::Transformer makeTinyModel(const ModelConfig& config, uint64_t seed,
                                 const model::TransformerOptions& options = {});

}  // namespace dha::test
