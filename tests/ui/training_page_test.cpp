// TrainingPage without a running engine: the token budget's parsing (counts or percentages, on its own and
// through the page), the spec the form describes (plan or budget), button states, runs reopened with their
// full curves, overlays, CSV and plot export, and a rendering at 1280x800.
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QSettings>
#include <QStandardPaths>
#include <QTest>

#include <fstream>

#include "bridge/engine_session.h"
#include "dha/plan.h"
#include "pages/token_budget.h"
#include "pages/conversion_settings.h"
#include "pages/training_page.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "ui_fixtures.h"

using namespace dha;
using namespace dha::ui;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSourceTokens = 10'000'000;

// A source directory the page can read its pretraining tokens from (eval.json); no weights are needed
// because nothing here runs the engine.
fs::path writeSource(const fs::path& dir) {
    fs::create_directories(dir);
    std::ofstream(dir / "eval.json")
        << R"({"format": "dha-model-card-figures", "version": 1, "training": {"tokens": )" << kSourceTokens
        << "}}";
    return dir;
}

const char* kSpecJson = R"({"source_model": "/m", "text": "/t", "validation": "", "method": "METHOD",
    "budget": {"fraction": 0.25}, "plan": "", "constraints": {"min_heads": 1, "max_heads": 0, "fix": [],
    "lock": [], "tie_kv": false, "uniform": false}, "metric": "cka", "fusion_tokens": 100,
    "continued_tokens": 100, "batch": 8, "context": 256, "model_lr": 0.0001, "fusion_lr": 0, "lambda_lr": 1,
    "lr": 0.0003, "min_lr": 3e-05, "warmup": 0, "fusion_ramp": 0.3, "fusion_tolerance": 1e-09, "grad_clip": 1,
    "weight_decay": 0.1, "seed": 1, "dtype": "fp32", "validation_tokens": 0, "checkpoint_every": 100,
    "keep_checkpoints": 2})";

// A conversion run directory: `steps` loss lines (fusion then continued), checkpoints/latest at
// `checkpointStep`, export/ when finished.
void writeRun(const fs::path& runDir, const std::string& method, int steps, int checkpointStep,
              bool finished) {
    fs::create_directories(runDir / "checkpoints");
    std::string spec = kSpecJson;
    spec.replace(spec.find("METHOD"), 6, method);
    std::ofstream(runDir / "run.json") << R"({"format": "dha-convert-run", "format_version": 2, "spec": )"
                                       << spec << R"(, "search_steps": 0, "fusion_steps": )" << steps / 2
                                       << R"(, "continued_steps": )" << steps - steps / 2 << "}";
    if (checkpointStep > 0) {
        const std::string name = QString("step-%1").arg(checkpointStep, 6, 10, QChar('0')).toStdString();
        fs::create_directories(runDir / "checkpoints" / name);
        std::ofstream(runDir / "checkpoints" / "latest") << name << "\n";
    }
    if (finished) fs::create_directories(runDir / "export");
    std::ofstream metrics(runDir / "metrics.jsonl");
    metrics << R"({"type":"validation","model":"source","step":0,"tokens":0,"loss":3.2})"
            << "\n";
    for (int step = 1; step <= steps; ++step) {
        const bool fusion = step <= steps / 2;
        metrics << R"({"type":"loss","phase":")" << (fusion ? "fusion" : "continued") << R"(","step":)"
                << step << R"(,"tokens":)" << step * 2048 << R"(,"lm_loss":)" << 3.2 + 1.0 / step
                << R"(,"lr":0.0001)"
                << (fusion ? R"(,"fusion_loss":)" + std::to_string(40.0 / step) : std::string()) << "}\n";
    }
}

Plan twoLayerPlan() { return dha::test::ui::twoLayerDecoupledPlan(); }

}  // namespace

class TrainingPageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void parsesTokens_data();
    void parsesTokens();
    void tokenBudgetExplainsRefusals();
    void specFromFormUsesBudgetAndShares();
    void specFromFormUsesPlanForDha();
    void settingsApplyToTheSpecAndPersist();
    void settingsDialogRoundTripsAndRestoresDefaults();
    void malformedStoredSettingsFallBackToDefaults();
    void buttonStates();
    void startRefusesExistingRunDirectory();
    void selectingRunLoadsItsCurve();
    void overlayAndExports();
    void rendersAt1280x800();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    fs::path m_root;
};

void TrainingPageTest::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // the settings a user chose never leak into the tests
}

void TrainingPageTest::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    m_root = m_dir->path().toStdString();
    QSettings().remove(QStringLiteral("conversion"));
}

void TrainingPageTest::settingsApplyToTheSpecAndPersist() {
    ConversionSettings custom;
    custom.searchShare = 0.2;
    custom.fusionShare = 0.25;
    custom.batchSize = 4;
    custom.contextLength = 128;
    custom.modelLearningRate = 2e-4;
    custom.continuedPeakLearningRate = 5e-4;
    custom.continuedMinLearningRate = 5e-5;
    custom.dtype = QStringLiteral("bf16");
    custom.checkpointInterval = 25;
    custom.validationTokens = 4096;
    {
        TrainingPage page(nullptr);
        page.setSourceModel(m_root);
        page.setTokensText(QStringLiteral("100000"));
        page.setMethod(ConvertMethod::Dha);
        page.setConversionSettings(custom);
        const ConvertSpec spec = page.specFromForm();
        QCOMPARE(spec.searchTokens, int64_t{20000});
        QCOMPARE(spec.fusionTokens, int64_t{25000});
        QCOMPARE(spec.continuedTokens, int64_t{55000});
        QCOMPARE(spec.batchSize, 4);
        QCOMPARE(spec.contextLength, 128);
        QCOMPARE(spec.modelLearningRate, 2e-4);
        QCOMPARE(spec.continuedPeakLearningRate, 5e-4);
        QCOMPARE(spec.continuedMinLearningRate, 5e-5);
        QCOMPARE(spec.dtype, std::string("bf16"));
        QCOMPARE(spec.checkpointInterval, int64_t{25});
        if (!spec.validationText.empty()) QCOMPARE(spec.validationTokens, int64_t{4096});
    }
    // The next session's page starts from them.
    TrainingPage next(nullptr);
    QVERIFY(next.conversionSettings() == custom);
}

void TrainingPageTest::settingsDialogRoundTripsAndRestoresDefaults() {
    ConversionSettings custom;
    custom.fusionShare = 0.3;
    custom.batchSize = 16;
    custom.continuedPeakLearningRate = 1e-3;
    custom.dtype = QStringLiteral("bf16");
    ConversionSettingsDialog dialog(custom);
    QVERIFY(dialog.settings() == custom);
    dialog.restoreDefaults();
    QVERIFY(dialog.settings() == ConversionSettings{});
}

void TrainingPageTest::malformedStoredSettingsFallBackToDefaults() {
    QSettings store;
    store.setValue(QStringLiteral("conversion/fusionShare"), QStringLiteral("lots"));
    store.setValue(QStringLiteral("conversion/batchSize"), -3);
    store.setValue(QStringLiteral("conversion/dtype"), QStringLiteral("fp8"));
    store.setValue(QStringLiteral("conversion/contextLength"), 512);
    const ConversionSettings loaded = ConversionSettings::load();
    const ConversionSettings defaults;
    QCOMPARE(loaded.fusionShare, defaults.fusionShare);
    QCOMPARE(loaded.batchSize, defaults.batchSize);
    QCOMPARE(loaded.dtype, defaults.dtype);
    QCOMPARE(loaded.contextLength, 512);  // a valid value is kept
}

void TrainingPageTest::parsesTokens_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("expected");  // -1 = refused
    QTest::newRow("count") << "65536" << qint64(65536);
    QTest::newRow("k") << "500k" << qint64(500000);
    QTest::newRow("M") << "2M" << qint64(2000000);
    QTest::newRow("G fraction") << "1.5G" << qint64(1500000000);
    QTest::newRow("percent") << "0.5%" << qint64(50000);
    QTest::newRow("percent with space") << " 2 %" << qint64(200000);
    QTest::newRow("lower-case m") << "2m" << qint64(2000000);
    QTest::newRow("fractional k") << "1.5k" << qint64(1500);
    QTest::newRow("exponent") << "1e6" << qint64(1000000);
    QTest::newRow("percent of percent") << "100%" << qint64(kSourceTokens);
    QTest::newRow("zero") << "0" << qint64(-1);
    QTest::newRow("fractional count") << "1.5" << qint64(-1);
    QTest::newRow("negative percent") << "-1%" << qint64(-1);
    QTest::newRow("junk suffix") << "2X" << qint64(-1);
    QTest::newRow("empty") << "" << qint64(-1);
    QTest::newRow("suffix alone") << "M" << qint64(-1);
    QTest::newRow("percent sign alone") << "%" << qint64(-1);
    QTest::newRow("below one token") << "0.000001%" << qint64(-1);
    QTest::newRow("too many") << "2000000G" << qint64(-1);
}

void TrainingPageTest::parsesTokens() {
    QFETCH(QString, text);
    QFETCH(qint64, expected);
    QString error;
    const auto tokens = parseTokenBudget(text, kSourceTokens, &error);
    if (expected < 0) {
        QVERIFY(!tokens);
        QVERIFY(!error.isEmpty());
    } else {
        QVERIFY2(tokens, qPrintable(error));
        QCOMPARE(qint64(*tokens), expected);
        QVERIFY(error.isEmpty());  // untouched on success
    }
    // The page's static parseTokens is the same rule.
    QCOMPARE(TrainingPage::parseTokens(text, kSourceTokens), tokens);
    // A percentage needs the source's pretraining tokens; a count does not.
    if (text.trimmed().endsWith('%'))
        QVERIFY(!parseTokenBudget(text, std::nullopt));
    else
        QCOMPARE(parseTokenBudget(text, std::nullopt), tokens);
}

void TrainingPageTest::tokenBudgetExplainsRefusals() {
    QString error;
    QVERIFY(!parseTokenBudget(QStringLiteral("0.5%"), std::nullopt, &error));
    QVERIFY2(error.contains(QStringLiteral("eval.json")),
             qPrintable(error));  // where the tokens would come from
    QVERIFY(!parseTokenBudget(QStringLiteral("lots"), kSourceTokens, &error));
    QVERIFY2(error.contains(QStringLiteral("2M")), qPrintable(error));  // an example of what is expected
    QVERIFY(!parseTokenBudget(QStringLiteral("0.000001%"), kSourceTokens, &error));
    QVERIFY2(error.contains(QStringLiteral("0.000001%")), qPrintable(error));  // names the text
    QVERIFY(!parseTokenBudget(QStringLiteral("x%"), kSourceTokens, nullptr));  // no error wanted: no crash
}

void TrainingPageTest::specFromFormUsesBudgetAndShares() {
    EngineSession session;
    TrainingPage page(&session);
    const fs::path source = writeSource(m_root / "source");
    page.setSourceModel(source);
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    page.setRunName("first");
    page.setTrainText("/data/train.txt");
    page.setTokensText("1%");
    ConvertSpec spec = page.specFromForm();
    QCOMPARE(spec.sourceModelDir, source);
    QCOMPARE(spec.method, ConvertMethod::Dha);
    QCOMPARE(spec.trainText, fs::path("/data/train.txt"));
    QVERIFY(spec.budget.has_value());
    QCOMPARE(*spec.budget->fraction, 0.25);
    QVERIFY(spec.planFile.empty());
    // 100k tokens: 10% search (a budget to place), 50% fusion, the rest continued, as `dha convert` splits
    // them.
    QCOMPARE(spec.searchTokens, int64_t{10000});
    QCOMPARE(spec.fusionTokens, int64_t{50000});
    QCOMPARE(spec.continuedTokens, int64_t{40000});
    QCOMPARE(spec.runDir, m_root / "runs" / "first");
    QVERIFY(!spec.resume);

    page.setMethod(ConvertMethod::GqaMeanPool);
    spec = page.specFromForm();
    QCOMPARE(spec.method, ConvertMethod::GqaMeanPool);
    QCOMPARE(spec.searchTokens + spec.fusionTokens, int64_t{0});  // mean pooling: all continued
    QCOMPARE(spec.continuedTokens, int64_t{100000});

    page.setTokensText("2M");
    QCOMPARE(page.specFromForm().continuedTokens, int64_t{2000000});
}

void TrainingPageTest::specFromFormUsesPlanForDha() {
    EngineSession session;
    TrainingPage page(&session);
    page.setSourceModel(writeSource(m_root / "source"));
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    page.setRunName("planned");
    page.setTokensText("100k");
    page.setPlan(twoLayerPlan(), Budget::ofHeads(10));
    ConvertSpec spec = page.specFromForm();
    QCOMPARE(spec.planFile, m_root / "runs" / "planned.plan.json");
    QVERIFY(!spec.budget);
    QCOMPARE(spec.searchTokens, int64_t{0});  // a plan file leaves nothing to search
    QCOMPARE(spec.fusionTokens, int64_t{50000});
    QVERIFY(!fs::exists(spec.planFile));  // specFromForm writes nothing
    page.setMethod(ConvertMethod::CkaGqaMeanPool);
    spec = page.specFromForm();
    QVERIFY(spec.planFile.empty());
    QCOMPARE(*spec.budget->heads, 10);
}

void TrainingPageTest::buttonStates() {
    EngineSession session;
    TrainingPage page(&session);
    page.setSourceModel({});
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    page.setTrainText("/data/train.txt");
    page.setTokensText("100k");
    QVERIFY(!page.startButton()->isEnabled());  // no model
    page.setSourceModel(writeSource(m_root / "source"));
    QVERIFY(page.startButton()->isEnabled());
    page.setTokensText("lots");
    QVERIFY(!page.startButton()->isEnabled());
    page.setTokensText("100k");
    page.setTrainText("");
    QVERIFY(!page.startButton()->isEnabled());
    page.setTrainText("/data/train.txt");
    QVERIFY(page.startButton()->isEnabled());
    QVERIFY(!page.cancelButton()->isEnabled());  // nothing runs
    QVERIFY(!page.resumeButton()->isEnabled());  // nothing selected

    writeRun(m_root / "runs" / "a-finished", "dha", 10, 10, true);
    writeRun(m_root / "runs" / "b-cancelled", "gqa", 8, 6, false);
    page.runs()->refresh();
    page.runsView()->selectRow(1);
    QVERIFY(page.resumeButton()->isEnabled());
    page.runsView()->selectRow(0);
    QVERIFY(!page.resumeButton()->isEnabled());  // finished: nothing to resume

    TrainingPage detached(nullptr);  // no engine at all: usable, nothing can start
    detached.setSourceModel(writeSource(m_root / "source"));
    QVERIFY(!detached.startButton()->isEnabled());
}

void TrainingPageTest::startRefusesExistingRunDirectory() {
    EngineSession session;
    TrainingPage page(&session);
    page.setSourceModel(writeSource(m_root / "source"));
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    page.setTrainText("/data/train.txt");
    page.setTokensText("100k");
    writeRun(m_root / "runs" / "taken", "dha", 4, 4, true);
    page.setRunName("taken");
    QVERIFY(!page.startConversion());
    QVERIFY2(page.statusText().contains("exists already"), qPrintable(page.statusText()));
    QVERIFY(!session.isBusy());
    QVERIFY(!page.isRunning());
}

void TrainingPageTest::selectingRunLoadsItsCurve() {
    EngineSession session;
    TrainingPage page(&session);
    writeRun(m_root / "runs" / "done", "dha", 12, 12, true);
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    QCOMPARE(page.runs()->rowCount(), 1);
    page.runsView()->selectRow(0);
    QCOMPARE(page.history()->rowCount(), 12);
    QCOMPARE(page.plot()->stepCount(), 12);
    QCOMPARE(page.plot()->fusionGraph()->dataCount(), 6);
    QCOMPARE(page.plot()->heldOutGraph()->dataCount(), 1);
    for (int row = 0; row < 12; ++row) QCOMPARE(page.history()->event(row).step, int64_t{row + 1});

    // A malformed history is refused with the file named, and the page keeps what it showed.
    std::ofstream(m_root / "runs" / "done" / "metrics.jsonl", std::ios::app) << "{oops}\n{}\n";
    QVERIFY(!page.loadRun(m_root / "runs" / "done"));
    QVERIFY2(page.statusText().contains("metrics.jsonl"), qPrintable(page.statusText()));
    QCOMPARE(page.history()->rowCount(), 12);
}

void TrainingPageTest::overlayAndExports() {
    EngineSession session;
    TrainingPage page(&session);
    writeRun(m_root / "runs" / "dha-run", "dha", 20, 20, true);
    writeRun(m_root / "runs" / "gqa-run", "gqa", 20, 20, true);
    page.setRunsFolder(QString::fromStdString((m_root / "runs").string()));
    QVERIFY(page.loadRun(m_root / "runs" / "dha-run"));
    QVERIFY(page.overlayRun(m_root / "runs" / "gqa-run"));
    QCOMPARE(page.plot()->overlayNames(), QStringList({"gqa-run (gqa)"}));
    const QString csv = QString::fromStdString((m_root / "loss.csv").string());
    QVERIFY(page.exportCsv(csv));
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll().count('\n'), 21);  // header + 20 steps
    for (const char* name : {"plot.png", "plot.svg", "plot.pdf"})
        QVERIFY2(page.savePlot(QString::fromStdString((m_root / name).string())),
                 qPrintable(page.statusText()));
    QVERIFY(!page.savePlot(QString::fromStdString((m_root / "plot.bmp").string())));
}

void TrainingPageTest::rendersAt1280x800() {
    // The demo conversion of the development machine when present (for the screenshot), else a written run.
    EngineSession session;
    TrainingPage page(&session);
    const fs::path runs = m_root / "runs";
    fs::create_directories(runs);
    const QString demo = qEnvironmentVariable("DHA_TRAINING_DEMO_RUN");
    const QString baseline = qEnvironmentVariable("DHA_TRAINING_BASELINE_RUN");
    if (!demo.isEmpty() && !baseline.isEmpty()) {
        fs::create_directory_symlink(demo.toStdString(), runs / "demo-convert");
        fs::create_directory_symlink(baseline.toStdString(), runs / "gqa-baseline");
    } else {
        writeRun(runs / "demo-convert", "dha", 30, 30, true);
        writeRun(runs / "gqa-baseline", "gqa", 30, 30, true);
    }
    page.setRunsFolder(QString::fromStdString(runs.string()));
    page.resize(1280, 800);
    page.show();
    page.runsView()->selectRow(page.runs()->rowOf(runs / "demo-convert"));
    QVERIFY(page.overlayRun(runs / "gqa-baseline"));
    QVERIFY(page.plot()->stepCount() > 0);
    QTest::qWait(50);  // queued replots
    const QPixmap pixels = page.grab();
    QCOMPARE(pixels.size(), QSize(1280, 800));
    const QString out = qEnvironmentVariable("DHA_TRAINING_SCREENSHOT");
    if (!out.isEmpty()) QVERIFY(pixels.save(out));
}

DHA_TEST_SUITE(TrainingPageTest)
#include "training_page_test.moc"
