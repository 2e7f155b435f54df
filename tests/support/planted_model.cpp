// Planted-structure checkpoints for the analysis and planning tests.
#include "planted_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "model/model_writer.h"
#include "tiny_model_weights.h"

namespace dha::test {
namespace {

// A random partition of {0..heads-1} into `count` non-empty groups, canonical form.
HeadGroups drawGroups(std::mt19937_64& rng, int heads, int count) {
    std::vector<int> order(static_cast<size_t>(heads));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    HeadGroups groups(static_cast<size_t>(count));
    for (int i = 0; i < heads; ++i) {
        // The first `count` heads of the shuffled order found the groups, so none is empty.
        const int group = i < count ? i : static_cast<int>(rng() % static_cast<uint64_t>(count));
        groups[static_cast<size_t>(group)].push_back(order[static_cast<size_t>(i)]);
    }
    for (std::vector<int>& group : groups) std::sort(group.begin(), group.end());
    std::sort(groups.begin(), groups.end());
    return groups;
}

int drawCount(std::mt19937_64& rng, int heads) {
    const int most = std::max(2, heads / 2);
    return 2 + static_cast<int>(rng() % static_cast<uint64_t>(most - 1));
}

// Overwrites the rows of `weight` ([heads * headDim, hidden]) so head h = s_h * Q_h * prototype[group of h].
void plant(at::Tensor weight, const HeadGroups& groups, int64_t headDim, at::Generator& generator) {
    const int64_t hidden = weight.size(1);
    for (const std::vector<int>& group : groups) {
        const at::Tensor prototype =  // [headDim, hidden]
            at::randn({headDim, hidden}, generator, at::kFloat) / std::sqrt(static_cast<double>(hidden));
        for (const int head : group) {
            const at::Tensor rotation =
                std::get<0>(at::linalg_qr(at::randn({headDim, headDim}, generator, at::kFloat)));
            const double scale = 0.5 + 1.5 * at::rand({1}, generator, at::kDouble).item<double>();
            weight.narrow(0, head * headDim, headDim).copy_(scale * at::mm(rotation, prototype));
        }
    }
}

}  // namespace

PlantedModel writePlantedModel(const std::filesystem::path& dir, const PlantedModelSpec& spec) {
    const ModelConfig config = tinyConfig(spec.shape);
    model::Transformer model = makeTinyModel(config, spec.seed);
    std::mt19937_64 rng(spec.seed);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(spec.seed + 0x5eed);
    at::NoGradGuard noGrad;

    PlantedModel planted;
    planted.config = config;
    planted.plan.sourceHeads = config.numQueryHeads;
    for (int layer = 0; layer < config.numLayers; ++layer) {
        LayerPlan groups;
        groups.keyGroups = drawGroups(rng, config.numQueryHeads, drawCount(rng, config.numQueryHeads));
        do {  // the key and value groupings of a layer are unrelated; make sure they differ
            groups.valueGroups = drawGroups(rng, config.numQueryHeads, drawCount(rng, config.numQueryHeads));
        } while (groups.valueGroups == groups.keyGroups);
        auto& attention = model->layer(layer)->selfAttn;
        plant(attention->kProj->weight(), groups.keyGroups, config.headDim, generator);
        plant(attention->vProj->weight(), groups.valueGroups, config.headDim, generator);
        planted.plan.layers.push_back(std::move(groups));
    }
    model::saveModel(dir, config, model, spec.dtype);
    return planted;
}

}  // namespace dha::test
