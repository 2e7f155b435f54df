// Building models from a source and fusion weights: the compact DHA model after collapse, the uncollapsed
// fused model (source shapes, fused K/V), and the mean-pool conversion (the GQA uptraining initialisation).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "conversion/fusion_weights.h"
#include "dha/model_config.h"
#include "dha/plan.h"
#include "model/transformer.h"

namespace dha::conversion {

// The source config with one HeadLayout per layer from plan.layouts() (key head g = key group g).
// num_key_value_heads is the group count when every layer is the same contiguous GQA layout, else the
// source's. No dhaSource: the export, which knows the source directory, sets it.
ModelConfig dhaModelConfig(const ModelConfig& source, const Plan& plan);

// The compact DHA model: every tensor copied from `source` except k_proj/v_proj (and their biases), which
// come from `collapsed` (one entry per layer, shapes checked against the plan). Same dtype and device as the
// source; the new parameters are independent copies. With identity fusion weights on singleton groups (an
// MHA plan) the result equals the source.
model::Transformer buildDhaModel(const model::Transformer& source, const Plan& plan,
                                 const std::vector<CollapsedLayer>& collapsed);

// A copy of the fusion weights' source with every k_proj/v_proj replaced by the fused projections: the
// uncollapsed fused model as it stands (for held-out loss before collapse, and for tests).
model::Transformer buildFusedModel(const FusionWeights& fusion);

// Mean-pool conversion: collapse with uniform fusion weights (every entry 1/|G|). On adjacent equal groups
// shared by keys and values this is exactly the GQA mean-pool initialisation (P2).
model::Transformer buildMeanPoolModel(const model::Transformer& source, const Plan& plan);

// A copy of `source` with the same config, dtype and device (parameters copied, not shared).
model::Transformer cloneModel(const model::Transformer& source);

// A new model of `config` (the source's dtype and device) whose parameters come from `replacements` (by
// Hugging Face name) or else from the source parameter of the same name. Every parameter must be found with
// exactly its shape and every replacement must be used: a mismatch is an Internal error naming the tensor.
model::Transformer rebuildModel(const model::Transformer& source, const ModelConfig& config,
                                const std::map<std::string, at::Tensor>& replacements);

}  // namespace dha::conversion
