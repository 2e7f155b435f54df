// Model directories: byte-identical writer round trips and the loader's checks and error messages.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "dha/job.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "test_models.h"
#include "test_registry.h"
#include "tiny_model_weights.h"

using namespace dha;
namespace fs = std::filesystem;

namespace {

struct RawTensor {
    std::string name;
    io::DType dtype = io::DType::F32;
    std::vector<int64_t> shape;
    std::vector<std::byte> bytes;
};

std::vector<RawTensor> readTensors(const fs::path& file) {
    const auto safetensors = io::SafetensorsFile::open(file);
    std::vector<RawTensor> tensors;
    for (const io::TensorInfo& info : safetensors->tensors()) {
        const std::byte* data = safetensors->data(info);
        tensors.push_back(
            {info.name, info.dtype, info.shape, std::vector<std::byte>(data, data + info.byteSize())});
    }
    return tensors;
}

void writeTensors(const fs::path& file, const std::vector<RawTensor>& tensors) {
    std::vector<io::TensorToWrite> toWrite;
    for (const RawTensor& tensor : tensors)
        toWrite.push_back({tensor.name, tensor.dtype, tensor.shape, tensor.bytes.data()});
    io::writeSafetensors(file, toWrite);
}

RawTensor& tensorNamed(std::vector<RawTensor>& tensors, const std::string& name) {
    for (RawTensor& tensor : tensors) {
        if (tensor.name == name) return tensor;
    }
    throw std::runtime_error("test model has no tensor " + name);
}

RawTensor floatTensor(const std::string& name, std::vector<int64_t> shape) {
    int64_t numel = 1;
    for (const int64_t size : shape) numel *= size;
    return {name, io::DType::F32, std::move(shape), std::vector<std::byte>(static_cast<size_t>(numel) * 4)};
}

std::string fileBytes(const fs::path& path) {
    std::ifstream stream(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

// The error loadModel throws, or a failure when it loads.
Error loadError(const fs::path& dir, const model::LoadOptions& options = {}) {
    try {
        model::loadModel(dir, options);
    } catch (const Exception& error) {
        return error.error();
    }
    QTest::qFail("loadModel succeeded, expected an error", __FILE__, __LINE__);
    return {};
}

at::Tensor logitsOf(model::Transformer& model) {
    at::NoGradGuard noGrad;
    return model->forward(
        at::tensor(std::vector<int64_t>{4, 8, 15, 16, 23, 42, 1, 0, 63, 7}, at::kLong).view({2, 5}));
}

ModelConfig configNamed(const std::string& kind) {
    if (kind == "dha") return test::tinyDhaConfig();
    ModelConfig config = test::tinyConfig();
    if (kind == "gqa") config = test::withLayouts(config, {HeadLayout::gqa(4, 2), HeadLayout::gqa(4, 2)});
    // GQA with a different group count per layer is not uniform: it needs the `dha` object.
    if (kind == "per-layer-gqa")
        config = test::withLayouts(config, {HeadLayout::gqa(4, 2), HeadLayout::gqa(4, 1)});
    if (kind == "tied") config.tieWordEmbeddings = true;
    if (kind == "llama-bias") config.attentionBias = config.outputBias = true;
    if (kind == "qwen2-bias") {
        config.modelType = "qwen2";
        config.attentionBias = true;
        config.tieWordEmbeddings = true;
    }
    return config;
}

}  // namespace

class ModelIoTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripIsByteIdentical_data();
    void roundTripIsByteIdentical();
    void savesAndLoadsOtherDtypes();
    void loadsShardedCheckpoint();
    void wrongShapeNamesTheFile_data();
    void wrongShapeNamesTheFile();
    void missingTensorIsNamed();
    void unusedTensorsAreRejectedUnlessAllowed();
    void integerDtypeIsRejected();
    void saveReplacesExistingModel();
    void loadingCanBeCancelled();

private:
    QTemporaryDir m_dir;
};

void ModelIoTest::roundTripIsByteIdentical_data() {
    QTest::addColumn<QString>("kind");
    for (const char* kind : {"mha", "gqa", "per-layer-gqa", "dha", "tied", "llama-bias", "qwen2-bias"})
        QTest::newRow(kind) << kind;
}

void ModelIoTest::roundTripIsByteIdentical() {
    QFETCH(QString, kind);
    const ModelConfig config = configNamed(kind.toStdString());
    const fs::path first = fs::path(m_dir.path().toStdString()) / ("first-" + kind.toStdString());
    const fs::path second = fs::path(m_dir.path().toStdString()) / ("second-" + kind.toStdString());
    test::writeTinyModel(first, config, 1234);

    model::LoadedModel loaded = model::loadModel(first);
    QVERIFY(loaded.unusedTensors.empty());
    QCOMPARE(loaded.config.layers, config.layers);
    QCOMPARE(loaded.config.tieWordEmbeddings, config.tieWordEmbeddings);
    QCOMPARE(loaded.config.attentionBias, config.attentionBias);
    QCOMPARE(loaded.config.outputBias, config.outputBias);
    const bool needsDhaObject = kind == "dha" || kind == "per-layer-gqa";
    QCOMPARE(loaded.config.dhaSource.has_value(), needsDhaObject);
    QCOMPARE(loaded.config.numKeyValueHeads, kind == "gqa" ? 2 : 4);
    model::Transformer original = test::makeTinyModel(config, 1234);
    const at::Tensor expected = logitsOf(original);
    QVERIFY(at::equal(logitsOf(loaded.model), expected));

    model::saveModel(second, loaded.config, loaded.model);
    QCOMPARE(fileBytes(second / "model.safetensors"), fileBytes(first / "model.safetensors"));
    QCOMPARE(fileBytes(second / "config.json"), fileBytes(first / "config.json"));
    model::LoadedModel reloaded = model::loadModel(second);
    QVERIFY(at::equal(logitsOf(reloaded.model), expected));

    // The file lists tensors in the canonical order, with lm_head only when untied.
    const auto tensors = readTensors(first / "model.safetensors");
    QCOMPARE(tensors.front().name, std::string("model.embed_tokens.weight"));
    QCOMPARE(tensors.back().name,
             std::string(config.tieWordEmbeddings ? "model.norm.weight" : "lm_head.weight"));
    const auto json = nlohmann::json::parse(fileBytes(first / "config.json"));
    QCOMPARE(json.contains("dha"), needsDhaObject);
}

void ModelIoTest::savesAndLoadsOtherDtypes() {
    const ModelConfig config = test::tinyDhaConfig();
    const fs::path fp32Dir = fs::path(m_dir.path().toStdString()) / "dtype-f32";
    const fs::path bf16Dir = fs::path(m_dir.path().toStdString()) / "dtype-bf16";
    test::writeTinyModel(fp32Dir, config, 77);
    test::writeTinyModel(bf16Dir, config, 77, io::DType::BF16);
    QCOMPARE(readTensors(bf16Dir / "model.safetensors").front().dtype, io::DType::BF16);

    // BF16 file into an fp32 model: exactly the bf16-rounded weights.
    model::LoadedModel widened = model::loadModel(bf16Dir);
    QCOMPARE(widened.config.torchDtype, std::string("bfloat16"));
    model::Transformer rounded = test::makeTinyModel(config, 77, {at::kBFloat16, c10::kCPU});
    const auto expectedParameters = rounded->named_parameters();
    for (const auto& item : widened.model->named_parameters()) {
        QCOMPARE(item.value().scalar_type(), at::kFloat);
        QVERIFY2(at::equal(item.value(), expectedParameters[item.key()].to(at::kFloat)), item.key().c_str());
    }

    // An fp32 file loaded as bf16 computes logits close to the fp32 model's.
    model::LoadOptions options;
    options.dtype = at::kBFloat16;
    model::LoadedModel bf16 = model::loadModel(fp32Dir, options);
    QCOMPARE(bf16.model->dtype(), at::kBFloat16);
    model::LoadedModel fp32 = model::loadModel(fp32Dir);
    const at::Tensor reference = logitsOf(fp32.model);
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    const double diff = (logitsOf(bf16.model) - reference).abs().max().item<double>();
    QVERIFY2(diff <= 5e-2 * scale, std::to_string(diff).c_str());

    options.dtype = at::kInt;
    QCOMPARE(loadError(fp32Dir, options).code, ErrorCode::Usage);
    options.dtype = at::kHalf;  // no float16 matmul on the CPU
    QCOMPARE(loadError(fp32Dir, options).code, ErrorCode::Unsupported);
}

void ModelIoTest::loadsShardedCheckpoint() {
    const ModelConfig config = test::tinyConfig();
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "sharded";
    test::writeTinyModel(dir, config, 5);
    const auto tensors = readTensors(dir / "model.safetensors");
    std::vector<RawTensor> firstShard, secondShard;
    nlohmann::json weightMap = nlohmann::json::object();
    for (const RawTensor& tensor : tensors) {
        const bool first = tensor.name.rfind("model.layers.1.", 0) != 0 && tensor.name != "lm_head.weight";
        (first ? firstShard : secondShard).push_back(tensor);
        weightMap[tensor.name] =
            first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    writeTensors(dir / "model-00001-of-00002.safetensors", firstShard);
    writeTensors(dir / "model-00002-of-00002.safetensors", secondShard);
    io::writeFileAtomically(dir / "model.safetensors.index.json",
                            nlohmann::json{{"weight_map", weightMap}}.dump());
    model::LoadedModel single = model::loadModel(dir);
    fs::remove(dir / "model.safetensors");
    model::LoadedModel sharded = model::loadModel(dir);
    QVERIFY(at::equal(logitsOf(sharded.model), logitsOf(single.model)));

    // A wrong shape in the second shard names that shard.
    auto broken = secondShard;
    tensorNamed(broken, "model.layers.1.self_attn.k_proj.weight") =
        floatTensor("model.layers.1.self_attn.k_proj.weight", {16, 32});
    writeTensors(dir / "model-00002-of-00002.safetensors", broken);
    const Error error = loadError(dir);
    QCOMPARE(error.path, (dir / "model-00002-of-00002.safetensors").string());
    QCOMPARE(
        error.message,
        std::string("tensor 'model.layers.1.self_attn.k_proj.weight' has shape [16, 32], expected [32, 32]"));
    // A tensor missing from a sharded checkpoint is reported against the index.
    writeTensors(dir / "model-00002-of-00002.safetensors", secondShard);
    weightMap.erase("model.layers.1.mlp.up_proj.weight");
    auto withoutUp = secondShard;
    withoutUp.erase(std::find_if(withoutUp.begin(), withoutUp.end(), [](const RawTensor& t) {
        return t.name == "model.layers.1.mlp.up_proj.weight";
    }));
    writeTensors(dir / "model-00002-of-00002.safetensors", withoutUp);
    io::writeFileAtomically(dir / "model.safetensors.index.json",
                            nlohmann::json{{"weight_map", weightMap}}.dump());
    const Error missing = loadError(dir);
    QCOMPARE(missing.path, (dir / "model.safetensors.index.json").string());
    QCOMPARE(missing.message, std::string("missing tensor 'model.layers.1.mlp.up_proj.weight'"));
}

void ModelIoTest::wrongShapeNamesTheFile_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("tensor");
    QTest::addColumn<QString>("message");
    QTest::newRow("k_proj")
        << "mha"
        << "model.layers.1.self_attn.k_proj.weight"
        << "tensor 'model.layers.1.self_attn.k_proj.weight' has shape [16, 32], expected [32, 32]";
    // DHA config, layer 0 has 3 value heads: v_proj must be [24, 32].
    QTest::newRow("dha-v_proj")
        << "dha"
        << "model.layers.0.self_attn.v_proj.weight"
        << "tensor 'model.layers.0.self_attn.v_proj.weight' has shape [16, 32], expected [24, 32]";
    QTest::newRow("bias")
        << "llama-bias"
        << "model.layers.0.self_attn.o_proj.bias"
        << "tensor 'model.layers.0.self_attn.o_proj.bias' has shape [16, 32], expected [32]";
}

void ModelIoTest::wrongShapeNamesTheFile() {
    QFETCH(QString, kind);
    QFETCH(QString, tensor);
    QFETCH(QString, message);
    const fs::path dir =
        fs::path(m_dir.path().toStdString()) / (std::string("shape-") + QTest::currentDataTag());
    test::writeTinyModel(dir, configNamed(kind.toStdString()), 3);
    auto tensors = readTensors(dir / "model.safetensors");
    tensorNamed(tensors, tensor.toStdString()) = floatTensor(tensor.toStdString(), {16, 32});
    writeTensors(dir / "model.safetensors", tensors);
    const Error error = loadError(dir);
    QCOMPARE(error.code, ErrorCode::InvalidInput);
    QCOMPARE(error.path, (dir / "model.safetensors").string());
    QCOMPARE(QString::fromStdString(error.message), message);
    QCOMPARE(error.describe(), (dir / "model.safetensors").string() + ": " + message.toStdString());
}

void ModelIoTest::missingTensorIsNamed() {
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "missing";
    test::writeTinyModel(dir, test::tinyConfig(), 3);
    auto tensors = readTensors(dir / "model.safetensors");
    tensors.erase(std::find_if(tensors.begin(), tensors.end(), [](const RawTensor& t) {
        return t.name == "model.layers.1.self_attn.k_proj.weight";
    }));
    writeTensors(dir / "model.safetensors", tensors);
    const Error error = loadError(dir);
    QCOMPARE(error.path, (dir / "model.safetensors").string());
    QCOMPARE(error.message, std::string("missing tensor 'model.layers.1.self_attn.k_proj.weight'"));
}

void ModelIoTest::unusedTensorsAreRejectedUnlessAllowed() {
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "unused";
    test::writeTinyModel(dir, test::tinyConfig(), 3);
    const auto clean = readTensors(dir / "model.safetensors");

    // Rotary inv_freq buffers (old conversions) are ignored, as transformers does.
    auto withRotary = clean;
    withRotary.push_back(floatTensor("model.layers.0.self_attn.rotary_emb.inv_freq", {4}));
    writeTensors(dir / "model.safetensors", withRotary);
    QCOMPARE(model::loadModel(dir).unusedTensors,
             std::vector<std::string>{"model.layers.0.self_attn.rotary_emb.inv_freq"});

    auto withExtras = clean;
    std::vector<std::string> extras;
    for (int i = 0; i < 7; ++i) {
        extras.push_back("extra." + std::to_string(i) + ".weight");
        withExtras.push_back(floatTensor(extras.back(), {2}));
    }
    writeTensors(dir / "model.safetensors", withExtras);
    const Error error = loadError(dir);
    QCOMPARE(error.path, (dir / "model.safetensors").string());
    QCOMPARE(error.message,
             std::string("7 tensors are not used by this model: 'extra.0.weight', 'extra.1.weight', "
                         "'extra.2.weight', 'extra.3.weight', 'extra.4.weight' and 2 more"));
    model::LoadOptions options;
    options.allowUnusedTensors = true;
    model::LoadedModel loaded = model::loadModel(dir, options);
    QCOMPARE(loaded.unusedTensors, extras);
    model::Transformer original = test::makeTinyModel(test::tinyConfig(), 3);
    QVERIFY(at::equal(logitsOf(loaded.model), logitsOf(original)));

    withExtras.resize(clean.size() + 1);
    writeTensors(dir / "model.safetensors", withExtras);
    QCOMPARE(loadError(dir).message, std::string("1 tensor is not used by this model: 'extra.0.weight'"));
}

void ModelIoTest::integerDtypeIsRejected() {
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "integer";
    test::writeTinyModel(dir, test::tinyConfig(), 3);
    auto tensors = readTensors(dir / "model.safetensors");
    tensorNamed(tensors, "model.layers.0.mlp.gate_proj.weight").dtype = io::DType::I32;  // same byte size
    writeTensors(dir / "model.safetensors", tensors);
    const Error error = loadError(dir);
    QCOMPARE(error.path, (dir / "model.safetensors").string());
    QCOMPARE(error.message,
             std::string("tensor 'model.layers.0.mlp.gate_proj.weight' has dtype I32, expected a "
                         "floating-point dtype (F32, F16, BF16 or F64)"));
}

void ModelIoTest::saveReplacesExistingModel() {
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "replace";
    test::writeTinyModel(dir, test::tinyConfig(), 1);
    const ModelConfig dhaConfig = test::tinyDhaConfig();
    model::Transformer replacement = test::makeTinyModel(dhaConfig, 2);
    model::saveModel(dir, dhaConfig, replacement);
    model::LoadedModel loaded = model::loadModel(dir);
    QCOMPARE(loaded.config.layers, dhaConfig.layers);
    QVERIFY(at::equal(logitsOf(loaded.model), logitsOf(replacement)));
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename().string());
    std::sort(files.begin(), files.end());
    QCOMPARE(files, (std::vector<std::string>{"config.json", "model.safetensors"}));  // no temporaries left

    // A config that does not describe the model is refused before anything is written.
    const std::string before = fileBytes(dir / "model.safetensors");
    model::Transformer mha = test::makeTinyModel(test::tinyConfig(), 3);
    bool threw = false;
    try {
        model::saveModel(dir, dhaConfig, mha);
    } catch (const Exception&) {
        threw = true;
    }
    QVERIFY(threw);
    QCOMPARE(fileBytes(dir / "model.safetensors"), before);
}

void ModelIoTest::loadingCanBeCancelled() {
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "cancel";
    test::writeTinyModel(dir, test::tinyConfig(), 1);
    CancelToken cancel;
    model::LoadOptions options;
    options.cancel = &cancel;
    int64_t lastDone = 0, lastTotal = 0;
    options.onTensorLoaded = [&](int64_t done, int64_t total) {
        lastDone = done;
        lastTotal = total;
        if (done == 3) cancel.requestCancel();
    };
    const Error error = loadError(dir, options);
    QCOMPARE(error.code, ErrorCode::Cancelled);
    QCOMPARE(lastDone, int64_t{3});
    QCOMPARE(lastTotal, int64_t{2 * 9 + 3});
}

DHA_TEST_SUITE(ModelIoTest)
#include "model_io_test.moc"
