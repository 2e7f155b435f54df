// ModelConfig queries, KV-size helpers and loading config.json from disk.
#include "dha/model_config.h"

#include "io/atomic_file.h"

namespace dha {

bool ModelConfig::isMha() const {
    if (layers.empty()) return false;
    for (const auto& layer : layers) {
        if (!layer.isMha()) return false;
    }
    return true;
}

bool ModelConfig::isUniform() const {
    if (layers.empty() || !layers.front().isContiguousGqa()) return false;
    for (const auto& layer : layers) {
        if (layer != layers.front()) return false;
    }
    return true;
}

int64_t ModelConfig::kvElementsPerToken() const {
    int64_t total = 0;
    for (const auto& layer : layers) total += dha::kvElementsPerToken(layer, headDim);
    return total;
}

bool operator==(const ModelConfig& a, const ModelConfig& b) {
    return a.modelType == b.modelType && a.hiddenSize == b.hiddenSize && a.numLayers == b.numLayers &&
           a.numQueryHeads == b.numQueryHeads && a.numKeyValueHeads == b.numKeyValueHeads &&
           a.headDim == b.headDim && a.intermediateSize == b.intermediateSize && a.vocabSize == b.vocabSize &&
           a.maxPositionEmbeddings == b.maxPositionEmbeddings && a.rmsNormEps == b.rmsNormEps &&
           a.ropeTheta == b.ropeTheta && a.ropeScaling == b.ropeScaling &&
           a.tieWordEmbeddings == b.tieWordEmbeddings && a.attentionBias == b.attentionBias &&
           a.outputBias == b.outputBias && a.slidingWindow == b.slidingWindow &&
           a.torchDtype == b.torchDtype && a.bosTokenId == b.bosTokenId && a.eosTokenId == b.eosTokenId &&
           a.layers == b.layers && a.dhaSource == b.dhaSource;
}

int torchDtypeBytes(const std::string& torchDtype) {
    if (torchDtype == "float32") return 4;
    if (torchDtype == "bfloat16" || torchDtype == "float16") return 2;
    if (torchDtype == "float64") return 8;
    return 0;
}

int64_t kvBytesPerToken(const ModelConfig& config, int bytesPerElement) {
    return config.kvElementsPerToken() * bytesPerElement;
}

ModelConfig loadModelConfig(const std::filesystem::path& configJsonPath) {
    // A config with a dha object for 1024 layers x 1024 heads is ~10 MB of text; 64 MB is generous.
    return parseModelConfig(io::readSmallFile(configJsonPath), configJsonPath.string());
}

}  // namespace dha
