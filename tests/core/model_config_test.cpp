// config.json parsing (transformers' defaults, per-layer layouts, the dha object) and serialisation.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "dha/model_config.h"
#include "test_registry.h"

using dha::HeadLayout;
using dha::ModelConfig;

namespace {

// A minimal config of `modelType` with `extra` (raw JSON members, each with a leading comma) appended.
std::string minimal(const std::string& modelType, const std::string& extra = {}) {
    return R"({"model_type": ")" + modelType +
           R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,)"
           R"( "intermediate_size": 128, "vocab_size": 100)" +
           extra + "}";
}

ModelConfig parse(const std::string& text) { return dha::parseModelConfig(text, "config.json"); }

// A DHA config: 8 query heads, 3 layers with independent, non-contiguous key and value groupings.
std::string dhaConfig(bool withSource) {
    return R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 128,
      "num_hidden_layers": 3, "num_attention_heads": 8, "num_key_value_heads": 8, "intermediate_size": 256,
      "vocab_size": 300, "torch_dtype": "bfloat16", "custom": {"keep": [1, 2]},
      "dha": {"format_version": 1, "num_key_heads": [2, 8, 3], "num_value_heads": [4, 8, 1],
        "key_head_of_query": [[0,1,0,1,0,1,0,1], [0,1,2,3,4,5,6,7], [2,2,0,1,1,0,2,2]],
        "value_head_of_query": [[3,2,1,0,0,1,2,3], [0,1,2,3,4,5,6,7], [0,0,0,0,0,0,0,0]],
        "kv_bytes_per_token": 999, "future_field": "kept")" +
           std::string(withSource
                           ? R"(, "source_model": {"fingerprint": "sha256:abc", "num_key_value_heads": 8},
        "source_kv_bytes_per_token": 1536)"
                           : "") +
           "}}";
}

nlohmann::ordered_json asJson(const std::string& text) { return nlohmann::ordered_json::parse(text); }
QString dumped(const nlohmann::ordered_json& json) { return QString::fromStdString(json.dump()); }

}  // namespace

class ModelConfigTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void llamaDefaults();
    void mistralDefaults();
    void mistralSlidingWindow_data();
    void mistralSlidingWindow();
    void qwen2Defaults();
    void llamaAttentionBiasCoversOutput();
    void gqaLayoutPerLayer();
    void explicitHeadDimAndOptionalFields();
    void ropeScaling_data();
    void ropeScaling();
    void parsesDhaObject();
    void kvBytesHelper();
    void roundTrip_data();
    void roundTrip();
    void keepsUnknownFieldsAndKeyOrder();
    void writesDhaObjectOnlyWhenNeeded();
    void uniformLayoutWritesItsGroupCount();
    void writesPrettyJsonWithTrailingNewline();
    void loadsFromFile();
};

void ModelConfigTest::llamaDefaults() {
    const ModelConfig c = parse(minimal("llama"));
    QCOMPARE(c.modelType, std::string("llama"));
    QCOMPARE(c.hiddenSize, 64);
    QCOMPARE(c.numLayers, 2);
    QCOMPARE(c.numQueryHeads, 4);
    QCOMPARE(c.numKeyValueHeads, 4);  // defaults to num_attention_heads
    QCOMPARE(c.headDim, 16);          // hidden_size / num_attention_heads
    QCOMPARE(c.intermediateSize, 128);
    QCOMPARE(c.vocabSize, 100);
    QCOMPARE(c.maxPositionEmbeddings, 2048);
    QCOMPARE(c.rmsNormEps, 1e-6);
    QCOMPARE(c.ropeTheta, 10000.0);
    QVERIFY(c.ropeScaling.type == dha::RopeScalingType::None);
    QVERIFY(!c.tieWordEmbeddings);
    QVERIFY(!c.attentionBias);
    QVERIFY(!c.outputBias);
    QVERIFY(!c.slidingWindow);
    QCOMPARE(c.torchDtype, std::string("float32"));
    QVERIFY(!c.bosTokenId && !c.eosTokenId);
    QVERIFY(!c.dhaSource);
    QCOMPARE(c.layers.size(), size_t{2});
    QVERIFY(c.layers[0] == HeadLayout::mha(4));
    QVERIFY(c.isMha());
    QVERIFY(c.isUniform());
    QCOMPARE(c.kvElementsPerToken(), int64_t{2 * 16 * (4 + 4)});
    QCOMPARE(c.originalJson, minimal("llama"));
}

void ModelConfigTest::mistralDefaults() {
    const ModelConfig c = parse(minimal("mistral", R"(, "attention_bias": true)"));
    QCOMPARE(c.maxPositionEmbeddings, 131072);  // MistralConfig: 4096 * 32
    QCOMPARE(c.slidingWindow,
             std::optional<int>(4096));          // MistralConfig's default window applies when absent
    QVERIFY(!c.attentionBias && !c.outputBias);  // MistralAttention has no biases
    QCOMPARE(c.ropeTheta, 10000.0);
    QCOMPARE(c.rmsNormEps, 1e-6);
}

void ModelConfigTest::mistralSlidingWindow_data() {
    QTest::addColumn<QString>("extra");
    QTest::addColumn<int>("window");  // 0: none
    QTest::newRow("null") << R"(, "sliding_window": null)" << 0;
    QTest::newRow("explicit") << R"(, "sliding_window": 1024, "max_position_embeddings": 32768)" << 1024;
    QTest::newRow("equal to context")
        << R"(, "sliding_window": 32768, "max_position_embeddings": 32768)" << 0;
    QTest::newRow("longer than context")
        << R"(, "sliding_window": 4096, "max_position_embeddings": 2048)" << 0;
}

void ModelConfigTest::mistralSlidingWindow() {
    QFETCH(QString, extra);
    QFETCH(int, window);
    const ModelConfig c = parse(minimal("mistral", extra.toStdString()));
    QCOMPARE(c.slidingWindow, window == 0 ? std::nullopt : std::optional<int>(window));
    QCOMPARE(parse(dha::serializeModelConfig(c)), c);
}

void ModelConfigTest::qwen2Defaults() {
    const ModelConfig c = parse(minimal("qwen2", R"(, "use_sliding_window": false, "sliding_window": 4096)"));
    QCOMPARE(c.maxPositionEmbeddings, 32768);
    QVERIFY(c.attentionBias);  // q/k/v biases
    QVERIFY(!c.outputBias);    // no o_proj bias
    QVERIFY(!c.slidingWindow);
    QVERIFY(!c.tieWordEmbeddings);
}

void ModelConfigTest::llamaAttentionBiasCoversOutput() {
    const ModelConfig c = parse(minimal("llama", R"(, "attention_bias": true)"));
    QVERIFY(c.attentionBias);
    QVERIFY(c.outputBias);
}

void ModelConfigTest::gqaLayoutPerLayer() {
    const ModelConfig c = parse(
        R"({"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 3, "num_attention_heads": 8,
            "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000})");
    QCOMPARE(c.numKeyValueHeads, 2);
    QCOMPARE(c.headDim, 32);
    for (const auto& layer : c.layers) {
        QCOMPARE(layer.numKeyHeads, 2);
        QCOMPARE(layer.numValueHeads, 2);
        QCOMPARE(layer.keyHeadOfQuery, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}));
        QVERIFY(layer == HeadLayout::gqa(8, 2));
    }
    QVERIFY(!c.isMha());
    QVERIFY(c.isUniform());
    QCOMPARE(c.kvElementsPerToken(), int64_t{3 * 32 * (2 + 2)});
}

void ModelConfigTest::explicitHeadDimAndOptionalFields() {
    const ModelConfig c = parse(minimal(
        "llama",
        R"(, "head_dim": 32, "num_key_value_heads": null, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
                   "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": [2, 7], "dtype": "float16",
                   "max_position_embeddings": 8192)"));
    QCOMPARE(c.headDim, 32);  // need not equal hidden_size / heads (Mistral Nemo does this)
    QCOMPARE(c.numKeyValueHeads, 4);
    QCOMPARE(c.ropeTheta, 500000.0);
    QCOMPARE(c.rmsNormEps, 1e-5);
    QVERIFY(c.tieWordEmbeddings);
    QCOMPARE(c.bosTokenId, std::optional<int>(1));
    QCOMPARE(c.eosTokenId, std::optional<int>(2));   // the first of a list
    QCOMPARE(c.torchDtype, std::string("float16"));  // transformers >= 4.56 spells it `dtype`
    QCOMPARE(c.maxPositionEmbeddings, 8192);
    QCOMPARE(c.kvElementsPerToken(), int64_t{2 * 32 * 8});
    // The list survives a round trip, and `dtype` stays `dtype`.
    const auto written = asJson(dha::serializeModelConfig(c));
    QCOMPARE(dumped(written["eos_token_id"]), dumped(nlohmann::ordered_json::array({2, 7})));
    QCOMPARE(written["dtype"].get<std::string>(), std::string("float16"));
    QVERIFY(!written.contains("torch_dtype"));
    QCOMPARE(parse(written.dump()), c);
}

void ModelConfigTest::ropeScaling_data() {
    QTest::addColumn<QString>("scaling");
    QTest::addColumn<double>("factor");  // 0: no scaling
    QTest::newRow("absent") << "" << 0.0;
    QTest::newRow("null") << R"(, "rope_scaling": null)" << 0.0;
    QTest::newRow("default") << R"(, "rope_scaling": {"rope_type": "default"})" << 0.0;
    QTest::newRow("linear type") << R"(, "rope_scaling": {"type": "linear", "factor": 2.0})" << 2.0;
    QTest::newRow("linear rope_type") << R"(, "rope_scaling": {"rope_type": "linear", "factor": 4})" << 4.0;
}

void ModelConfigTest::ropeScaling() {
    QFETCH(QString, scaling);
    QFETCH(double, factor);
    const ModelConfig c = parse(minimal("llama", scaling.toStdString()));
    QCOMPARE(c.ropeScaling.type, factor == 0 ? dha::RopeScalingType::None : dha::RopeScalingType::Linear);
    if (factor != 0) QCOMPARE(c.ropeScaling.factor, factor);
    QCOMPARE(parse(dha::serializeModelConfig(c)), c);
}

void ModelConfigTest::parsesDhaObject() {
    const ModelConfig c = parse(dhaConfig(true));
    QCOMPARE(c.layers.size(), size_t{3});
    QCOMPARE(c.layers[0].numKeyHeads, 2);
    QCOMPARE(c.layers[0].numValueHeads, 4);
    QCOMPARE(c.layers[0].valueHeadOfQuery, (std::vector<int>{3, 2, 1, 0, 0, 1, 2, 3}));
    QVERIFY(c.layers[1].isMha());
    QCOMPARE(c.layers[2].numValueHeads, 1);
    QVERIFY(!c.isUniform());
    QVERIFY(!c.isMha());
    QCOMPARE(c.numKeyValueHeads, 8);
    QVERIFY(c.dhaSource);
    QCOMPARE(c.dhaSource->formatVersion, 1);
    QCOMPARE(c.dhaSource->fingerprint, std::string("sha256:abc"));
    QCOMPARE(c.dhaSource->sourceNumKeyValueHeads, 8);
    QCOMPARE(c.dhaSource->sourceKvBytesPerToken, int64_t{1536});
    QCOMPARE(c.kvElementsPerToken(), int64_t{16 * ((2 + 4) + (8 + 8) + (3 + 1))});
    QVERIFY(!parse(dhaConfig(false)).dhaSource);  // a dha object without source_model
}

void ModelConfigTest::kvBytesHelper() {
    const ModelConfig c = parse(dhaConfig(true));
    QCOMPARE(dha::torchDtypeBytes("float32"), 4);
    QCOMPARE(dha::torchDtypeBytes("bfloat16"), 2);
    QCOMPARE(dha::torchDtypeBytes("float16"), 2);
    QCOMPARE(dha::torchDtypeBytes("int4"), 0);
    QCOMPARE(dha::kvBytesPerToken(c, 2), int64_t{2 * 16 * 26});
}

void ModelConfigTest::roundTrip_data() {
    QTest::addColumn<QString>("text");
    QTest::newRow("llama minimal") << QString::fromStdString(minimal("llama"));
    QTest::newRow("llama everything") << QString::fromStdString(minimal(
        "llama",
        R"(, "num_key_value_heads": 2, "head_dim": 8, "attention_bias": true, "tie_word_embeddings": true,
                   "rope_scaling": {"type": "linear", "factor": 2.5}, "rope_theta": 1e6, "rms_norm_eps": 1e-05,
                   "bos_token_id": 0, "eos_token_id": 99, "torch_dtype": "bfloat16")"));
    QTest::newRow("mistral") << QString::fromStdString(minimal("mistral", R"(, "num_key_value_heads": 1)"));
    QTest::newRow("qwen2") << QString::fromStdString(minimal("qwen2", R"(, "num_key_value_heads": 2)"));
    QTest::newRow("dha with source") << QString::fromStdString(dhaConfig(true));
    QTest::newRow("dha without source") << QString::fromStdString(dhaConfig(false));
}

void ModelConfigTest::roundTrip() {
    QFETCH(QString, text);
    const ModelConfig c = parse(text.toStdString());
    const std::string once = dha::serializeModelConfig(c);
    const ModelConfig again = parse(once);
    QVERIFY(again == c);
    QCOMPARE(dha::serializeModelConfig(again), once);  // a fixed point: deterministic output

    // The same holds for a config built in code from an empty originalJson.
    ModelConfig fresh = c;
    fresh.originalJson.clear();
    QVERIFY(parse(dha::serializeModelConfig(fresh)) == c);
}

void ModelConfigTest::keepsUnknownFieldsAndKeyOrder() {
    const ModelConfig c = parse(dhaConfig(false));
    const auto written = asJson(dha::serializeModelConfig(c));
    QCOMPARE(dumped(written["architectures"]), dumped(nlohmann::ordered_json::array({"LlamaForCausalLM"})));
    QCOMPARE(dumped(written["custom"]["keep"]), dumped(nlohmann::ordered_json::array({1, 2})));
    QCOMPARE(written["dha"]["future_field"].get<std::string>(), std::string("kept"));
    // Source key order is kept: model_type first, architectures second, as in the file.
    QCOMPARE(written.begin().key(), std::string("model_type"));
    QCOMPARE(std::next(written.begin()).key(), std::string("architectures"));
    // kv_bytes_per_token is derived, not copied: bf16 (2 bytes) x 16 x 26 heads.
    QCOMPARE(written["dha"]["kv_bytes_per_token"].get<int64_t>(), int64_t{2 * 16 * 26});
}

void ModelConfigTest::writesDhaObjectOnlyWhenNeeded() {
    ModelConfig c = parse(minimal("llama", R"(, "torch_dtype": "bfloat16")"));
    QVERIFY(!asJson(dha::serializeModelConfig(c)).contains("dha"));

    // A converted model: layer 1 gets 1 key head and 2 value heads; the source stays MHA with 4 KV heads.
    c.layers[1].numKeyHeads = 1;
    c.layers[1].keyHeadOfQuery = {0, 0, 0, 0};
    c.layers[1].numValueHeads = 2;
    c.layers[1].valueHeadOfQuery = {1, 0, 0, 1};
    c.dhaSource = dha::DhaSourceInfo{1, "fp", 4, 2 * 2 * 16 * 8};
    const std::string text = dha::serializeModelConfig(c);
    const auto written = asJson(text);
    QCOMPARE(written["num_key_value_heads"].get<int>(), 4);  // the source's count
    const auto& dhaJson = written["dha"];
    QCOMPARE(dhaJson["format_version"].get<int>(), 1);
    QCOMPARE(dumped(dhaJson["num_key_heads"]), dumped(nlohmann::ordered_json::array({4, 1})));
    QCOMPARE(dumped(dhaJson["num_value_heads"]), dumped(nlohmann::ordered_json::array({4, 2})));
    QCOMPARE(dumped(dhaJson["value_head_of_query"][1]), dumped(nlohmann::ordered_json::array({1, 0, 0, 1})));
    QCOMPARE(dhaJson["source_model"]["fingerprint"].get<std::string>(), std::string("fp"));
    QCOMPARE(dhaJson["kv_bytes_per_token"].get<int64_t>(), int64_t{2 * 16 * (8 + 3)});
    QCOMPARE(dhaJson["source_kv_bytes_per_token"].get<int64_t>(), int64_t{512});
    QVERIFY(parse(text) == c);

    // Back to the uniform layout with no source: the now stale dha object is removed.
    ModelConfig reverted = parse(text);
    reverted.layers[1] = HeadLayout::mha(4);
    reverted.dhaSource.reset();
    QVERIFY(!asJson(dha::serializeModelConfig(reverted)).contains("dha"));
}

void ModelConfigTest::uniformLayoutWritesItsGroupCount() {
    // A forced uniform plan: every layer GQA with 2 groups, from an MHA source, no source info.
    ModelConfig c = parse(minimal("llama"));
    for (auto& layer : c.layers) layer = HeadLayout::gqa(4, 2);
    const auto written = asJson(dha::serializeModelConfig(c));
    QCOMPARE(written["num_key_value_heads"].get<int>(), 2);  // what stock runtimes need to load the weights
    QVERIFY(!written.contains("dha"));
    QCOMPARE(parse(written.dump()).layers, c.layers);

    // Non-uniform without source info and with a count that cannot describe it: the smallest valid count
    // covering every layer (3 heads in a layer of 4 query heads -> 4).
    ModelConfig odd = parse(minimal("llama", R"(, "num_key_value_heads": 2)"));
    odd.layers[0].numKeyHeads = 3;
    odd.layers[0].keyHeadOfQuery = {0, 1, 2, 2};
    odd.numKeyValueHeads = 3;  // invalid for a stock config (does not divide 4)
    const auto oddJson = asJson(dha::serializeModelConfig(odd));
    QCOMPARE(oddJson["num_key_value_heads"].get<int>(), 4);
    QCOMPARE(parse(oddJson.dump()).layers, odd.layers);
}

void ModelConfigTest::writesPrettyJsonWithTrailingNewline() {
    const std::string text = dha::serializeModelConfig(
        parse(R"({"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,)"
              R"("intermediate_size":16,"vocab_size":10,"extra":[1]})"));
    const std::string expected = R"({
  "model_type": "llama",
  "hidden_size": 8,
  "num_hidden_layers": 1,
  "num_attention_heads": 2,
  "intermediate_size": 16,
  "vocab_size": 10,
  "extra": [
    1
  ],
  "num_key_value_heads": 2,
  "max_position_embeddings": 2048,
  "rms_norm_eps": 1e-06,
  "rope_theta": 10000.0,
  "tie_word_embeddings": false,
  "attention_bias": false,
  "torch_dtype": "float32"
}
)";
    QCOMPARE(QString::fromStdString(text), QString::fromStdString(expected));
}

void ModelConfigTest::loadsFromFile() {
    QTemporaryDir dir;
    const QString path = QDir(dir.path()).filePath("config.json");
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(minimal("qwen2")));
    file.close();
    QCOMPARE(dha::loadModelConfig(path.toStdString()), parse(minimal("qwen2")));
    try {
        dha::loadModelConfig(QDir(dir.path()).filePath("missing.json").toStdString());
        QFAIL("expected a dha::Exception");
    } catch (const dha::Exception& error) {
        QVERIFY(QString::fromStdString(error.error().path).endsWith("missing.json"));
    }
}

DHA_TEST_SUITE(ModelConfigTest)
#include "model_config_test.moc"
