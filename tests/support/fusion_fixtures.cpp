// Fixtures for the fusion and export tests.
#include "fusion_fixtures.h"

#include <algorithm>

namespace dha::test {

TinyModelShape fusionShape() {
    TinyModelShape shape;
    shape.numLayers = 2;
    shape.hiddenSize = 32;
    shape.numQueryHeads = 8;
    shape.headDim = 4;
    shape.intermediateSize = 48;
    shape.vocabSize = 64;
    return shape;
}

ModelConfig fusionSourceConfig(bool biased) {
    ModelConfig config = tinyConfig(fusionShape());
    config.attentionBias = biased;
    config.outputBias = biased;
    return config;
}

Plan planOfLayouts(const std::vector<HeadLayout>& layouts) {
    Plan plan;
    plan.sourceHeads = layouts.front().numQueryHeads();
    for (const HeadLayout& layout : layouts) plan.layers.push_back(LayerPlan::fromLayout(layout));
    return plan;
}

Plan mhaFusionPlan() {
    const TinyModelShape shape = fusionShape();
    return planOfLayouts(
        std::vector<HeadLayout>(static_cast<size_t>(shape.numLayers), HeadLayout::mha(shape.numQueryHeads)));
}

Plan decoupledFusionPlan() {
    const TinyModelShape shape = fusionShape();
    Plan plan = planOfLayouts(exampleDhaLayouts(shape.numQueryHeads, shape.numLayers));
    for (LayerPlan& layer : plan.layers) {
        for (HeadGroups* groups : {&layer.keyGroups, &layer.valueGroups}) {
            std::reverse(groups->begin(), groups->end());
            for (auto& group : *groups) std::reverse(group.begin(), group.end());
        }
    }
    return plan;
}

Plan sharedEqualPlan() {
    Plan plan;
    plan.sourceHeads = 8;
    plan.layers.push_back({{{5, 0, 3, 6}, {1, 2, 4, 7}}, {{7, 4, 2, 1}, {0, 3, 5, 6}}});
    plan.layers.push_back({{{6, 1, 7, 0}, {5, 2, 4, 3}}, {{2, 3, 4, 5}, {0, 1, 6, 7}}});
    return plan;
}

Plan sharedUnequalPlan() {
    Plan plan;
    plan.sourceHeads = 8;
    const HeadGroups equal = {{0, 1, 2, 3}, {4, 5, 6, 7}};
    const HeadGroups unequal = {{0}, {1, 2, 3}, {4, 5}, {6, 7}};
    plan.layers.push_back({equal, equal});
    plan.layers.push_back({unequal, unequal});
    return plan;
}

Plan mixedCountPlan() {
    const TinyModelShape shape = fusionShape();
    return planOfLayouts({HeadLayout::gqa(shape.numQueryHeads, 2), HeadLayout::gqa(shape.numQueryHeads, 4)});
}

at::Tensor fixedTokens(int vocabSize) {
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < 24; ++i) ids.push_back((5 + 37 * i + (i * i) % 11) % vocabSize);
    return at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({2, 12});
}

at::Tensor logitsOf(const model::Transformer& model, const at::Tensor& tokens) {
    at::NoGradGuard noGrad;
    return model->forward(tokens);
}

double maxAbsDifference(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

Error thrownError(const std::function<void()>& call) {
    try {
        call();
    } catch (const Exception& error) {
        return error.error();
    }
    return Error{ErrorCode::Internal, {}, "no error", {}};
}

}  // namespace dha::test
