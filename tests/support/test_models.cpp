// Tiny seeded models and model directories shared by the engine and CLI tests.
#include "test_models.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "model/model_writer.h"
#include "tiny_model_weights.h"

namespace dha::test {

ModelConfig tinyConfig(const TinyModelShape& shape) {
    ModelConfig config;
    config.modelType = "llama";
    config.hiddenSize = shape.hiddenSize;
    config.numLayers = shape.numLayers;
    config.numQueryHeads = shape.numQueryHeads;
    config.numKeyValueHeads = shape.numQueryHeads;
    config.headDim = shape.headDim;
    config.intermediateSize = shape.intermediateSize;
    config.vocabSize = shape.vocabSize;
    config.maxPositionEmbeddings = shape.maxPositionEmbeddings;
    config.rmsNormEps = 1e-5;
    config.ropeTheta = 10000.0;
    config.torchDtype = "float32";
    config.layers.assign(static_cast<size_t>(shape.numLayers), HeadLayout::mha(shape.numQueryHeads));
    return config;
}

ModelConfig withLayouts(ModelConfig config, std::vector<HeadLayout> layouts) {
    config.layers = std::move(layouts);
    config.numLayers = static_cast<int>(config.layers.size());
    config.dhaSource.reset();
    if (config.isUniform()) {
        config.numKeyValueHeads = config.layers.front().numKeyHeads;
    } else {
        DhaSourceInfo source;
        source.fingerprint = "tiny-test-source";
        source.sourceNumKeyValueHeads = config.numQueryHeads;
        source.sourceKvBytesPerToken =
            static_cast<int64_t>(config.numLayers) * 2 * config.numQueryHeads * config.headDim * 4;
        config.dhaSource = source;
        config.numKeyValueHeads = config.numQueryHeads;
    }
    return config;
}

std::vector<HeadLayout> exampleDhaLayouts(int numQueryHeads, int numLayers) {
    // query head i -> (stride * i + shift) mod count is onto whenever stride and count are coprime, and it
    // interleaves heads, so groups are neither contiguous nor (in general) equal in size.
    const auto map = [numQueryHeads](int count, int stride, int shift) {
        std::vector<int> headOfQuery;
        for (int query = 0; query < numQueryHeads; ++query)
            headOfQuery.push_back((stride * query + shift) % count);
        return headOfQuery;
    };
    const auto coprimeCount = [](int count, int stride) {
        count = std::max(1, count);
        while (count > 1 && std::gcd(count, stride) != 1) --count;
        return count;
    };
    std::vector<HeadLayout> layouts;
    for (int layer = 0; layer < numLayers; ++layer) {
        HeadLayout layout;
        layout.numKeyHeads = coprimeCount(numQueryHeads / 2 - layer % 2, 7);
        layout.numValueHeads = coprimeCount((3 * numQueryHeads) / 4 - layer % 3, 5);
        layout.keyHeadOfQuery = map(layout.numKeyHeads, 7, layer);
        layout.valueHeadOfQuery = map(layout.numValueHeads, 5, 2 * layer + 1);
        layouts.push_back(std::move(layout));
    }
    return layouts;
}

ModelConfig tinyDhaConfig(const TinyModelShape& shape) {
    return withLayouts(tinyConfig(shape), exampleDhaLayouts(shape.numQueryHeads, shape.numLayers));
}

void randomizeWeights(model::Transformer& model, uint64_t seed) {
    at::NoGradGuard noGrad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto endsWith = [](const std::string& name, const std::string& suffix) {
        return name.size() >= suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (auto& item : model->named_parameters()) {
        const std::string& name = item.key();
        at::Tensor& parameter = item.value();
        at::Tensor values = at::randn(parameter.sizes(), generator, at::kFloat);
        if (endsWith(name, "layernorm.weight") || name == "model.norm.weight") {
            values = 1.0 + 0.1 * values;
        } else if (endsWith(name, ".bias")) {
            values = 0.1 * values;
        } else if (name != "model.embed_tokens.weight") {
            values = values / std::sqrt(static_cast<double>(parameter.size(1)));
        }
        parameter.copy_(values);
    }
}

model::Transformer makeTinyModel(const ModelConfig& config, uint64_t seed,
                                 const model::TransformerOptions& options) {
    model::Transformer model(config, options);
    randomizeWeights(model, seed);
    return model;
}

void writeTinyModel(const std::filesystem::path& dir, const ModelConfig& config, uint64_t seed,
                    io::DType dtype) {
    model::Transformer model = makeTinyModel(config, seed);
    model::saveModel(dir, config, model, dtype);
}

}  // namespace dha::test
