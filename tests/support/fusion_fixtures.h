// Tiny source models and plans for the fusion and export tests: 8 query heads, decoupled and GQA-shaped
// plans.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

#include "dha/error.h"
#include "dha/head_layout.h"
#include "dha/model_config.h"
#include "dha/plan.h"
#include "model/transformer.h"
#include "test_models.h"

namespace dha::test {

// 2 layers, hidden 32, 8 query heads of width 4, vocabulary 64.
TinyModelShape fusionShape();
// An MHA llama config of that shape; `biased` gives q/k/v (and o) projections biases.
ModelConfig fusionSourceConfig(bool biased = false);

Plan planOfLayouts(const std::vector<HeadLayout>& layouts);
// Every head its own group.
Plan mhaFusionPlan();
// exampleDhaLayouts(8, 2): per layer different key and value groupings, non-contiguous groups of unequal
// size; each group's members listed in descending order and the groups reversed, so nothing may rely on a
// canonical order. Layer 0: 4 key heads, 6 value heads; layer 1: 3 key heads, 4 value heads.
Plan decoupledFusionPlan();
// Keys and values share 2 equal, non-contiguous groups per layer (different in each layer), numbered
// differently for values than for keys, members unsorted.
Plan sharedEqualPlan();
// Keys and values share groups in both layers, but layer 1's are unequal: [0] [1 2 3] [4 5] [6 7].
Plan sharedUnequalPlan();
// Keys and values share adjacent equal groups: 2 in layer 0, 4 in layer 1.
Plan mixedCountPlan();

// A fixed batch of tokens [2, 12] inside `vocabSize`.
at::Tensor fixedTokens(int vocabSize);
// float32 logits without autograd.
at::Tensor logitsOf(const model::Transformer& model, const at::Tensor& tokens);
double maxAbsDifference(const at::Tensor& a, const at::Tensor& b);

// The dha::Error a call throws; code Internal with message "no error" when it returns normally.
Error thrownError(const std::function<void()>& call);

}  // namespace dha::test
