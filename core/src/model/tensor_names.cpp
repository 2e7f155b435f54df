// The Hugging Face tensor-name table and the shapes a ModelConfig implies.
#include "model/tensor_names.h"

namespace dha::model {

std::string layerTensor(int layer, const std::string& suffix) {
    return "model.layers." + std::to_string(layer) + "." + suffix;
}

std::vector<ExpectedTensor> expectedTensors(const ModelConfig& config) {
    const int64_t hidden = config.hiddenSize;
    const int64_t headDim = config.headDim;
    const int64_t queryWidth = static_cast<int64_t>(config.numQueryHeads) * headDim;
    std::vector<ExpectedTensor> tensors;
    tensors.push_back({kEmbedTokensName, {config.vocabSize, hidden}});
    for (int layer = 0; layer < static_cast<int>(config.layers.size()); ++layer) {
        const HeadLayout& layout = config.layers[static_cast<size_t>(layer)];
        const auto add = [&](const char* suffix, std::vector<int64_t> shape) {
            tensors.push_back({layerTensor(layer, suffix), std::move(shape)});
        };
        const int64_t keyWidth = layout.numKeyHeads * headDim;
        const int64_t valueWidth = layout.numValueHeads * headDim;
        add("self_attn.q_proj.weight", {queryWidth, hidden});
        if (config.attentionBias) add("self_attn.q_proj.bias", {queryWidth});
        add("self_attn.k_proj.weight", {keyWidth, hidden});
        if (config.attentionBias) add("self_attn.k_proj.bias", {keyWidth});
        add("self_attn.v_proj.weight", {valueWidth, hidden});
        if (config.attentionBias) add("self_attn.v_proj.bias", {valueWidth});
        add("self_attn.o_proj.weight", {hidden, queryWidth});
        if (config.outputBias) add("self_attn.o_proj.bias", {hidden});
        add("mlp.gate_proj.weight", {config.intermediateSize, hidden});
        add("mlp.up_proj.weight", {config.intermediateSize, hidden});
        add("mlp.down_proj.weight", {hidden, config.intermediateSize});
        add("input_layernorm.weight", {hidden});
        add("post_attention_layernorm.weight", {hidden});
    }
    tensors.push_back({kFinalNormName, {hidden}});
    if (!config.tieWordEmbeddings) tensors.push_back({kLmHeadName, {config.vocabSize, hidden}});
    return tensors;
}

bool isIgnoredTensor(const std::string& name, const ModelConfig& config) {
    static const std::string kRotarySuffix = ".rotary_emb.inv_freq";
    const bool rotary =
        name.size() > kRotarySuffix.size() &&
        name.compare(name.size() - kRotarySuffix.size(), kRotarySuffix.size(), kRotarySuffix) == 0;
    return rotary || (config.tieWordEmbeddings && name == kLmHeadName);
}

std::string shapeToString(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

}  // namespace dha::model
