// `dha inspect DIR`: architecture, per-layer query/key/value heads, parameters, dtype and KV cache cost.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/model_info.h"
#include "embedded_defaults.h"

namespace dha::cli {
namespace {

nlohmann::json toJson(const ModelInfo& info) {
    const ModelConfig& config = info.config;
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < info.layers.size(); ++i) {
        const LayerHeadsInfo& layer = info.layers[i];
        layers.push_back({{"layer", i},
                          {"query_heads", layer.queryHeads},
                          {"key_heads", layer.keyHeads},
                          {"value_heads", layer.valueHeads},
                          {"kv_bytes_per_token", layer.kvBytesPerToken},
                          {"source_kv_bytes_per_token", layer.sourceKvBytesPerToken}});
    }
    return {{"directory", info.directory.string()},
            {"model_type", config.modelType},
            {"architecture", info.architecture},
            {"num_layers", config.numLayers},
            {"hidden_size", config.hiddenSize},
            {"num_query_heads", config.numQueryHeads},
            {"head_dim", config.headDim},
            {"intermediate_size", config.intermediateSize},
            {"vocab_size", config.vocabSize},
            {"max_position_embeddings", config.maxPositionEmbeddings},
            {"rope_theta", config.ropeTheta},
            {"tie_word_embeddings", config.tieWordEmbeddings},
            {"parameters", info.parameterCount},
            {"weight_bytes", info.weightBytes},
            {"weight_dtype", info.weightDtype},
            {"weight_files", info.weightFiles},
            {"tokenizer", info.tokenizerDescription},
            {"kv_bytes_per_element", info.kvBytesPerElement},
            {"kv_bytes_per_token", info.kvBytesPerToken},
            {"kv_bytes_per_1k_tokens", info.kvBytesPerToken * 1024},
            {"source_kv_bytes_per_token", info.sourceKvBytesPerToken},
            {"kv_saved_fraction", info.kvSavedFraction()},
            {"layers", layers}};
}

void printHuman(const ModelInfo& info) {
    const ModelConfig& config = info.config;
    std::cout << "Model        " << info.directory.string() << "\n"
              << "Type         " << config.modelType << ", " << info.architecture << "\n"
              << "Shape        " << config.numLayers << " layers, hidden " << config.hiddenSize << ", "
              << config.numQueryHeads << " query heads of width " << config.headDim << ", MLP "
              << config.intermediateSize << ", vocabulary " << config.vocabSize << ", context "
              << config.maxPositionEmbeddings << "\n"
              << "Parameters   " << formatCount(static_cast<double>(info.parameterCount)) << " ("
              << info.parameterCount << "), " << info.weightDtype << ", " << formatBytes(static_cast<double>(info.weightBytes))
              << " in " << info.weightFiles.size() << " file(s)\n"
              << "Embeddings   " << (config.tieWordEmbeddings ? "tied to the output layer" : "separate output layer")
              << (config.attentionBias ? ", attention bias" : "") << "\n"
              << "RoPE         theta " << config.ropeTheta
              << (config.ropeScaling.type == RopeScalingType::Linear
                      ? ", linear scaling x" + std::to_string(config.ropeScaling.factor)
                      : std::string(", no scaling"))
              << "\n"
              << "Tokenizer    " << (info.tokenizerDescription.empty() ? "none" : info.tokenizerDescription) << "\n";
    std::cout << "KV cache     " << info.kvBytesPerToken << " bytes per token, "
              << formatBytes(static_cast<double>(info.kvBytesPerToken) * 1024) << " per 1k-token sequence (16-bit)\n";
    char saved[32];
    std::snprintf(saved, sizeof saved, "%.1f%%", 100.0 * info.kvSavedFraction());
    std::cout << "Source KV    " << info.sourceKvBytesPerToken << " bytes per token; saved " << saved << "\n\n";

    std::cout << "layer  query heads  key heads  value heads  KV bytes/token  source KV bytes/token\n";
    for (size_t i = 0; i < info.layers.size(); ++i) {
        const LayerHeadsInfo& layer = info.layers[i];
        std::printf("%5zu  %11d  %9d  %11d  %14lld  %21lld\n", i, layer.queryHeads, layer.keyHeads, layer.valueHeads,
                    static_cast<long long>(layer.kvBytesPerToken), static_cast<long long>(layer.sourceKvBytesPerToken));
    }
    std::fflush(stdout);
}

}  // namespace

int runInspectCommand(int argc, char** argv) {
    ArgParser args("dha inspect", "Show a model's architecture, per-layer query/key/value heads, parameters, "
                                  "weight dtype and KV cache cost. Reads config.json and the safetensors "
                                  "headers only, so it is instant even for large models.");
    args.addPositional("DIR", "Hugging Face model directory (config.json, *.safetensors, tokenizer); default: the "
                             "embedded dha-teacher model", false);
    args.addFlag("json", "print machine-readable JSON instead of text");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    const std::filesystem::path modelDir = modelDirOrEmbedded(args.value("DIR"));
    TerminalSink sink(args.flag("json"));
    const auto result = runInspectJob(modelDir, sink);
    if (!result.ok()) return reportFailure("dha inspect", result);
    if (args.flag("json")) {
        std::cout << toJson(*result.value).dump(2) << "\n";
    } else {
        printHuman(*result.value);
    }
    return kExitOk;
}

}  // namespace dha::cli
