// The export job: a run's or a DHA model directory's model written again as DHA or stock GQA, reloading with
// the same logits; a GQA export of a decoupled plan refused with the nearest GQA plan; bad inputs refused.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "conversion/dha_model_builder.h"
#include "dha/conversion.h"
#include "dha/export.h"
#include "exporting/dha_export.h"
#include "fusion_fixtures.h"
#include "io/atomic_file.h"
#include "io/model_fingerprint.h"
#include "jobs/convert_spec.h"
#include "model/model_loader.h"
#include "test_registry.h"

using namespace dha;
namespace fs = std::filesystem;

namespace {

const fs::path kTokenizer = fs::path(DHA_TEST_DATA_DIR) / "tokenizers" / "bpe_bytefallback.model";

class LogSink : public JobSink {
public:
    void onLog(const LogEvent& event) override { logs.push_back(event); }
    std::vector<LogEvent> logs;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

Plan planNamed(const QString& name) {
    return name == "decoupled" ? test::decoupledFusionPlan() : test::sharedEqualPlan();
}

}  // namespace

class ExportJobTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void exportsRunAndReloadsWithEqualLogits_data();
    void exportsRunAndReloadsWithEqualLogits();
    void exportsDhaModelDirectoryWithoutItsSource();
    void refusesGqaForDecoupledPlan();
    void refusesBadInputs_data();
    void refusesBadInputs();
    void formatNames();

private:
    // A finished conversion run (run.json naming the source, RUN/export) of `plan` on a seeded source.
    model::Transformer writeRun(const Plan& plan);
    void writeRunJson(const fs::path& runDir);
    JobResult<ExportReport> exportTo(const fs::path& input, ExportFormat format, const fs::path& out);

    std::unique_ptr<QTemporaryDir> m_dir;
    fs::path m_root;
    fs::path m_sourceDir;
    fs::path m_runDir;
    LogSink m_sink;
};

void ExportJobTest::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_root = fs::path(m_dir->path().toStdString());
    m_sourceDir = m_root / "source";
    m_runDir = m_root / "run";
    m_sink.logs.clear();
}

// run.json as a conversion of m_sourceDir writes it (the run's spec is all the export job reads).
void ExportJobTest::writeRunJson(const fs::path& runDir) {
    ConvertSpec spec;
    spec.sourceModelDir = m_sourceDir;
    spec.trainText = m_root / "train.txt";
    spec.budget = Budget::ofFraction(0.5);
    spec.fusionTokens = spec.continuedTokens = 64;
    fs::create_directories(runDir);
    const nlohmann::json run = {
        {"format", "dha-convert-run"}, {"format_version", 2}, {"spec", jobs::convertSpecToJson(spec)}};
    io::writeFileAtomically(runDir / "run.json", run.dump(2));
}

model::Transformer ExportJobTest::writeRun(const Plan& plan) {
    test::writeTinyModel(m_sourceDir, test::fusionSourceConfig(), 21);
    fs::copy_file(kTokenizer, m_sourceDir / "tokenizer.model");
    const model::Transformer source = model::loadModel(m_sourceDir).model;
    const model::Transformer converted = conversion::buildMeanPoolModel(source, plan);
    writeRunJson(m_runDir);
    exporting::exportDhaModel(converted, m_sourceDir, m_runDir / "export");
    return converted;
}

JobResult<ExportReport> ExportJobTest::exportTo(const fs::path& input, ExportFormat format,
                                                const fs::path& out) {
    ExportSpec spec;
    spec.input = input;
    spec.format = format;
    spec.outDir = out;
    CancelToken cancel;
    return runExportJob(spec, m_sink, cancel);
}

void ExportJobTest::exportsRunAndReloadsWithEqualLogits_data() {
    QTest::addColumn<QString>("plan");
    QTest::addColumn<QString>("format");
    QTest::newRow("decoupled as dha") << "decoupled"
                                      << "dha";
    QTest::newRow("shared equal groups as dha") << "shared-equal"
                                                << "dha";
    QTest::newRow("shared equal groups as gqa") << "shared-equal"
                                                << "gqa";
}

void ExportJobTest::exportsRunAndReloadsWithEqualLogits() {
    QFETCH(QString, plan);
    QFETCH(QString, format);
    const Plan groups = planNamed(plan);
    const model::Transformer converted = writeRun(groups);
    const ExportFormat exportFormat = *exportFormatFromName(format.toStdString());
    const fs::path out = m_root / "out";
    const JobResult<ExportReport> result = exportTo(m_runDir, exportFormat, out);
    QVERIFY2(result.ok(), result.error.describe().c_str());
    const ExportReport& report = *result.value;

    QCOMPARE(report.directory, out);
    QCOMPARE(report.format, exportFormat);
    QCOMPARE(report.modelDir, m_runDir / "export");
    QCOMPARE(report.sourceModel, m_sourceDir.string());
    QCOMPARE(report.keptKvHeads, groups.keptHeads());
    QCOMPARE(report.sourceKvHeads, 32);
    // fp32, head_dim 4: 4 bytes x 4 wide per kept head; the MHA source keeps 2 layers x 16 heads.
    QCOMPARE(report.kvBytesPerToken, int64_t{groups.keptHeads()} * 16);
    QCOMPARE(report.sourceKvBytesPerToken, int64_t{32} * 16);
    QVERIFY(report.reloadMaxAbsDifference <= report.reloadTolerance);
    QVERIFY(report.reloadTolerance > 0);
    const std::vector<std::string> files = {"README.md", "config.json", "model.safetensors",
                                            "tokenizer.model"};
    QCOMPARE(report.files, files);
    for (const LogEvent& log : m_sink.logs) QVERIFY2(log.level == LogLevel::Info, log.message.c_str());

    // Reloaded independently, the export computes what the converted model computes.
    const model::LoadedModel reloaded = model::loadModel(out);
    const at::Tensor tokens = test::fixedTokens(64);
    const double diff =
        test::maxAbsDifference(test::logitsOf(reloaded.model, tokens), test::logitsOf(converted, tokens));
    QVERIFY2(diff <= 1e-5, std::to_string(diff).c_str());
    const auto config = nlohmann::json::parse(io::readSmallFile(out / "config.json"));
    if (exportFormat == ExportFormat::Gqa) {
        QCOMPARE(report.gqaGroups, 2);
        QVERIFY(!config.contains("dha"));
        QCOMPARE(config["num_key_value_heads"].get<int>(), 2);
        QVERIFY(reloaded.config.isUniform());
    } else {
        QCOMPARE(report.gqaGroups, 0);
        QCOMPARE(reloaded.config.layers, groups.layouts());
        // The source is the run's source directory: its fingerprint, as the run's own export records it.
        QCOMPARE(config["dha"]["source_model"]["fingerprint"].get<std::string>(),
                 io::modelFingerprint(m_sourceDir));
    }
    QVERIFY(contains(io::readSmallFile(out / "README.md"), m_sourceDir.string()));
}

// A DHA model directory whose source is gone: the source recorded in its config.json is kept.
void ExportJobTest::exportsDhaModelDirectoryWithoutItsSource() {
    const model::Transformer converted = writeRun(test::decoupledFusionPlan());
    const std::string fingerprint = io::modelFingerprint(m_sourceDir);
    fs::remove_all(m_sourceDir);
    const fs::path model = m_runDir / "export";

    const JobResult<ExportReport> direct = exportTo(model, ExportFormat::Dha, m_root / "direct");
    QVERIFY2(direct.ok(), direct.error.describe().c_str());
    QCOMPARE(direct.value->sourceModel, fingerprint);
    QCOMPARE(direct.value->sourceKvBytesPerToken, int64_t{32} * 16);
    const auto config = nlohmann::json::parse(io::readSmallFile(m_root / "direct" / "config.json"));
    QCOMPARE(config["dha"]["source_model"]["fingerprint"].get<std::string>(), fingerprint);
    QCOMPARE(config["dha"]["source_model"]["num_key_value_heads"].get<int>(), 8);
    QVERIFY(fs::is_regular_file(m_root / "direct" / "tokenizer.model"));
    const at::Tensor tokens = test::fixedTokens(64);
    QVERIFY(test::maxAbsDifference(test::logitsOf(model::loadModel(m_root / "direct").model, tokens),
                                   test::logitsOf(converted, tokens)) <= 1e-5);

    // Through the run, whose source directory is missing now: a warning, and the same record.
    m_sink.logs.clear();
    const JobResult<ExportReport> viaRun = exportTo(m_runDir, ExportFormat::Dha, m_root / "via-run");
    QVERIFY2(viaRun.ok(), viaRun.error.describe().c_str());
    QVERIFY(!m_sink.logs.empty());
    QCOMPARE(m_sink.logs.front().level, LogLevel::Warning);
    QVERIFY2(contains(m_sink.logs.front().message, m_sourceDir.string()),
             m_sink.logs.front().message.c_str());
    const auto viaRunConfig = nlohmann::json::parse(io::readSmallFile(m_root / "via-run" / "config.json"));
    QCOMPARE(viaRunConfig["dha"]["source_model"]["fingerprint"].get<std::string>(), fingerprint);
}

void ExportJobTest::refusesGqaForDecoupledPlan() {
    writeRun(test::decoupledFusionPlan());
    const fs::path out = m_root / "gqa";
    const JobResult<ExportReport> result = exportTo(m_runDir, ExportFormat::Gqa, out);
    QCOMPARE(result.status, JobStatus::Failed);
    QCOMPARE(result.error.code, ErrorCode::Unsupported);
    // 17 of 32 heads kept: the nearest uniform GQA plan keeps 4 per layer, 128 bytes per token at bf16.
    QVERIFY2(contains(result.error.message, "layer 0 keys and values are grouped differently"),
             result.error.message.c_str());
    QVERIFY2(contains(result.error.message,
                      "the nearest GQA plan keeps 4 key/value heads per layer (128 bytes per token at bf16, "
                      "50% saved)"),
             result.error.message.c_str());
    QVERIFY(!result.error.hint.empty());
    QVERIFY(!fs::exists(out));
}

void ExportJobTest::refusesBadInputs_data() {
    QTest::addColumn<QString>("input");  // under the temporary root
    QTest::addColumn<QString>("out");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("path");  // the error's path ends with this
    QTest::addColumn<QString>("message");
    QTest::newRow("missing input") << "absent"
                                   << "out" << static_cast<int>(ErrorCode::InvalidInput) << "absent"
                                   << "no such directory";
    QTest::newRow("neither run nor model")
        << "empty-dir"
        << "out" << static_cast<int>(ErrorCode::InvalidInput) << "empty-dir"
        << "neither a conversion run";
    QTest::newRow("unfinished run") << "unfinished"
                                    << "out" << static_cast<int>(ErrorCode::InvalidInput) << "unfinished"
                                    << "no export yet";
    QTest::newRow("malformed run.json") << "malformed"
                                        << "out" << static_cast<int>(ErrorCode::InvalidInput) << "run.json"
                                        << "";
    QTest::newRow("not a run") << "other-run"
                               << "out" << static_cast<int>(ErrorCode::InvalidInput) << "run.json"
                               << "conversion";
    QTest::newRow("MHA model") << "source"
                               << "out" << static_cast<int>(ErrorCode::InvalidInput) << "config.json"
                               << "no `dha` object";
    QTest::newRow("occupied output") << "run"
                                     << "occupied" << static_cast<int>(ErrorCode::Usage) << "occupied"
                                     << "not empty";
}

void ExportJobTest::refusesBadInputs() {
    QFETCH(QString, input);
    QFETCH(QString, out);
    QFETCH(int, code);
    QFETCH(QString, path);
    QFETCH(QString, message);
    writeRun(test::sharedEqualPlan());
    fs::create_directories(m_root / "empty-dir");
    writeRunJson(m_root / "unfinished");
    fs::create_directories(m_root / "malformed");
    io::writeFileAtomically(m_root / "malformed" / "run.json", "{\"format\": ");
    fs::create_directories(m_root / "other-run");
    io::writeFileAtomically(m_root / "other-run" / "run.json", "{\"format\": \"dha-pretrain-run\"}");
    fs::create_directories(m_root / "occupied");
    io::writeFileAtomically(m_root / "occupied" / "keep.txt", "mine\n");

    const fs::path target = m_root / out.toStdString();
    const JobResult<ExportReport> result = exportTo(m_root / input.toStdString(), ExportFormat::Dha, target);
    QCOMPARE(result.status, JobStatus::Failed);
    QCOMPARE(static_cast<int>(result.error.code), code);
    QVERIFY2(QString::fromStdString(result.error.path).endsWith(path), result.error.path.c_str());
    QVERIFY2(contains(result.error.message, message.toStdString()), result.error.message.c_str());
    if (out == "occupied") {
        QCOMPARE(io::readSmallFile(target / "keep.txt"), std::string("mine\n"));
    } else {
        QVERIFY(!fs::exists(target));
    }
}

void ExportJobTest::formatNames() {
    QCOMPARE(std::string(exportFormatName(ExportFormat::Dha)), std::string("dha"));
    QCOMPARE(std::string(exportFormatName(ExportFormat::Gqa)), std::string("gqa"));
    QCOMPARE(exportFormatFromName("gqa"), std::optional<ExportFormat>(ExportFormat::Gqa));
    QCOMPARE(exportFormatFromName("dha"), std::optional<ExportFormat>(ExportFormat::Dha));
    QVERIFY(!exportFormatFromName("GQA").has_value());
    QVERIFY(!exportFormatFromName("").has_value());
}

DHA_TEST_SUITE(ExportJobTest)
#include "export_job_test.moc"
