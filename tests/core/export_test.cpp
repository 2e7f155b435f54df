// DHA and GQA exports: what they write, the reload check, and that a refused or failed export publishes
// nothing.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "conversion/dha_model_builder.h"
#include "conversion/fusion_weights.h"
#include "dha/error.h"
#include "exporting/dha_export.h"
#include "exporting/gqa_export.h"
#include "fusion_fixtures.h"
#include "io/atomic_file.h"
#include "io/model_fingerprint.h"
#include "model/model_loader.h"
#include "test_registry.h"
#include "tiny_model_weights.h"

using namespace dha;
namespace fs = std::filesystem;

namespace {

const fs::path kTokenizer = fs::path(DHA_TEST_DATA_DIR) / "tokenizers" / "bpe_bytefallback.model";

Plan planNamed(const std::string& name) {
    if (name == "decoupled") return test::decoupledFusionPlan();
    if (name == "shared-equal") return test::sharedEqualPlan();
    if (name == "shared-unequal") return test::sharedUnequalPlan();
    return test::mixedCountPlan();
}

io::DType dtypeNamed(const QString& name) { return name == "bf16" ? io::DType::BF16 : io::DType::F32; }

// A converted model that is not a plain mean pool: every group collapses with its own random weights.
model::Transformer convertedModel(const model::Transformer& source, const Plan& plan, uint64_t seed) {
    const conversion::FusionWeights fusion(source, plan);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    {
        at::NoGradGuard noGrad;
        for (const at::Tensor& block : fusion.parameters()) block.copy_(at::rand(block.sizes(), generator));
    }
    return conversion::buildDhaModel(source, plan, fusion.collapse());
}

// The model with its weights rounded to `dtype` and back: what a file at that dtype holds.
model::Transformer roundedTo(const model::Transformer& model, c10::ScalarType dtype) {
    model::Transformer copy = conversion::cloneModel(model);
    at::NoGradGuard noGrad;
    for (auto& item : copy->named_parameters()) item.value().copy_(item.value().to(dtype).to(at::kFloat));
    return copy;
}

// Entries of `dir` whose names start with a dot: what a leaked staging directory would look like.
std::vector<std::string> hiddenEntries(const fs::path& dir) {
    std::vector<std::string> hidden;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!name.empty() && name[0] == '.') hidden.push_back(name);
    }
    return hidden;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

class ExportTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void dhaExportReloadsWithEqualLogits_data();
    void dhaExportReloadsWithEqualLogits();
    void refusesOccupiedTargetAndMismatchedSource();
    void failedReloadCheckPublishesNothing();
    void cancelledExportPublishesNothing();
    void gqaExportMatchesDhaModel_data();
    void gqaExportMatchesDhaModel();
    void gqaExportRefusals_data();
    void gqaExportRefusals();

private:
    // Writes the source model directory (seeded weights, a tokenizer) under a fresh root and loads it.
    model::Transformer writeSource(bool biased);

    std::unique_ptr<QTemporaryDir> m_dir;
    fs::path m_root;
    fs::path m_sourceDir;
};

void ExportTest::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_root = fs::path(m_dir->path().toStdString()) / "exports";
    m_sourceDir = fs::path(m_dir->path().toStdString()) / "source";
    fs::create_directories(m_root);
}

model::Transformer ExportTest::writeSource(bool biased) {
    test::writeTinyModel(m_sourceDir, test::fusionSourceConfig(biased), 21);
    fs::copy_file(kTokenizer, m_sourceDir / "tokenizer.model");
    io::writeFileAtomically(m_sourceDir / "tokenizer_config.json", "{\"bos_token\": \"<s>\"}\n");
    return model::loadModel(m_sourceDir).model;
}

void ExportTest::dhaExportReloadsWithEqualLogits_data() {
    QTest::addColumn<QString>("plan");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<bool>("biased");
    QTest::addColumn<bool>("targetExists");
    QTest::newRow("decoupled fp32") << "decoupled"
                                    << "fp32" << false << false;
    QTest::newRow("decoupled bf16 biased") << "decoupled"
                                           << "bf16" << true << false;
    QTest::newRow("shared fp32 into an empty directory") << "shared-equal"
                                                         << "fp32" << false << true;
}

void ExportTest::dhaExportReloadsWithEqualLogits() {
    QFETCH(QString, plan);
    QFETCH(QString, dtype);
    QFETCH(bool, biased);
    QFETCH(bool, targetExists);
    const model::Transformer source = writeSource(biased);
    const Plan groups = planNamed(plan.toStdString());
    const model::Transformer converted = convertedModel(source, groups, 31);
    const fs::path target = m_root / "dha";
    if (targetExists) fs::create_directory(target);

    exporting::ExportOptions options;
    options.dtype = dtypeNamed(dtype);
    options.card.tokensUsed = 12345;
    options.card.heldOutLossBefore = 3.25;
    options.card.heldOutLossAfter = 3.5;
    const exporting::ExportResult result = exporting::exportDhaModel(converted, m_sourceDir, target, options);

    QCOMPARE(result.directory, target);
    QVERIFY(hiddenEntries(m_root).empty());
    const std::vector<std::string> files = {"README.md", "config.json", "model.safetensors",
                                            "tokenizer.model", "tokenizer_config.json"};
    QCOMPARE(result.files, files);
    for (const std::string& name : files) QVERIFY2(fs::is_regular_file(target / name), name.c_str());
    QCOMPARE(io::readSmallFile(target / "tokenizer.model"), io::readSmallFile(kTokenizer));

    // Reload independently and compare with the in-memory model (rounded to bf16 for the bf16 export: the
    // same tolerance then holds).
    const model::LoadedModel reloaded = model::loadModel(target);
    QCOMPARE(reloaded.config.layers, groups.layouts());
    const at::Tensor tokens = test::fixedTokens(64);
    const model::Transformer expected = dtype == "bf16" ? roundedTo(converted, at::kBFloat16) : converted;
    const double diff =
        test::maxAbsDifference(test::logitsOf(reloaded.model, tokens), test::logitsOf(expected, tokens));
    QVERIFY2(diff <= 1e-5, std::to_string(diff).c_str());
    QVERIFY(result.reloadCheck.maxAbsLogitDiff <= result.reloadCheck.tolerance);
    QVERIFY(result.reloadCheck.tolerance >= 1e-5 && result.reloadCheck.tolerance < 1e-3);
    if (dtype == "bf16") QVERIFY(result.reloadCheck.storageRoundingDiff > 0);
    const std::string rounding = "storing the weights as bf16 moved the logits by up to";

    // config.json: the dha object with per-layer counts and maps, the source's fingerprint and KV figures.
    const int bytes = dtype == "bf16" ? 2 : 4;
    const auto json = nlohmann::json::parse(io::readSmallFile(target / "config.json"));
    QVERIFY(json.contains("dha"));
    const auto& dha = json["dha"];
    QCOMPARE(dha["format_version"].get<int>(), 1);
    int64_t keptHeads = 0;
    const std::vector<HeadLayout> layouts = groups.layouts();
    for (size_t layer = 0; layer < layouts.size(); ++layer) {
        QCOMPARE(dha["num_key_heads"][layer].get<int>(), groups.layers[layer].numKeyHeads());
        QCOMPARE(dha["num_value_heads"][layer].get<int>(), groups.layers[layer].numValueHeads());
        QCOMPARE(dha["key_head_of_query"][layer].get<std::vector<int>>(), layouts[layer].keyHeadOfQuery);
        QCOMPARE(dha["value_head_of_query"][layer].get<std::vector<int>>(), layouts[layer].valueHeadOfQuery);
        keptHeads += groups.layers[layer].numKeyHeads() + groups.layers[layer].numValueHeads();
    }
    QCOMPARE(dha["source_model"]["fingerprint"].get<std::string>(), io::modelFingerprint(m_sourceDir));
    QCOMPARE(dha["source_model"]["num_key_value_heads"].get<int>(), 8);
    QCOMPARE(dha["kv_bytes_per_token"].get<int64_t>(), keptHeads * 4 * bytes);  // head_dim 4
    QCOMPARE(dha["source_kv_bytes_per_token"].get<int64_t>(), int64_t{2 * 2 * 8 * 4} * bytes);
    QCOMPARE(result.kvBytesPerToken, keptHeads * 4 * bytes);
    QCOMPARE(json["torch_dtype"].get<std::string>(), std::string(dtype == "bf16" ? "bfloat16" : "float32"));

    // The model card: source, budget, per-layer counts, KV saving and the caller's figures.
    const std::string card = io::readSmallFile(target / "README.md");
    QVERIFY(contains(card, m_sourceDir.string()));
    QVERIFY(contains(card, io::modelFingerprint(m_sourceDir)));
    QVERIFY(contains(card, std::to_string(keptHeads) + " of 32 key+value heads kept"));
    QVERIFY(contains(card, "| 0 | " + std::to_string(groups.layers[0].numKeyHeads()) + " | " +
                               std::to_string(groups.layers[0].numValueHeads()) + " | "));
    QVERIFY(contains(card, "saved)"));
    QVERIFY(contains(card, "| Tokens used | 12345 |"));
    QVERIFY(contains(card, "source 3.25, this model 3.5"));
    QCOMPARE(contains(card, rounding), dtype == "bf16");
}

void ExportTest::refusesOccupiedTargetAndMismatchedSource() {
    const model::Transformer source = writeSource(false);
    const model::Transformer converted = conversion::buildMeanPoolModel(source, test::decoupledFusionPlan());

    const fs::path occupied = m_root / "occupied";
    fs::create_directory(occupied);
    io::writeFileAtomically(occupied / "keep.txt", "mine\n");
    const Error notEmpty =
        test::thrownError([&] { exporting::exportDhaModel(converted, m_sourceDir, occupied); });
    QCOMPARE(notEmpty.code, ErrorCode::Usage);
    QCOMPARE(notEmpty.path, occupied.string());
    QVERIFY2(contains(notEmpty.message, "not empty"), notEmpty.message.c_str());
    QCOMPARE(io::readSmallFile(occupied / "keep.txt"), std::string("mine\n"));
    QCOMPARE(static_cast<int>(std::distance(fs::directory_iterator(occupied), fs::directory_iterator())), 1);

    const fs::path file = m_root / "a-file";
    io::writeFileAtomically(file, "x");
    QCOMPARE(test::thrownError([&] {
                 exporting::exportGqaModel(conversion::buildMeanPoolModel(source, test::sharedEqualPlan()),
                                           m_sourceDir, file);
             }).code,
             ErrorCode::Usage);

    // A source directory of another shape is not the model this conversion came from.
    const fs::path other = fs::path(m_dir->path().toStdString()) / "other-source";
    test::writeTinyModel(other, test::tinyConfig(), 3);
    const Error mismatch =
        test::thrownError([&] { exporting::exportDhaModel(converted, other, m_root / "mismatch"); });
    QCOMPARE(mismatch.code, ErrorCode::InvalidInput);
    QCOMPARE(mismatch.path, other.string());
    QVERIFY2(contains(mismatch.message, "query heads 4"), mismatch.message.c_str());

    QVERIFY(!fs::exists(m_root / "mismatch"));
    QVERIFY(hiddenEntries(m_root).empty());
}

// A reloaded model that disagrees with the in-memory one (simulated through the test seam) stops the export.
void ExportTest::failedReloadCheckPublishesNothing() {
    const model::Transformer source = writeSource(false);
    const model::Transformer converted = convertedModel(source, test::decoupledFusionPlan(), 32);
    const fs::path target = m_root / "broken";
    exporting::ExportOptions options;
    bool hookRan = false;
    options.afterReloadForTesting = [&](model::Transformer& reloaded) {
        hookRan = true;
        at::NoGradGuard noGrad;
        reloaded->layer(1)->selfAttn->kProj->weight()[0][0].add_(0.5);
    };
    const Error error =
        test::thrownError([&] { exporting::exportDhaModel(converted, m_sourceDir, target, options); });
    QVERIFY(hookRan);
    QCOMPARE(error.code, ErrorCode::Internal);
    QCOMPARE(error.path, target.string());
    QVERIFY2(contains(error.message, "reload check failed"), error.message.c_str());
    QVERIFY(!fs::exists(target));
    QVERIFY(hiddenEntries(m_root).empty());

    // The same export without the corruption goes through.
    QVERIFY(exporting::exportDhaModel(converted, m_sourceDir, target).reloadCheck.maxAbsLogitDiff <= 1e-5);
}

void ExportTest::cancelledExportPublishesNothing() {
    const model::Transformer source = writeSource(false);
    const model::Transformer converted = convertedModel(source, test::sharedEqualPlan(), 33);
    for (const bool gqa : {false, true}) {
        CancelToken cancel;
        exporting::ExportOptions options;
        options.cancel = &cancel;
        options.afterReloadForTesting = [&](model::Transformer&) { cancel.requestCancel(); };  // mid-export
        const fs::path target = m_root / (gqa ? "gqa" : "dha");
        const Error error = test::thrownError([&] {
            if (gqa) {
                exporting::exportGqaModel(converted, m_sourceDir, target, options);
            } else {
                exporting::exportDhaModel(converted, m_sourceDir, target, options);
            }
        });
        QCOMPARE(error.code, ErrorCode::Cancelled);
        QVERIFY(!fs::exists(target));
    }
    QVERIFY(hiddenEntries(m_root).empty());
}

void ExportTest::gqaExportMatchesDhaModel_data() {
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<bool>("biased");
    QTest::newRow("fp32") << "fp32" << false;
    QTest::newRow("bf16 biased") << "bf16" << true;
}

void ExportTest::gqaExportMatchesDhaModel() {
    QFETCH(QString, dtype);
    QFETCH(bool, biased);
    const model::Transformer source = writeSource(biased);
    const model::Transformer converted = convertedModel(source, test::sharedEqualPlan(), 34);

    // Layer 0's key head 0 serves {0,3,5,6} and value head 1 the same group; layer 1 likewise with {0,1,6,7}.
    const exporting::GqaMapping mapping = exporting::gqaMapping(converted->config(), io::DType::F32);
    QCOMPARE(mapping.groups, 2);
    QCOMPARE(mapping.queryOrder[0], (std::vector<int>{0, 3, 5, 6, 1, 2, 4, 7}));
    QCOMPARE(mapping.queryOrder[1], (std::vector<int>{0, 1, 6, 7, 2, 3, 4, 5}));
    QCOMPARE(mapping.valueHeadOfGroup[0], (std::vector<int>{1, 0}));
    QCOMPARE(mapping.valueHeadOfGroup[1], (std::vector<int>{1, 0}));
    const model::Transformer gqa = exporting::buildGqaModel(converted, mapping);
    const at::Tensor& dhaQuery = converted->layer(0)->selfAttn->qProj->weight();  // [8 * 4, 32]
    const at::Tensor& gqaQuery = gqa->layer(0)->selfAttn->qProj->weight();
    QVERIFY(at::equal(gqaQuery.slice(0, 4, 8), dhaQuery.slice(0, 12, 16)));        // new head 1 = old head 3
    const at::Tensor& dhaOutput = converted->layer(0)->selfAttn->oProj->weight();  // [32, 8 * 4]
    QVERIFY(at::equal(gqa->layer(0)->selfAttn->oProj->weight().slice(1, 16, 20), dhaOutput.slice(1, 4, 8)));
    const at::Tensor tokens = test::fixedTokens(64);
    const at::Tensor dhaLogits = test::logitsOf(converted, tokens);
    QVERIFY(test::maxAbsDifference(test::logitsOf(gqa, tokens), dhaLogits) <= 1e-5);

    exporting::ExportOptions options;
    options.dtype = dtypeNamed(dtype);
    const fs::path target = m_root / "gqa";
    const exporting::ExportResult result = exporting::exportGqaModel(converted, m_sourceDir, target, options);
    QVERIFY(result.reloadCheck.maxAbsLogitDiff <= result.reloadCheck.tolerance);
    QVERIFY(hiddenEntries(m_root).empty());

    const auto json = nlohmann::json::parse(io::readSmallFile(target / "config.json"));
    QVERIFY(!json.contains("dha"));
    QCOMPARE(json["num_key_value_heads"].get<int>(), 2);
    QCOMPARE(json["num_attention_heads"].get<int>(), 8);
    QVERIFY(fs::is_regular_file(target / "tokenizer.model"));
    QVERIFY(contains(io::readSmallFile(target / "README.md"), "GQA (stock Llama)"));

    const model::LoadedModel reloaded = model::loadModel(target);
    QVERIFY(reloaded.config.isUniform());
    QVERIFY(!reloaded.config.dhaSource.has_value());
    QCOMPARE(reloaded.config.layers[1], HeadLayout::gqa(8, 2));
    const model::Transformer expected = dtype == "bf16" ? roundedTo(converted, at::kBFloat16) : converted;
    const double diff =
        test::maxAbsDifference(test::logitsOf(reloaded.model, tokens), test::logitsOf(expected, tokens));
    QVERIFY2(diff <= 1e-5, std::to_string(diff).c_str());
}

void ExportTest::gqaExportRefusals_data() {
    QTest::addColumn<QString>("plan");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("nearest");
    // decoupled keeps 4+6 + 3+4 = 17 of 32 heads: the nearest uniform GQA keeps 4 per layer (16 heads).
    QTest::newRow("decoupled fp32")
        << "decoupled"
        << "fp32"
        << "layer 0 keys and values are grouped differently (4 key heads, 6 value heads)"
        << "the nearest GQA plan keeps 4 key/value heads per layer (256 bytes per token at fp32, 50% saved)";
    QTest::newRow("decoupled bf16")
        << "decoupled"
        << "bf16"
        << "layer 0 keys and values are grouped differently"
        << "the nearest GQA plan keeps 4 key/value heads per layer (128 bytes per token at bf16, 50% saved)";
    // 12 heads kept: 2 and 4 groups per layer are equally near; the larger one keeps at least as much.
    QTest::newRow("unequal groups")
        << "shared-unequal"
        << "fp32"
        << "layer 1 has groups of unequal size (1 to 3 query heads per key/value head)"
        << "the nearest GQA plan keeps 4 key/value heads per layer (256 bytes per token at fp32, 50% saved)";
    QTest::newRow("counts differ between layers") << "mixed-counts"
                                                  << "fp32"
                                                  << "layer 1 keeps 4 key/value heads and layer 0 keeps 2"
                                                  << "the nearest GQA plan keeps 4 key/value heads per layer";
}

void ExportTest::gqaExportRefusals() {
    QFETCH(QString, plan);
    QFETCH(QString, dtype);
    QFETCH(QString, reason);
    QFETCH(QString, nearest);
    const model::Transformer source = writeSource(false);
    const model::Transformer converted =
        conversion::buildMeanPoolModel(source, planNamed(plan.toStdString()));
    exporting::ExportOptions options;
    options.dtype = dtypeNamed(dtype);
    const fs::path target = m_root / "gqa";
    const Error error =
        test::thrownError([&] { exporting::exportGqaModel(converted, m_sourceDir, target, options); });
    QCOMPARE(error.code, ErrorCode::Unsupported);
    QCOMPARE(error.path, std::string("GQA export"));
    QVERIFY2(contains(error.message, reason.toStdString()), error.message.c_str());
    QVERIFY2(contains(error.message, nearest.toStdString()), error.message.c_str());
    QVERIFY(!error.hint.empty());
    QVERIFY(!fs::exists(target));
    QVERIFY(hiddenEntries(m_root).empty());
}

DHA_TEST_SUITE(ExportTest)
#include "export_test.moc"
