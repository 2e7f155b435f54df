// serializeModelConfig: ModelConfig -> config.json text, keeping the fields this struct does not model.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "dha/model_config.h"

namespace dha {
namespace {

using Json = nlohmann::ordered_json;  // keeps the source file's key order, so a diff shows only real changes

[[noreturn]] void failUsage(const std::string& message) { fail(ErrorCode::Usage, "config.json", message); }

// What num_key_value_heads says. A uniform layout writes its own group count, so stock runtimes load the
// weights as they are. A non-uniform (DHA) layout cannot be described by one count: stock runtimes cannot
// load it whatever we write, so we keep the source's count (what the model was converted from), else the
// config's own count, else the smallest valid count that covers every layer; all of these divide the query
// heads, so the file stays a valid Llama-family config for tools that ignore the `dha` object.
int writtenKeyValueHeads(const ModelConfig& config) {
    const int heads = config.numQueryHeads;
    if (config.isUniform()) return config.layers.front().numKeyHeads;
    const auto valid = [heads](int count) { return count >= 1 && count <= heads && heads % count == 0; };
    if (config.dhaSource && valid(config.dhaSource->sourceNumKeyValueHeads)) {
        return config.dhaSource->sourceNumKeyValueHeads;
    }
    if (valid(config.numKeyValueHeads)) return config.numKeyValueHeads;
    int widest = 1;
    for (const auto& layer : config.layers)
        widest = std::max({widest, layer.numKeyHeads, layer.numValueHeads});
    while (!valid(widest)) ++widest;  // terminates: heads itself is valid
    return widest;
}

void writeRopeScaling(Json& json, const RopeScaling& scaling) {
    const auto it = json.find("rope_scaling");
    if (scaling.type == RopeScalingType::None) {
        if (it == json.end() || it->is_null()) return;
        const bool isDefault =
            it->is_object() && (it->value("rope_type", "") == "default" ||
                                (!it->contains("rope_type") && it->value("type", "") == "default"));
        if (!isDefault) json["rope_scaling"] = nullptr;
        return;
    }
    Json object = (it != json.end() && it->is_object()) ? *it : Json::object();
    // Both spellings: transformers reads rope_type, older readers (and llama.cpp's converter) read type.
    object["type"] = "linear";
    object["rope_type"] = "linear";
    object["factor"] = scaling.factor;
    json["rope_scaling"] = object;
}

void writeBiases(Json& json, const ModelConfig& config) {
    if (config.modelType == "llama") {
        if (config.attentionBias != config.outputBias) {
            failUsage("llama's attention_bias covers q/k/v and o together; they cannot differ");
        }
        json["attention_bias"] = config.attentionBias;
    } else if (config.modelType == "qwen2") {
        if (!config.attentionBias || config.outputBias)
            failUsage("qwen2 always has q/k/v biases and no o_proj bias");
    } else if (config.attentionBias || config.outputBias) {
        failUsage(config.modelType + " has no attention biases");
    }
}

void writeSlidingWindow(Json& json, const ModelConfig& config) {
    if (config.modelType != "mistral") {
        if (config.slidingWindow) failUsage("only mistral configs carry a sliding window");
        return;
    }
    if (config.slidingWindow) {
        json["sliding_window"] = *config.slidingWindow;
        return;
    }
    // An explicit window at least as long as the context means "full attention" already; keep it as written.
    const auto it = json.find("sliding_window");
    const bool keep =
        it != json.end() && it->is_number_integer() && it->get<int64_t>() >= config.maxPositionEmbeddings;
    if (!keep) json["sliding_window"] = nullptr;  // absent would mean MistralConfig's default of 4096
}

void writeTokenIds(Json& json, const ModelConfig& config) {
    if (config.bosTokenId) {
        json["bos_token_id"] = *config.bosTokenId;
    } else if (json.contains("bos_token_id")) {
        json["bos_token_id"] = nullptr;
    }
    const auto eos = json.find("eos_token_id");
    const bool keepList = config.eosTokenId && eos != json.end() && eos->is_array() && !eos->empty() &&
                          (*eos)[0] == *config.eosTokenId;  // the parser keeps only the first of a list
    if (keepList) return;
    if (config.eosTokenId) {
        json["eos_token_id"] = *config.eosTokenId;
    } else if (eos != json.end()) {
        json["eos_token_id"] = nullptr;
    }
}

Json dhaObject(const Json* existing, const ModelConfig& config, int bytesPerElement) {
    Json dha = (existing != nullptr && existing->is_object()) ? *existing : Json::object();
    dha["format_version"] = 1;
    Json keyCounts = Json::array(), valueCounts = Json::array(), keyMaps = Json::array(),
         valueMaps = Json::array();
    for (const auto& layer : config.layers) {
        keyCounts.push_back(layer.numKeyHeads);
        valueCounts.push_back(layer.numValueHeads);
        keyMaps.push_back(layer.keyHeadOfQuery);
        valueMaps.push_back(layer.valueHeadOfQuery);
    }
    dha["num_key_heads"] = keyCounts;
    dha["num_value_heads"] = valueCounts;
    dha["key_head_of_query"] = keyMaps;
    dha["value_head_of_query"] = valueMaps;
    if (config.dhaSource) {
        dha["source_model"] = {{"fingerprint", config.dhaSource->fingerprint},
                               {"num_key_value_heads", config.dhaSource->sourceNumKeyValueHeads}};
    } else {
        dha.erase("source_model");
        dha.erase("source_kv_bytes_per_token");
    }
    dha["kv_bytes_per_token"] = kvBytesPerToken(config, bytesPerElement);
    if (config.dhaSource) dha["source_kv_bytes_per_token"] = config.dhaSource->sourceKvBytesPerToken;
    return dha;
}

std::string serializeChecked(const ModelConfig& config) {
    if (static_cast<int>(config.layers.size()) != config.numLayers || config.numQueryHeads < 1) {
        failUsage("config has " + std::to_string(config.layers.size()) + " layer layouts for " +
                  std::to_string(config.numLayers) + " layers");
    }
    for (size_t layer = 0; layer < config.layers.size(); ++layer) {
        validateHeadLayout(config.layers[layer], config.numQueryHeads,
                           "config.json layer " + std::to_string(layer));
    }
    const int bytesPerElement = torchDtypeBytes(config.torchDtype);
    if (bytesPerElement == 0) failUsage("torch_dtype '" + config.torchDtype + "' is not supported");

    Json json = Json::object();
    if (!config.originalJson.empty()) {
        json = Json::parse(config.originalJson, nullptr, /*allow_exceptions=*/false);
        if (!json.is_object()) failUsage("originalJson is not a JSON object");
    }
    json["model_type"] = config.modelType;
    json["hidden_size"] = config.hiddenSize;
    json["num_hidden_layers"] = config.numLayers;
    json["num_attention_heads"] = config.numQueryHeads;
    const int keyValueHeads = writtenKeyValueHeads(config);
    json["num_key_value_heads"] = keyValueHeads;
    // head_dim only where the source had it or it differs from the default, so a plain Llama config stays
    // plain.
    const bool defaultHeadDim = config.hiddenSize % config.numQueryHeads == 0 &&
                                config.headDim == config.hiddenSize / config.numQueryHeads;
    const auto headDim = json.find("head_dim");
    if (!defaultHeadDim || (headDim != json.end() && !headDim->is_null())) json["head_dim"] = config.headDim;
    json["intermediate_size"] = config.intermediateSize;
    json["vocab_size"] = config.vocabSize;
    json["max_position_embeddings"] = config.maxPositionEmbeddings;
    json["rms_norm_eps"] = config.rmsNormEps;
    json["rope_theta"] = config.ropeTheta;
    writeRopeScaling(json, config.ropeScaling);
    json["tie_word_embeddings"] = config.tieWordEmbeddings;
    writeBiases(json, config);
    writeSlidingWindow(json, config);
    json[json.contains("dtype") && !json.contains("torch_dtype") ? "dtype" : "torch_dtype"] =
        config.torchDtype;
    writeTokenIds(json, config);

    bool needsDha = config.dhaSource.has_value();
    for (const auto& layer : config.layers) {
        needsDha = needsDha || layer != HeadLayout::gqa(config.numQueryHeads, keyValueHeads);
    }
    if (needsDha) {
        const auto existing = json.find("dha");
        json["dha"] = dhaObject(existing == json.end() ? nullptr : &*existing, config, bytesPerElement);
    } else {
        json.erase("dha");  // a stale object would contradict num_key_value_heads
    }
    return json.dump(2) + "\n";
}

}  // namespace

std::string serializeModelConfig(const ModelConfig& config) {
    try {
        return serializeChecked(config);
    } catch (
        const nlohmann::json::exception& error) {  // originalJson of an unexpected shape, or non-UTF-8 text
        failUsage(std::string("cannot write the config: ") + error.what());
    }
}

}  // namespace dha
