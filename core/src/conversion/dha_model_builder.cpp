// Compact DHA, uncollapsed fused and mean-pooled models from a source model and fusion weights.
#include "conversion/dha_model_builder.h"

#include <map>
#include <string>

#include "dha/error.h"
#include "model/tensor_names.h"

namespace dha::conversion {
namespace {

using Replacements = std::map<std::string, at::Tensor>;  // parameter name -> its new value

// Fills every parameter of `target` from `replacements`, else from the parameter of the same name in
// `source`; every shape must match exactly.
void fillParameters(model::Transformer& target, const model::Transformer& source,
                    const Replacements& replacements) {
    at::NoGradGuard noGrad;
    const auto sourceParameters = source->named_parameters();
    size_t used = 0;
    for (auto& item : target->named_parameters()) {
        const auto replacement = replacements.find(item.key());
        const at::Tensor* value = nullptr;
        if (replacement != replacements.end()) {
            value = &replacement->second;
            ++used;
        } else {
            value = sourceParameters.find(item.key());
        }
        if (value == nullptr || !value->defined() || value->sizes() != item.value().sizes()) {
            fail(ErrorCode::Internal, item.key(),
                 value == nullptr || !value->defined()
                     ? "no value for this parameter of the new model"
                     : "the new value's shape does not match the new model");
        }
        item.value().copy_(*value);
    }
    if (used != replacements.size()) {
        fail(ErrorCode::Internal, "model builder",
             "some replacement tensors name no parameter of the new model");
    }
}

void addProjection(Replacements& replacements, int layer, const char* name, const ProjectionWeights& weights,
                   bool hasBias) {
    const std::string prefix = std::string("self_attn.") + name;
    if (!weights.weight.defined() || weights.bias.defined() != hasBias) {
        fail(ErrorCode::Internal, model::layerTensor(layer, prefix),
             hasBias ? "the model has q/k/v biases but no bias was given"
                     : "a bias was given for a model without q/k/v biases");
    }
    replacements[model::layerTensor(layer, prefix + ".weight")] = weights.weight;
    if (hasBias) replacements[model::layerTensor(layer, prefix + ".bias")] = weights.bias;
}

}  // namespace

ModelConfig dhaModelConfig(const ModelConfig& source, const Plan& plan) {
    validatePlan(plan, source.numLayers, source.numQueryHeads, "plan");
    ModelConfig config = source;
    config.layers = plan.layouts();
    config.dhaSource.reset();
    config.numKeyValueHeads =
        config.isUniform() ? config.layers.front().numKeyHeads : source.numKeyValueHeads;
    return config;
}

model::Transformer buildDhaModel(const model::Transformer& source, const Plan& plan,
                                 const std::vector<CollapsedLayer>& collapsed) {
    const ModelConfig config = dhaModelConfig(source->config(), plan);
    if (static_cast<int>(collapsed.size()) != config.numLayers) {
        fail(ErrorCode::Internal, "model builder",
             std::to_string(collapsed.size()) + " collapsed layers for a model of " +
                 std::to_string(config.numLayers) + " layers");
    }
    Replacements replacements;
    for (int layer = 0; layer < config.numLayers; ++layer) {
        const CollapsedLayer& projections = collapsed[static_cast<size_t>(layer)];
        addProjection(replacements, layer, "k_proj", projections.key, config.attentionBias);
        addProjection(replacements, layer, "v_proj", projections.value, config.attentionBias);
    }
    return rebuildModel(source, config, replacements);  // checks each collapsed shape against the plan
}

model::Transformer buildFusedModel(const FusionWeights& fusion) {
    const model::Transformer& source = fusion.source();
    const ModelConfig& config = source->config();
    Replacements replacements;
    {
        at::NoGradGuard noGrad;
        for (int layer = 0; layer < config.numLayers; ++layer) {
            addProjection(replacements, layer, "k_proj", fusion.fusedProjection(layer, HeadKind::Key),
                          config.attentionBias);
            addProjection(replacements, layer, "v_proj", fusion.fusedProjection(layer, HeadKind::Value),
                          config.attentionBias);
        }
    }
    return rebuildModel(source, config, replacements);
}

model::Transformer buildMeanPoolModel(const model::Transformer& source, const Plan& plan) {
    const FusionWeights uniform(source, plan, FusionInit::Uniform);
    return buildDhaModel(source, plan, uniform.collapse());
}

model::Transformer cloneModel(const model::Transformer& source) {
    return rebuildModel(source, source->config(), {});
}

model::Transformer rebuildModel(const model::Transformer& source, const ModelConfig& config,
                                const Replacements& replacements) {
    model::TransformerOptions options;
    options.dtype = source->dtype();
    options.device = source->device();
    model::Transformer result(config, options);
    fillParameters(result, source, replacements);
    return result;
}

}  // namespace dha::conversion
