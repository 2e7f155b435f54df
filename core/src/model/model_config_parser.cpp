// parseModelConfig: Hugging Face config.json -> ModelConfig, with transformers' defaults and full validation.
#include <limits>

#include "dha/error.h"
#include "dha/model_config.h"
#include "io/json_reader.h"

namespace dha {
namespace {

using Json = nlohmann::json;

// Upper bounds far above any real model, so hostile sizes fail here instead of in an allocation.
constexpr int64_t kMaxHiddenSize = 65536;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxHeadDim = 1024;
constexpr int64_t kMaxIntermediateSize = 1 << 20;
constexpr int64_t kMaxVocabSize = 1 << 22;
constexpr int64_t kMaxPositions = 1 << 24;
constexpr int64_t kIntMax = std::numeric_limits<int>::max();
constexpr int64_t kIntMin = std::numeric_limits<int>::min();

// transformers' per-class defaults for the fields this struct models (LlamaConfig, MistralConfig,
// Qwen2Config).
struct ModelTypeDefaults {
    const char* modelType;
    int maxPositionEmbeddings;
    std::optional<int> slidingWindow;  // MistralConfig(sliding_window=4096) applies when the key is absent
};
constexpr ModelTypeDefaults kSupportedTypes[] = {
    {"llama", 2048, std::nullopt},
    {"mistral", 4096 * 32, 4096},
    {"qwen2", 32768, std::nullopt},
};

// Field access on one JSON object; every error names the file and the dotted key.
class Fields {
public:
    Fields(const Json& object, std::string path, std::string prefix = {})
        : m_object(object), m_path(std::move(path)), m_prefix(std::move(prefix)) {}

    // The value, or nullptr when the key is absent or null (transformers treats both as "use the default").
    const Json* find(const char* key) const {
        const auto it = m_object.find(key);
        return (it == m_object.end() || it->is_null()) ? nullptr : &*it;
    }
    const Json& require(const char* key) const {
        const Json* value = find(key);
        if (value == nullptr) failInput(m_path, name(key) + " is missing");
        return *value;
    }
    int integer(const char* key, int64_t min, int64_t max) const {
        return static_cast<int>(io::jsonInteger(require(key), m_path, name(key), min, max));
    }
    int integer(const char* key, int64_t min, int64_t max, int fallback) const {
        const Json* value = find(key);
        return value ? static_cast<int>(io::jsonInteger(*value, m_path, name(key), min, max)) : fallback;
    }
    double positive(const char* key, double fallback) const {
        const Json* value = find(key);
        if (value == nullptr) return fallback;
        const double number = io::jsonNumber(*value, m_path, name(key));
        if (number <= 0)
            failInput(m_path, name(key) + " is " + value->dump() + ", expected a positive number");
        return number;
    }
    bool boolean(const char* key, bool fallback) const {
        const Json* value = find(key);
        return value ? io::jsonBool(*value, m_path, name(key)) : fallback;
    }
    std::string name(const std::string& key) const { return m_prefix + key; }
    const std::string& path() const { return m_path; }

private:
    const Json& m_object;
    std::string m_path;
    std::string m_prefix;
};

RopeScaling parseRopeScaling(const Fields& fields) {
    const Json* value = fields.find("rope_scaling");
    if (value == nullptr) return {};
    io::jsonObject(*value, fields.path(), "rope_scaling");
    const Fields scaling(*value, fields.path(), "rope_scaling.");
    // transformers reads rope_type and falls back to the older spelling `type`.
    const char* typeKey = scaling.find("rope_type") ? "rope_type" : "type";
    const std::string& type = io::jsonString(scaling.require(typeKey), fields.path(), scaling.name(typeKey));
    if (type == "default") return {};
    if (type != "linear") {
        fail(ErrorCode::Unsupported, fields.path(),
             "rope_scaling type '" + io::printableExcerpt(type) +
                 "' is not supported (supported: default, linear)");
    }
    RopeScaling result;
    result.type = RopeScalingType::Linear;
    result.factor = io::jsonNumber(scaling.require("factor"), fields.path(), scaling.name("factor"));
    if (result.factor < 1.0) {
        failInput(fields.path(),
                  "rope_scaling.factor is " + scaling.require("factor").dump() + ", expected >= 1");
    }
    return result;
}

std::optional<int> parseTokenId(const Fields& fields, const char* key, int vocabSize) {
    const Json* value = fields.find(key);
    std::string name = key;
    if (value != nullptr &&
        value->is_array()) {  // e.g. Llama 3's several end-of-sequence ids: keep the first
        if (value->empty()) return std::nullopt;
        value = &(*value)[0];
        name += "[0]";
    }
    if (value == nullptr) return std::nullopt;
    return static_cast<int>(io::jsonInteger(*value, fields.path(), name, 0, vocabSize - 1));
}

std::vector<int> intArray(const Json& value, const std::string& path, const std::string& name,
                          size_t expected, const char* expectedWhat) {
    io::jsonArray(value, path, name);
    if (value.size() != expected) {
        failInput(path, name + " has " + std::to_string(value.size()) + " entries, expected " +
                            std::to_string(expected) + " (" + expectedWhat + ")");
    }
    std::vector<int> result;
    for (size_t i = 0; i < value.size(); ++i) {
        // Only the JSON type and int range here; validateHeadLayout judges the values.
        result.push_back(static_cast<int>(
            io::jsonInteger(value[i], path, name + "[" + std::to_string(i) + "]", kIntMin, kIntMax)));
    }
    return result;
}

void parseDha(const Json& dha, ModelConfig& config, const std::string& path) {
    io::jsonObject(dha, path, "dha");
    const Fields fields(dha, path, "dha.");
    const int version = fields.integer("format_version", kIntMin, kIntMax);
    if (version != 1) {
        fail(ErrorCode::Unsupported, path,
             "dha.format_version " + std::to_string(version) +
                 " is not supported (this build reads version 1)");
    }
    const auto layers = static_cast<size_t>(config.numLayers);
    const auto heads = static_cast<size_t>(config.numQueryHeads);
    const auto keyCounts =
        intArray(fields.require("num_key_heads"), path, "dha.num_key_heads", layers, "num_hidden_layers");
    const auto valueCounts =
        intArray(fields.require("num_value_heads"), path, "dha.num_value_heads", layers, "num_hidden_layers");
    const Json& keyMaps = fields.require("key_head_of_query");
    const Json& valueMaps = fields.require("value_head_of_query");
    for (const auto* maps : {&keyMaps, &valueMaps}) {
        const std::string name = maps == &keyMaps ? "dha.key_head_of_query" : "dha.value_head_of_query";
        io::jsonArray(*maps, path, name);
        if (maps->size() != layers) {
            failInput(path, name + " has " + std::to_string(maps->size()) + " entries, expected " +
                                std::to_string(layers) + " (num_hidden_layers)");
        }
    }
    config.layers.clear();
    for (size_t layer = 0; layer < layers; ++layer) {
        const std::string index = "[" + std::to_string(layer) + "]";
        HeadLayout layout;
        layout.numKeyHeads = keyCounts[layer];
        layout.numValueHeads = valueCounts[layer];
        layout.keyHeadOfQuery =
            intArray(keyMaps[layer], path, "dha.key_head_of_query" + index, heads, "num_attention_heads");
        layout.valueHeadOfQuery =
            intArray(valueMaps[layer], path, "dha.value_head_of_query" + index, heads, "num_attention_heads");
        try {
            validateHeadLayout(layout, config.numQueryHeads, path);
        } catch (const Exception& error) {
            failInput(path, "dha layer " + std::to_string(layer) + ": " + error.error().message);
        }
        config.layers.push_back(std::move(layout));
    }
    // kv_bytes_per_token is derived from the layout and dtype and rewritten on save; only its type is
    // checked.
    if (const Json* bytes = fields.find("kv_bytes_per_token")) {
        io::jsonInteger(*bytes, path, "dha.kv_bytes_per_token", 0, std::numeric_limits<int64_t>::max());
    }
    if (const Json* source = fields.find("source_model")) {
        io::jsonObject(*source, path, "dha.source_model");
        const Fields sourceFields(*source, path, "dha.source_model.");
        DhaSourceInfo info;
        info.formatVersion = version;
        if (const Json* fingerprint = sourceFields.find("fingerprint")) {
            info.fingerprint = io::jsonString(*fingerprint, path, "dha.source_model.fingerprint");
        }
        info.sourceNumKeyValueHeads = sourceFields.integer("num_key_value_heads", 1, config.numQueryHeads, 0);
        if (const Json* bytes = fields.find("source_kv_bytes_per_token")) {
            info.sourceKvBytesPerToken = io::jsonInteger(*bytes, path, "dha.source_kv_bytes_per_token", 0,
                                                         std::numeric_limits<int64_t>::max());
        }
        config.dhaSource = info;
    }
}

}  // namespace

ModelConfig parseModelConfig(const std::string& jsonText, const std::string& path) {
    const Json root = io::parseJsonStrict(jsonText, path);
    if (!root.is_object())
        failInput(path, std::string("top level is ") + io::jsonTypeName(root) + ", expected a JSON object");
    const Fields fields(root, path);
    ModelConfig config;

    config.modelType = io::jsonString(fields.require("model_type"), path, "model_type");
    const ModelTypeDefaults* defaults = nullptr;
    for (const auto& candidate : kSupportedTypes) {
        if (config.modelType == candidate.modelType) defaults = &candidate;
    }
    if (defaults == nullptr) {
        fail(ErrorCode::Unsupported, path,
             "model_type '" + io::printableExcerpt(config.modelType) +
                 "' is not supported (supported: llama, mistral, qwen2)");
    }

    // Architecture sizes are required: transformers' 7B defaults would make a config that omits them describe
    // a different model than its weights.
    config.hiddenSize = fields.integer("hidden_size", 1, kMaxHiddenSize);
    config.numLayers = fields.integer("num_hidden_layers", 1, kMaxLayers);
    config.numQueryHeads = fields.integer("num_attention_heads", 1, kMaxHeads);
    config.numKeyValueHeads = fields.integer("num_key_value_heads", 1, kMaxHeads, config.numQueryHeads);
    if (config.numQueryHeads % config.numKeyValueHeads != 0) {
        failInput(path, "num_key_value_heads (" + std::to_string(config.numKeyValueHeads) +
                            ") does not divide num_attention_heads (" + std::to_string(config.numQueryHeads) +
                            ")");
    }
    if (fields.find("head_dim") != nullptr) {
        config.headDim = fields.integer("head_dim", 1, kMaxHeadDim);
    } else {
        if (config.hiddenSize % config.numQueryHeads != 0) {
            failInput(path, "hidden_size (" + std::to_string(config.hiddenSize) +
                                ") is not divisible by num_attention_heads (" +
                                std::to_string(config.numQueryHeads) + ") and head_dim is not given");
        }
        config.headDim = config.hiddenSize / config.numQueryHeads;
    }
    if (config.headDim % 2 != 0) {
        failInput(path,
                  "head_dim (" + std::to_string(config.headDim) + ") must be even for rotary embeddings");
    }
    config.intermediateSize = fields.integer("intermediate_size", 1, kMaxIntermediateSize);
    config.vocabSize = fields.integer("vocab_size", 1, kMaxVocabSize);
    config.maxPositionEmbeddings =
        fields.integer("max_position_embeddings", 1, kMaxPositions, defaults->maxPositionEmbeddings);
    config.rmsNormEps = fields.positive("rms_norm_eps", 1e-6);
    if (config.rmsNormEps >= 1.0)
        failInput(path, "rms_norm_eps is " + std::to_string(config.rmsNormEps) + ", expected < 1");
    config.ropeTheta = fields.positive("rope_theta", 10000.0);
    config.ropeScaling = parseRopeScaling(fields);
    config.tieWordEmbeddings = fields.boolean("tie_word_embeddings", false);

    const bool attentionBias = fields.boolean("attention_bias", false);  // type-checked for every model type
    if (config.modelType == "llama") {
        config.attentionBias = config.outputBias = attentionBias;
    } else if (config.modelType == "qwen2") {
        config.attentionBias = true;  // Qwen2Attention: bias on q/k/v, none on o, regardless of the key
        config.outputBias = false;
    }  // mistral: MistralAttention has no biases (transformers ignores attention_bias there)

    if (config.modelType == "mistral") {
        const std::optional<int> window =
            fields.find("sliding_window")
                ? std::optional<int>(fields.integer("sliding_window", 1, kIntMax))
                : (root.contains("sliding_window") ? std::nullopt : defaults->slidingWindow);
        if (window && *window < config.maxPositionEmbeddings) config.slidingWindow = window;
    } else if (config.modelType == "qwen2" && fields.boolean("use_sliding_window", false)) {
        fail(ErrorCode::Unsupported, path,
             "use_sliding_window: true (sliding-window attention) is not supported for qwen2");
    }

    const char* dtypeKey =
        fields.find("torch_dtype") ? "torch_dtype" : "dtype";  // transformers >= 4.56 writes dtype
    if (const Json* dtype = fields.find(dtypeKey)) {
        config.torchDtype = io::jsonString(*dtype, path, dtypeKey);
        if (torchDtypeBytes(config.torchDtype) == 0) {
            fail(ErrorCode::Unsupported, path,
                 std::string(dtypeKey) + " '" + io::printableExcerpt(config.torchDtype) +
                     "' is not supported (float32, float16, bfloat16, float64)");
        }
    }
    config.bosTokenId = parseTokenId(fields, "bos_token_id", config.vocabSize);
    config.eosTokenId = parseTokenId(fields, "eos_token_id", config.vocabSize);

    if (const Json* dha = fields.find("dha")) {
        parseDha(*dha, config, path);
    } else {
        config.layers.assign(static_cast<size_t>(config.numLayers),
                             HeadLayout::gqa(config.numQueryHeads, config.numKeyValueHeads));
    }
    config.originalJson = jsonText;
    return config;
}

}  // namespace dha
