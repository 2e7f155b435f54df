// Every malformed safetensors file, shard index and config.json gives one dha::Exception naming the file.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <exception>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dha/error.h"
#include "dha/model_config.h"
#include "io/safetensors.h"
#include "test_registry.h"

Q_DECLARE_METATYPE(dha::ErrorCode)

namespace {

constexpr auto kInvalid = dha::ErrorCode::InvalidInput;
constexpr auto kUnsupported = dha::ErrorCode::Unsupported;

// A safetensors file by hand: 8-byte little-endian header length (the real one unless overridden), header,
// data.
QByteArray st(const QByteArray& header, const QByteArray& data = {},
              std::optional<quint64> length = std::nullopt) {
    QByteArray bytes;
    const quint64 value = length.value_or(static_cast<quint64>(header.size()));
    for (int i = 0; i < 8; ++i) bytes.append(static_cast<char>((value >> (8 * i)) & 0xff));
    return bytes + header + data;
}

// One tensor entry `"name":{"dtype":..,"shape":..,"data_offsets":..}` with raw JSON pieces.
QByteArray entry(const char* name, const char* dtype, const char* shape, const char* offsets) {
    return QByteArray("\"") + name + R"(":{"dtype":)" + dtype + R"(,"shape":)" + shape +
           R"(,"data_offsets":)" + offsets + "}";
}

// A single-tensor file with 16 data bytes, varying one field.
QByteArray one(const char* dtype, const char* shape, const char* offsets, int dataBytes = 16) {
    return st("{" + entry("x", dtype, shape, offsets) + "}", QByteArray(dataBytes, '\0'));
}

const QByteArray kValid = one(R"("F32")", "[2,2]", "[0,16]");

// config.json text from a valid base, with members replaced (value text), removed (nullptr) or appended.
QByteArray config(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes = {}) {
    std::vector<std::pair<std::string, std::string>> members{
        {"model_type", R"("llama")"}, {"hidden_size", "64"},        {"num_hidden_layers", "2"},
        {"num_attention_heads", "4"}, {"intermediate_size", "128"}, {"vocab_size", "100"}};
    for (const auto& [key, value] : changes) {
        bool found = false;
        for (auto it = members.begin(); it != members.end(); ++it) {
            if (it->first != key) continue;
            found = true;
            if (value) {
                it->second = *value;
            } else {
                members.erase(it);
            }
            break;
        }
        if (!found && value) members.emplace_back(key, *value);
    }
    std::string text = "{";
    for (size_t i = 0; i < members.size(); ++i) {
        text += (i ? ", \"" : "\"") + members[i].first + "\": " + members[i].second;
    }
    return QByteArray::fromStdString(text + "}");
}

// A dha object for the base config (2 layers, 4 query heads) with the given key maps and counts.
std::string dhaObject(const char* numKeyHeads, const char* keyMaps, const char* extra = "") {
    return std::string(R"({"format_version": 1, "num_key_heads": )") + numKeyHeads +
           R"(, "num_value_heads": [4, 2], "key_head_of_query": )" + keyMaps +
           R"(, "value_head_of_query": [[0,1,2,3],[0,0,1,1]])" + extra + "}";
}

QByteArray index(const QByteArray& weightMap) {
    return R"({"metadata": {}, "weight_map": )" + weightMap + "}";
}

// Writes `files` below `modelDir`: QByteArray values are file contents ("{root}" is replaced by the test's
// temporary root), QString values are symlink targets, and names ending in '/' are directories.
void createFiles(const QString& root, const QString& modelDir, const QVariantMap& files) {
    QVERIFY(QDir().mkpath(modelDir));
    for (auto it = files.begin(); it != files.end(); ++it) {
        const QString path = QDir::cleanPath(QDir(modelDir).filePath(it.key()));
        if (it.key().endsWith('/')) {
            QVERIFY(QDir().mkpath(path));
        } else if (it.value().typeId() == QMetaType::QString) {
            QVERIFY(QFile::link(it.value().toString().replace("{root}", root), path));
        } else {
            QFile file(path);
            QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
            QByteArray content = it.value().toByteArray();
            content.replace("{root}", root.toUtf8());
            QCOMPARE(file.write(content), content.size());
        }
    }
}

}  // namespace

class MalformedInputsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rejectsWithOneClearError_data();
    void rejectsWithOneClearError();
    void validBaselinesLoad();
    void survivesRandomCorruption_data();
    void survivesRandomCorruption();
};

void MalformedInputsTest::rejectsWithOneClearError_data() {
    QTest::addColumn<QString>("action");     // safetensors | checkpoint | config
    QTest::addColumn<QVariantMap>("files");  // below the model directory; "../x" lies outside it
    QTest::addColumn<QString>("offending");  // the error's path must end with this
    QTest::addColumn<QString>("fragment");   // the message must contain this
    QTest::addColumn<dha::ErrorCode>("code");

    const auto file = [](const char* name, const QByteArray& bytes) { return QVariantMap{{name, bytes}}; };
    const auto tensors = [](const QByteArray& bytes) { return QVariantMap{{"model.safetensors", bytes}}; };
    const QString model = "model.safetensors";
    const auto row = [](const char* name) -> QTestData& {
        return QTest::newRow(name) << QString("safetensors");
    };

    // --- safetensors files: sizes and header length ---
    row("empty file") << tensors({}) << model << "0 bytes, too short" << kInvalid;
    row("5 bytes") << tensors(QByteArray("\x05\0\0\0\0", 5)) << model << "5 bytes, too short" << kInvalid;
    row("header length 2^63") << tensors(st("{}", {}, quint64{1} << 63)) << model << "above the limit"
                              << kInvalid;
    row("header length past end") << tensors(st("{}", "xxxx", 1000)) << model
                                  << "header length 1000 runs past the end of the file" << kInvalid;
    row("header length 0") << tensors(st("", "data")) << model << "header is not valid JSON" << kInvalid;
    row("truncated data") << tensors(one(R"("F32")", "[2,2]", "[0,16]", 8)) << model
                          << "run past the end of the data (8 bytes)" << kInvalid;
    // --- header JSON ---
    row("header is an array") << tensors(st("[1,2]")) << model << "header is an array" << kInvalid;
    row("header is a string") << tensors(st("\"hi\"")) << model << "header is a string" << kInvalid;
    row("header is garbage") << tensors(st(QByteArray("\xff\xfe\x00\x01garbage", 11))) << model
                             << "header is not valid JSON" << kInvalid;
    row("header has invalid UTF-8") << tensors(st("{\"\xc3\x28\": {}}")) << model
                                    << "header is not valid JSON" << kInvalid;
    row("header JSON truncated") << tensors(st(R"({"x":{"dtype":"F32")")) << model
                                 << "header is not valid JSON" << kInvalid;
    row("header nested too deep") << tensors(
                                         st("{\"x\":" + QByteArray(200, '[') + QByteArray(200, ']') + "}"))
                                  << model << "nests deeper than" << kInvalid;
    // --- tensor entries ---
    row("entry not an object") << tensors(st(R"({"x":5})")) << model
                               << "tensor 'x' is an integer, expected an object" << kInvalid;
    row("entry without data_offsets") << tensors(st(R"({"x":{"dtype":"F32","shape":[1]}})")) << model
                                      << "tensor 'x' has no 'data_offsets'" << kInvalid;
    row("entry with extra key")
        << tensors(st(R"({"x":{"dtype":"U8","shape":[],"data_offsets":[0,1],"offset":0}})", "a")) << model
        << "tensor 'x' has an unexpected key 'offset'" << kInvalid;
    row("unknown dtype F8_E9") << tensors(one(R"("F8_E9")", "[2,2]", "[0,16]")) << model
                               << "tensor 'x' has unknown dtype 'F8_E9'" << kInvalid;
    row("lowercase dtype") << tensors(one(R"("f32")", "[2,2]", "[0,16]")) << model << "unknown dtype 'f32'"
                           << kInvalid;
    row("dtype not a string") << tensors(one("4", "[2,2]", "[0,16]")) << model << "dtype is an integer"
                              << kInvalid;
    row("known but unsupported dtype") << tensors(one(R"("F8_E4M3")", "[16]", "[0,16]")) << model
                                       << "dtype F8_E4M3, which this build cannot read" << kUnsupported;
    row("negative dimension") << tensors(one(R"("F32")", "[-2,2]", "[0,16]")) << model
                              << "tensor 'x' shape[0] is -2, expected a non-negative integer" << kInvalid;
    row("fractional dimension") << tensors(one(R"("F32")", "[2,2.5]", "[0,16]")) << model << "shape[1] is 2.5"
                                << kInvalid;
    row("string dimension") << tensors(one(R"("F32")", R"(["2",2])", "[0,16]")) << model
                            << "shape[0] is \"2\"" << kInvalid;
    row("shape not an array") << tensors(one(R"("F32")", "4", "[0,16]")) << model
                              << "shape is an integer, expected an array" << kInvalid;
    row("shape 2^40 x 2^40 overflows")
        << tensors(one(R"("F32")", "[1099511627776,1099511627776]", "[0,16]")) << model
        << "shape [1099511627776, 1099511627776] has too many elements" << kInvalid;
    row("shape times itemsize overflows") << tensors(one(R"("F32")", "[4611686018427387904]", "[0,16]"))
                                          << model << "has too many elements" << kInvalid;
    row("dimension above int64") << tensors(one(R"("U8")", "[9223372036854775808]", "[0,16]")) << model
                                 << "shape[0] is 9223372036854775808" << kInvalid;
    row("65 dimensions") << tensors(one(R"("F32")", ("[" + QByteArray("1,").repeated(64) + "4]").constData(),
                                        "[0,16]"))
                         << model << "shape has 65 dimensions" << kInvalid;
    // --- data offsets ---
    row("offsets with one entry") << tensors(one(R"("F32")", "[2,2]", "[0]")) << model
                                  << "expected [begin, end] with two non-negative integers" << kInvalid;
    row("negative offset") << tensors(one(R"("F32")", "[2,2]", "[-4,12]")) << model << "expected [begin, end]"
                           << kInvalid;
    row("fractional offset") << tensors(one(R"("F32")", "[2,2]", "[0,16.0]")) << model
                             << "expected [begin, end]" << kInvalid;
    row("offsets not an array") << tensors(one(R"("F32")", "[2,2]", R"("0-16")")) << model
                                << "expected [begin, end]" << kInvalid;
    row("begin after end") << tensors(one(R"("F32")", "[2,2]", "[16,0]")) << model
                           << "data_offsets [16, 0] end before they begin" << kInvalid;
    row("end past the data") << tensors(one(R"("F32")", "[2,2]", "[8,24]")) << model
                             << "data_offsets [8, 24] run past the end of the data (16 bytes)" << kInvalid;
    row("huge end offset") << tensors(one(R"("F32")", "[2,2]", "[18446744073709551600,18446744073709551615]"))
                           << model << "run past the end of the data" << kInvalid;
    row("byte size mismatch") << tensors(one(R"("F32")", "[2,2]", "[0,12]")) << model
                              << "tensor 'x' data_offsets [0, 12] hold 12 bytes, but F32 [2, 2] needs 16"
                              << kInvalid;
    row("overlapping tensors") << tensors(st("{" + entry("x", R"("F32")", "[4]", "[0,16]") + "," +
                                                 entry("y", R"("F32")", "[4]", "[8,24]") + "}",
                                             QByteArray(24, '\0')))
                               << model << "tensors 'x' [0, 16] and 'y' [8, 24] overlap" << kInvalid;
    row("duplicate tensor names") << tensors(st("{" + entry("x", R"("F32")", "[2]", "[0,8]") + "," +
                                                    entry("x", R"("F32")", "[2]", "[8,16]") + "}",
                                                QByteArray(16, '\0')))
                                  << model << "has the key 'x' twice" << kInvalid;
    row("duplicate key in an entry")
        << tensors(st(R"({"x":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "a")) << model
        << "has the key 'dtype' twice" << kInvalid;
    // --- __metadata__ ---
    row("metadata not an object") << tensors(st(R"({"__metadata__":[]})")) << model
                                  << "__metadata__ is an array" << kInvalid;
    row("metadata value not a string") << tensors(st(R"({"__metadata__":{"format":1}})")) << model
                                       << "__metadata__ value of 'format' is an integer" << kInvalid;

    // --- checkpoints: the model directory and the shard index ---
    const QString indexName = "model.safetensors.index.json";
    const auto sharded = [&](const QByteArray& weightMap) {
        return QVariantMap{
            {indexName, index(weightMap)}, {"a.safetensors", kValid}, {"../outside.safetensors", kValid}};
    };
    const auto checkpointRow = [](const char* name) -> QTestData& {
        return QTest::newRow(name) << QString("checkpoint");
    };
    checkpointRow("no weights at all") << QVariantMap{{"config.json", config()}} << "model"
                                       << "no model.safetensors or model.safetensors.index.json" << kInvalid;
    checkpointRow("model.safetensors is a directory")
        << QVariantMap{{"model.safetensors/", QByteArray()}} << model << "not a regular file" << kInvalid;
    checkpointRow("malformed single file") << tensors(st("[]")) << model << "header is an array" << kInvalid;
    checkpointRow("index not JSON") << file("model.safetensors.index.json", "{weight_map:") << indexName
                                    << "is not valid JSON" << kInvalid;
    checkpointRow("index is an array") << file("model.safetensors.index.json", "[]") << indexName
                                       << "top level is an array, expected a JSON object" << kInvalid;
    checkpointRow("index without weight_map") << file("model.safetensors.index.json", R"({"metadata": {}})")
                                              << indexName << "has no weight_map" << kInvalid;
    checkpointRow("weight_map is an array") << sharded(R"(["a.safetensors"])") << indexName
                                            << "weight_map is an array, expected an object" << kInvalid;
    checkpointRow("weight_map value not a string")
        << sharded(R"({"x": 1})") << indexName << "weight_map entry 'x' is an integer, expected a file name"
        << kInvalid;
    checkpointRow("weight_map empty")
        << sharded("{}") << indexName << "weight_map lists no tensors" << kInvalid;
    checkpointRow("weight_map duplicate tensor") << sharded(R"({"x": "a.safetensors", "x": "a.safetensors"})")
                                                 << indexName << "has the key 'x' twice" << kInvalid;
    checkpointRow("shard ../outside") << sharded(R"({"x": "../outside.safetensors"})") << indexName
                                      << "'..' leaves the model directory" << kInvalid;
    checkpointRow("shard sub/../../outside") << sharded(R"({"x": "sub/../../outside.safetensors"})")
                                             << indexName << "'..' leaves the model directory" << kInvalid;
    checkpointRow("shard absolute path")
        << sharded(R"({"x": "{root}/outside.safetensors"})") << indexName << "absolute path" << kInvalid;
    checkpointRow("shard empty name")
        << sharded(R"({"x": ""})") << indexName << "empty file name" << kInvalid;
    checkpointRow("shard name with NUL")
        << sharded(R"({"x": "a.safetensors\u0000.txt"})") << indexName << "control character" << kInvalid;
    checkpointRow("missing shard") << sharded(R"({"x": "model-00002-of-00002.safetensors"})") << indexName
                                   << "model-00002-of-00002.safetensors does not exist" << kInvalid;
    checkpointRow("tensor missing from its shard")
        << sharded(R"({"x": "a.safetensors", "y": "a.safetensors"})") << indexName
        << "puts tensor 'y' in 'a.safetensors', but that file has no such tensor" << kInvalid;
    {
        QVariantMap twoShards = sharded(R"({"x": "a.safetensors", "z": "b.safetensors"})");
        twoShards["b.safetensors"] = st(
            "{" + entry("x", R"("U8")", "[1]", "[0,1]") + "," + entry("z", R"("U8")", "[1]", "[1,2]") + "}",
            "ab");
        checkpointRow("tensor in two shards")
            << twoShards << indexName << "tensor 'x' is stored in both 'a.safetensors' and 'b.safetensors'"
            << kInvalid;
    }
    {
        QVariantMap linked = sharded(R"({"x": "link.safetensors"})");
        linked["link.safetensors"] = QString("{root}/outside.safetensors");
        checkpointRow("symlink resolving outside")
            << linked << indexName << "outside the model directory" << kInvalid;
        QVariantMap linkedDir = sharded(R"({"x": "sub/outside.safetensors"})");
        linkedDir["sub"] = QString("{root}");
        checkpointRow("symlinked subdirectory escape")
            << linkedDir << indexName << "outside the model directory" << kInvalid;
    }
    {
        QVariantMap badShard = sharded(R"({"x": "a.safetensors", "w": "model-00002-of-00002.safetensors"})");
        badShard["model-00002-of-00002.safetensors"] = QByteArray("\x10\0\0", 3);
        checkpointRow("truncated shard") << badShard << "model-00002-of-00002.safetensors"
                                         << "too short" << kInvalid;
    }

    // --- config.json ---
    const QString cfg = "config.json";
    const auto configRow = [](const char* name) -> QTestData& {
        return QTest::newRow(name) << QString("config");
    };
    const auto cfgFile = [&](const QByteArray& text) { return file("config.json", text); };
    configRow("config not JSON") << cfgFile("{\"model_type\": llama}") << cfg << "is not valid JSON"
                                 << kInvalid;
    configRow("config empty") << cfgFile("") << cfg << "is not valid JSON" << kInvalid;
    configRow("config top level array") << cfgFile("[]") << cfg << "top level is an array" << kInvalid;
    configRow("config is a directory")
        << QVariantMap{{"config.json/", QByteArray()}} << cfg << "not a regular file" << kInvalid;
    configRow("heads do not divide hidden")
        << cfgFile(config({{"hidden_size", "100"}, {"num_attention_heads", "3"}})) << cfg
        << "hidden_size (100) is not divisible by num_attention_heads (3)" << kInvalid;
    configRow("kv heads do not divide heads")
        << cfgFile(config({{"num_attention_heads", "8"}, {"num_key_value_heads", "3"}})) << cfg
        << "num_key_value_heads (3) does not divide num_attention_heads (8)" << kInvalid;
    configRow("hidden_size 0") << cfgFile(config({{"hidden_size", "0"}})) << cfg
                               << "hidden_size is 0, expected 1..65536" << kInvalid;
    configRow("hidden_size 10^9") << cfgFile(config({{"hidden_size", "1000000000"}})) << cfg
                                  << "hidden_size is 1000000000, expected 1..65536" << kInvalid;
    configRow("hidden_size 2^64") << cfgFile(config({{"hidden_size", "18446744073709551616"}})) << cfg
                                  << "hidden_size is a number" << kInvalid;
    configRow("hidden_size string") << cfgFile(config({{"hidden_size", R"("64")"}})) << cfg
                                    << "hidden_size is a string (\"64\"), expected an integer" << kInvalid;
    configRow("hidden_size fractional") << cfgFile(config({{"hidden_size", "64.5"}})) << cfg
                                        << "hidden_size is a number (64.5), expected an integer" << kInvalid;
    configRow("hidden_size boolean") << cfgFile(config({{"hidden_size", "true"}})) << cfg
                                     << "hidden_size is a boolean" << kInvalid;
    configRow("negative layers") << cfgFile(config({{"num_hidden_layers", "-1"}})) << cfg
                                 << "num_hidden_layers is -1, expected 1..1024" << kInvalid;
    configRow("too many heads") << cfgFile(config({{"num_attention_heads", "2048"}})) << cfg
                                << "num_attention_heads is 2048" << kInvalid;
    configRow("vocab_size missing") << cfgFile(config({{"vocab_size", std::nullopt}})) << cfg
                                    << "vocab_size is missing" << kInvalid;
    configRow("vocab_size null") << cfgFile(config({{"vocab_size", "null"}})) << cfg
                                 << "vocab_size is missing" << kInvalid;
    configRow("vocab_size 5M") << cfgFile(config({{"vocab_size", "5000000"}})) << cfg
                               << "vocab_size is 5000000" << kInvalid;
    configRow("intermediate_size huge") << cfgFile(config({{"intermediate_size", "2000000"}})) << cfg
                                        << "intermediate_size is 2000000" << kInvalid;
    configRow("max_position_embeddings huge") << cfgFile(config({{"max_position_embeddings", "100000000"}}))
                                              << cfg << "max_position_embeddings is 100000000" << kInvalid;
    configRow("head_dim odd") << cfgFile(config({{"head_dim", "15"}})) << cfg << "head_dim (15) must be even"
                              << kInvalid;
    configRow("head_dim huge") << cfgFile(config({{"head_dim", "4096"}})) << cfg << "head_dim is 4096"
                               << kInvalid;
    configRow("unknown model_type") << cfgFile(config({{"model_type", R"("gpt2")"}})) << cfg
                                    << "model_type 'gpt2' is not supported (supported: llama, mistral, qwen2)"
                                    << kUnsupported;
    configRow("model_type missing") << cfgFile(config({{"model_type", std::nullopt}})) << cfg
                                    << "model_type is missing" << kInvalid;
    configRow("rope_scaling yarn") << cfgFile(
                                          config({{"rope_scaling", R"({"rope_type": "yarn", "factor": 4})"}}))
                                   << cfg << "rope_scaling type 'yarn' is not supported" << kUnsupported;
    configRow("rope_scaling dynamic")
        << cfgFile(config({{"rope_scaling", R"({"type": "dynamic", "factor": 2})"}})) << cfg
        << "rope_scaling type 'dynamic'" << kUnsupported;
    configRow("rope_scaling llama3") << cfgFile(config(
                                            {{"rope_scaling", R"({"rope_type": "llama3", "factor": 8})"}}))
                                     << cfg << "rope_scaling type 'llama3'" << kUnsupported;
    configRow("rope_scaling factor below 1")
        << cfgFile(config({{"rope_scaling", R"({"type": "linear", "factor": 0.5})"}})) << cfg
        << "rope_scaling.factor is 0.5, expected >= 1" << kInvalid;
    configRow("rope_scaling without factor") << cfgFile(config({{"rope_scaling", R"({"type": "linear"})"}}))
                                             << cfg << "rope_scaling.factor is missing" << kInvalid;
    configRow("rope_scaling a string") << cfgFile(config({{"rope_scaling", R"("linear")"}})) << cfg
                                       << "rope_scaling is a string" << kInvalid;
    configRow("rms_norm_eps negative") << cfgFile(config({{"rms_norm_eps", "-1e-6"}})) << cfg
                                       << "rms_norm_eps is -1e-06, expected a positive number" << kInvalid;
    configRow("qwen2 sliding window")
        << cfgFile(config({{"model_type", R"("qwen2")"}, {"use_sliding_window", "true"}})) << cfg
        << "use_sliding_window: true" << kUnsupported;
    configRow("eos beyond vocab") << cfgFile(config({{"eos_token_id", "[100]"}})) << cfg
                                  << "eos_token_id[0] is 100, expected 0..99" << kInvalid;
    configRow("torch_dtype int8") << cfgFile(config({{"torch_dtype", R"("int8")"}})) << cfg
                                  << "torch_dtype 'int8' is not supported" << kUnsupported;
    configRow("duplicate key") << cfgFile(config({{"hidden_size", R"(64, "hidden_size": 128)"}})) << cfg
                               << "has the key 'hidden_size' twice" << kInvalid;
    // --- the dha object (2 layers, 4 query heads in the base config) ---
    configRow("dha map out of range")
        << cfgFile(config({{"dha", dhaObject("[2, 2]", "[[0,1,0,1],[0,0,5,1]]")}})) << cfg
        << "dha layer 1: query head 2 maps to key head 5, outside 0..1" << kInvalid;
    configRow("dha unused key head") << cfgFile(
                                            config({{"dha", dhaObject("[3, 2]", "[[0,0,2,2],[0,0,1,1]]")}}))
                                     << cfg << "dha layer 0: key head 1 is used by no query head" << kInvalid;
    configRow("dha zero key heads") << cfgFile(
                                           config({{"dha", dhaObject("[0, 2]", "[[0,0,0,0],[0,0,1,1]]")}}))
                                    << cfg << "dha layer 0: number of key heads is 0, expected 1..4"
                                    << kInvalid;
    configRow("dha counts for 1 layer")
        << cfgFile(config({{"dha", dhaObject("[2]", "[[0,0,1,1],[0,0,1,1]]")}})) << cfg
        << "dha.num_key_heads has 1 entries, expected 2 (num_hidden_layers)" << kInvalid;
    configRow("dha maps for 3 layers")
        << cfgFile(config({{"dha", dhaObject("[2, 2]", "[[0,0,1,1],[0,0,1,1],[0,0,1,1]]")}})) << cfg
        << "dha.key_head_of_query has 3 entries, expected 2" << kInvalid;
    configRow("dha map of wrong length")
        << cfgFile(config({{"dha", dhaObject("[2, 2]", "[[0,1,1],[0,0,1,1]]")}})) << cfg
        << "dha.key_head_of_query[0] has 3 entries, expected 4 (num_attention_heads)" << kInvalid;
    configRow("dha map entry a string")
        << cfgFile(config({{"dha", dhaObject("[2, 2]", R"([[0,0,1,1],["0",0,1,1]])")}})) << cfg
        << "dha.key_head_of_query[1][0] is a string" << kInvalid;
    configRow("dha format_version 2")
        << cfgFile(config({{"dha", R"({"format_version": 2, "num_key_heads": [1, 1]})"}})) << cfg
        << "dha.format_version 2 is not supported (this build reads version 1)" << kUnsupported;
    configRow("dha format_version missing") << cfgFile(config({{"dha", R"({"num_key_heads": [1, 1]})"}}))
                                            << cfg << "dha.format_version is missing" << kInvalid;
    configRow("dha not an object") << cfgFile(config({{"dha", "[1]"}})) << cfg << "dha is an array"
                                   << kInvalid;
    configRow("dha without value maps")
        << cfgFile(
               config({{"dha", R"({"format_version": 1, "num_key_heads": [1, 1], "num_value_heads": [1, 1],
                                       "key_head_of_query": [[0,0,0,0],[0,0,0,0]]})"}}))
        << cfg << "dha.value_head_of_query is missing" << kInvalid;
    configRow("dha source_model a string")
        << cfgFile(config(
               {{"dha", dhaObject("[2, 2]", "[[0,0,1,1],[0,0,1,1]]", R"(, "source_model": "llama")")}}))
        << cfg << "dha.source_model is a string" << kInvalid;
}

void MalformedInputsTest::rejectsWithOneClearError() {
    QFETCH(QString, action);
    QFETCH(QVariantMap, files);
    QFETCH(QString, offending);
    QFETCH(QString, fragment);
    QFETCH(dha::ErrorCode, code);

    QTemporaryDir root;
    QVERIFY(root.isValid());
    const QString modelDir = QDir(root.path()).filePath("model");
    createFiles(root.path(), modelDir, files);
    if (QTest::currentTestFailed()) return;

    try {
        if (action == "safetensors") {
            dha::io::SafetensorsFile::open(QDir(modelDir).filePath("model.safetensors").toStdString());
        } else if (action == "checkpoint") {
            dha::io::SafetensorsCheckpoint::open(modelDir.toStdString());
        } else {
            dha::loadModelConfig(QDir(modelDir).filePath("config.json").toStdString());
        }
        QFAIL("no exception: the malformed input was accepted");
    } catch (const dha::Exception& error) {
        const QString path = QString::fromStdString(error.error().path);
        const QString message = QString::fromStdString(error.error().message);
        const QString described = QString::fromStdString(error.error().describe());
        QVERIFY2(path.endsWith("/" + offending),
                 qPrintable("error path '" + path + "' does not name " + offending));
        QVERIFY2(described.startsWith(path + ": "), qPrintable(described));
        QVERIFY2(message.contains(fragment), qPrintable("message: " + message + "\nexpected: " + fragment));
        QVERIFY2(error.error().code == code,
                 qPrintable(QString("code: ") + dha::errorCodeName(error.error().code)));
    } catch (const std::exception& error) {
        QFAIL(qPrintable(QString("wrong exception type: ") + error.what()));
    } catch (...) {
        QFAIL("unknown exception type");
    }
}

// The bases the table mutates are valid, so each row fails for its own reason.
void MalformedInputsTest::validBaselinesLoad() {
    QTemporaryDir root;
    const QString modelDir = QDir(root.path()).filePath("model");
    createFiles(root.path(), modelDir,
                {{"config.json", config({{"dha", dhaObject("[2, 2]", "[[0,0,1,1],[1,0,0,1]]")}})},
                 {"a.safetensors", kValid},
                 {"model.safetensors.index.json", index(R"({"x": "a.safetensors"})")}});
    const auto parsed = dha::loadModelConfig(QDir(modelDir).filePath("config.json").toStdString());
    QCOMPARE(parsed.layers[1].keyHeadOfQuery, (std::vector<int>{1, 0, 0, 1}));
    QCOMPARE(dha::io::SafetensorsCheckpoint::open(modelDir.toStdString()).names(),
             std::vector<std::string>{"x"});
    QVERIFY(
        dha::io::SafetensorsFile::open(QDir(modelDir).filePath("a.safetensors").toStdString())->find("x"));
}

void MalformedInputsTest::survivesRandomCorruption_data() {
    QTest::addColumn<QString>("kind");
    QTest::newRow("safetensors") << "safetensors";
    QTest::newRow("config") << "config";
}

// Seeded byte flips, truncations and insertions of valid files: every outcome is success or a dha::Exception
// naming the file, never a crash or another exception; a file that opens keeps every tensor inside it.
void MalformedInputsTest::survivesRandomCorruption() {
    QFETCH(QString, kind);
    const bool tensors = kind == "safetensors";
    const QByteArray valid =
        tensors ? st("{" + entry("a", R"("F32")", "[2,2]", "[0,16]") + "," +
                         entry("b", R"("BF16")", "[3]", "[16,22]") + R"(,"__metadata__":{"format":"pt"}})",
                     QByteArray(22, '\x11'))
                : config({{"num_key_value_heads", "2"},
                          {"rope_scaling", R"({"type": "linear", "factor": 2.0})"},
                          {"dha", dhaObject("[2, 2]", "[[0,0,1,1],[1,0,0,1]]")}});
    QTemporaryDir dir;
    const std::string path =
        QDir(dir.path()).filePath(tensors ? "x.safetensors" : "config.json").toStdString();
    std::mt19937 random(12345);  // fixed seed: the same cases every run
    const auto pick = [&random](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    int accepted = 0;
    for (int iteration = 0; iteration < 400; ++iteration) {
        QByteArray bytes = valid;
        switch (pick(3)) {
            case 0:  // flip 1-3 bytes to random values
                for (int i = 0, n = 1 + pick(3); i < n; ++i)
                    bytes[pick(bytes.size())] = static_cast<char>(pick(256));
                break;
            case 1:  // truncate
                bytes.truncate(pick(bytes.size()));
                break;
            default:  // insert a structural character
                bytes.insert(pick(bytes.size()), "{}[],:\"0-9e"[pick(12)]);
                break;
        }
        QFile file(QString::fromStdString(path));
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(bytes);
        file.close();
        try {
            if (tensors) {
                const auto opened = dha::io::SafetensorsFile::open(path);
                for (const auto& tensor : opened->tensors()) {
                    QVERIFY(tensor.dataEnd <= static_cast<uint64_t>(bytes.size()));
                    QCOMPARE(tensor.byteSize(),
                             static_cast<uint64_t>(tensor.numel()) * dha::io::dtypeSize(tensor.dtype));
                }
            } else {
                const auto parsed = dha::loadModelConfig(path);
                QCOMPARE(parsed.layers.size(), static_cast<size_t>(parsed.numLayers));
            }
            ++accepted;
        } catch (const dha::Exception& error) {
            QCOMPARE(error.error().path, path);
            QVERIFY(!error.error().message.empty());
        } catch (const std::exception& error) {
            QFAIL(qPrintable(QString("wrong exception type: ") + error.what()));
        }
    }
    QVERIFY(accepted < 400);  // the corruptions did reach the checks
}

DHA_TEST_SUITE(MalformedInputsTest)
#include "malformed_inputs_test.moc"
