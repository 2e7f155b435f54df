// The conversion job end to end on a tiny model and text: events in order and labelled by phase, held-out
// loss unchanged by the collapse once fusion converged (P9), the budget met exactly and the export reloading,
// the GQA mean-pool baseline through the same API, clear errors for malformed specs, and cancel.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "dha/conversion.h"
#include "fusion_fixtures.h"
#include "model/model_loader.h"
#include "test_models.h"
#include "test_registry.h"

using namespace dha;
namespace fs = std::filesystem;

namespace {

const fs::path kText = DHA_TEST_DATA_DIR "/text/sample.txt";
const fs::path kTokenizer = DHA_TEST_DATA_DIR "/tokenizers/unigram_identity.model";
constexpr int kBatch = 4;
constexpr int kContext = 16;
constexpr int64_t kTokensPerStep = kBatch * kContext;

// The fusion fixtures' 2-layer, 8-head MHA model with the tokenizer's 500-token vocabulary and its
// tokenizer.model.
fs::path writeSource(const fs::path& dir) {
    ModelConfig config = test::fusionSourceConfig();
    config.vocabSize = 500;
    test::writeTinyModel(dir, config, 21);
    fs::copy_file(kTokenizer, dir / "tokenizer.model");
    return dir;
}

ConvertSpec tinySpec(const fs::path& source, const fs::path& runDir) {
    ConvertSpec spec;
    spec.sourceModelDir = source;
    spec.trainText = kText;
    spec.validationText = kText;
    spec.batchSize = kBatch;
    spec.contextLength = kContext;
    spec.fusionTokens = 4 * kTokensPerStep;
    spec.continuedTokens = 3 * kTokensPerStep;
    spec.continuedPeakLearningRate = 1e-3;
    spec.runDir = runDir;
    return spec;
}

// Records every event as "loss:<phase>" or "validation", and cancels after loss step `cancelAt`.
class RecordingSink : public JobSink {
public:
    explicit RecordingSink(CancelToken* cancel = nullptr, int64_t cancelAt = -1)
        : m_cancel(cancel), m_cancelAt(cancelAt) {}
    void onLoss(const LossEvent& event) override {
        events.push_back("loss:" + event.phase);
        losses.push_back(event);
        if (m_cancel && event.step == m_cancelAt) m_cancel->requestCancel();
    }
    void onValidation(const ValidationEvent& event) override {
        events.push_back("validation");
        validations.push_back(event);
    }
    std::vector<std::string> events;
    std::vector<LossEvent> losses;
    std::vector<ValidationEvent> validations;

private:
    CancelToken* m_cancel;
    int64_t m_cancelAt;
};

int keptHeadsOf(const ModelConfig& config) {
    int kept = 0;
    for (const HeadLayout& layout : config.layers) kept += layout.numKeyHeads + layout.numValueHeads;
    return kept;
}

}  // namespace

class ConvertJobTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void eventsInOrderAndLabelled();
    void heldOutAgreesAcrossCollapse();
    void exportReloadsWithThePlan();
    void budgetMetExactly_data();
    void budgetMetExactly();
    void gqaBaselineRuns();
    void malformedSpecsAreRefused_data();
    void malformedSpecsAreRefused();
    void cancelReturnsCancelled();

private:
    QTemporaryDir m_dir;
    fs::path m_source;
    Plan m_plan;
    RecordingSink m_sink;
    JobResult<ConvertReport> m_result;
};

// One converging DHA conversion shared by the first tests: the fusion settings of FusionTrainingTest's
// convergesAndCollapses (at most 280 steps, an 80-step ramp, lambda learning rate 100, cosine tail), stopping
// early once the fusion loss per group is at most 1e-9.
void ConvertJobTest::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_source = writeSource(fs::path(m_dir.path().toStdString()) / "source");
    m_plan = test::decoupledFusionPlan();
    const fs::path planFile = fs::path(m_dir.path().toStdString()) / "plan.json";
    savePlan(m_plan, planFile);
    ConvertSpec spec = tinySpec(m_source, fs::path(m_dir.path().toStdString()) / "run");
    spec.planFile = planFile;
    spec.fusionTokens = 280 * kTokensPerStep;
    spec.fusionRampFraction = 80.0 / 280.0;
    spec.lambdaLearningRate = 100;
    spec.fusionTolerance = 1e-9;
    CancelToken cancel;
    m_result = runConvertJob(spec, m_sink, cancel);
    QVERIFY2(m_result.ok(), m_result.error.describe().c_str());
}

void ConvertJobTest::eventsInOrderAndLabelled() {
    const ConvertReport& report = *m_result.value;
    // Not before the ramp's end (the target is still above 0), at most the budget.
    const int64_t fusionSteps = report.fusionSteps;
    QVERIFY2(fusionSteps > 80 && fusionSteps <= 280, std::to_string(fusionSteps).c_str());
    QCOMPARE(report.continuedSteps, int64_t{3});
    QCOMPARE(report.fusionTokens, fusionSteps * kTokensPerStep);
    QCOMPARE(report.continuedTokens, 3 * kTokensPerStep);
    // source, the fusion steps, fused, collapsed, 3 continued steps, continued.
    std::vector<std::string> expected{"validation"};
    expected.insert(expected.end(), static_cast<size_t>(fusionSteps), "loss:fusion");
    expected.insert(expected.end(), 2, "validation");
    expected.insert(expected.end(), 3, "loss:continued");
    expected.push_back("validation");
    QVERIFY(m_sink.events == expected);
    for (size_t i = 0; i < m_sink.losses.size(); ++i) {
        const LossEvent& event = m_sink.losses[i];
        QCOMPARE(event.step, static_cast<int64_t>(i + 1));
        if (event.phase == "continued") QCOMPARE(event.totalSteps, fusionSteps + 3);
        QCOMPARE(event.tokens, event.step * kTokensPerStep);
        QVERIFY(std::isfinite(event.lmLoss) && event.lmLoss > 0);
        if (event.phase == "fusion")
            QVERIFY(event.fusionLoss >= 0);
        else
            QCOMPARE(event.fusionLoss, 0.0);
    }
    QVERIFY(m_sink.losses.front().fusionLoss > 0);  // identity blocks: rows differ
    QVERIFY(m_sink.losses[fusionSteps - 1].fusionLoss < 1e-6 * m_sink.losses.front().fusionLoss);
    QCOMPARE(m_sink.validations[1].step, fusionSteps);
    QCOMPARE(m_sink.validations[3].step, fusionSteps + 3);
    const fs::path runDir = report.runDir;
    QVERIFY(fs::is_regular_file(runDir / "run.json"));
    QVERIFY(fs::is_regular_file(runDir / "metrics.jsonl"));
    QVERIFY(loadPlan(runDir / "plan.json") == canonicalPlan(m_plan));
}

// P9: the fusion converged, so the collapse leaves the held-out loss within 1e-4 relative; the fusion did
// change the model, so the agreement is not the identity's.
void ConvertJobTest::heldOutAgreesAcrossCollapse() {
    const ConvertReport& report = *m_result.value;
    QVERIFY(report.fusionConverged);
    QVERIFY(report.heldOutSource && report.heldOutBeforeCollapse && report.heldOutAfterCollapse &&
            report.heldOutAfterContinued);
    const double before = *report.heldOutBeforeCollapse;
    const double relative = std::abs(*report.heldOutAfterCollapse - before) / before;
    QVERIFY2(relative <= 1e-4, std::to_string(relative).c_str());
    QVERIFY(std::abs(*report.heldOutSource - before) > 1e-3);
    QCOMPARE(m_sink.validations[1].loss, before);
}

void ConvertJobTest::exportReloadsWithThePlan() {
    const ConvertReport& report = *m_result.value;
    QCOMPARE(report.exportDir, report.runDir / "export");
    const model::LoadedModel loaded = model::loadModel(report.exportDir);
    // The run uses (and plan.json holds) the canonical form of the plan file's plan.
    QCOMPARE(loaded.config.layers, canonicalPlan(m_plan).layouts());
    QCOMPARE(keptHeadsOf(loaded.config), m_plan.keptHeads());
    QVERIFY(fs::is_regular_file(report.exportDir / "tokenizer.model"));
    QVERIFY(report.kvBytesPerTokenAfter < report.kvBytesPerTokenBefore);
    QCOMPARE(report.kvBytesPerTokenAfter, kvBytesPerToken(loaded.config, 4));
}

void ConvertJobTest::budgetMetExactly_data() {
    QTest::addColumn<QString>("budget");
    QTest::addColumn<int>("kept");
    QTest::newRow("heads") << "13" << 13;
    QTest::newRow("fraction") << "25%" << 8;
}

// Weight CKA plans the budget; the exported config keeps exactly that many K+V heads.
void ConvertJobTest::budgetMetExactly() {
    QFETCH(QString, budget);
    QFETCH(int, kept);
    QTemporaryDir dir;
    ConvertSpec spec = tinySpec(m_source, fs::path(dir.path().toStdString()) / "run");
    spec.budget = Budget::parse(budget.toStdString(), "budget");
    RecordingSink sink;
    CancelToken cancel;
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QVERIFY2(result.ok(), result.error.describe().c_str());
    QCOMPARE(result.value->plan.keptHeads(), kept);
    const ModelConfig exported = loadModelConfig(result.value->exportDir / "config.json");
    QCOMPARE(keptHeadsOf(exported), kept);
    QCOMPARE(exported.layers, result.value->plan.layouts());
    QCOMPARE(result.value->fusionSteps, int64_t{4});
    QCOMPARE(result.value->continuedSteps, int64_t{3});
}

// The baseline: adjacent GQA at the budget, mean-pooled, continued pretraining only.
void ConvertJobTest::gqaBaselineRuns() {
    QTemporaryDir dir;
    ConvertSpec spec = tinySpec(m_source, fs::path(dir.path().toStdString()) / "run");
    spec.method = ConvertMethod::GqaMeanPool;
    spec.budget = Budget::ofHeads(8);
    RecordingSink sink;
    CancelToken cancel;
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QVERIFY2(result.ok(), result.error.describe().c_str());
    QVERIFY(result.value->plan == canonicalPlan(adjacentGqaPlan(2, 8, 2)));
    QCOMPARE(result.value->fusionSteps, int64_t{0});
    QVERIFY(!result.value->heldOutBeforeCollapse);
    QVERIFY(result.value->heldOutAfterCollapse && result.value->heldOutAfterContinued);
    const std::vector<std::string> expected{"validation",     "validation",     "loss:continued",
                                            "loss:continued", "loss:continued", "validation"};
    QVERIFY(sink.events == expected);
    const model::LoadedModel loaded = model::loadModel(result.value->exportDir);
    QVERIFY(loaded.config.isUniform());
    QCOMPARE(keptHeadsOf(loaded.config), 8);
}

void ConvertJobTest::malformedSpecsAreRefused_data() {
    QTest::addColumn<QString>("problem");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("pathPart");
    QTest::newRow("missing text") << "text" << int(ErrorCode::InvalidInput) << "no-such.txt";
    QTest::newRow("missing validation") << "validation" << int(ErrorCode::InvalidInput) << "no-such.txt";
    QTest::newRow("budget infeasible") << "budget" << int(ErrorCode::InvalidInput) << "";
    QTest::newRow("gqa budget infeasible") << "gqa" << int(ErrorCode::InvalidInput) << "budget";
    QTest::newRow("plan for another model") << "plan" << int(ErrorCode::InvalidInput) << "other-plan.json";
    QTest::newRow("budget and plan") << "both" << int(ErrorCode::Usage) << "budget";
    QTest::newRow("no tokenizer") << "tokenizer" << int(ErrorCode::InvalidInput) << "bare";
    QTest::newRow("bad dtype") << "dtype" << int(ErrorCode::Usage) << "dtype";
}

void ConvertJobTest::malformedSpecsAreRefused() {
    QFETCH(QString, problem);
    QFETCH(int, code);
    QFETCH(QString, pathPart);
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    ConvertSpec spec = tinySpec(m_source, root / "run");
    spec.budget = Budget::ofHeads(16);
    if (problem == "text") spec.trainText = root / "no-such.txt";
    if (problem == "validation") spec.validationText = root / "no-such.txt";
    if (problem == "budget") spec.budget = Budget::ofHeads(2);  // at least 1 head per (layer, K|V) = 4
    if (problem == "gqa") {
        spec.method = ConvertMethod::GqaMeanPool;
        spec.budget = Budget::ofHeads(6);  // not 4 x a divisor of 8
    }
    if (problem == "plan" || problem == "both") {
        spec.planFile = root / "other-plan.json";
        savePlan(adjacentGqaPlan(2, 4, 2), spec.planFile);  // 4 heads, the source has 8
        if (problem == "plan") spec.budget.reset();
    }
    if (problem == "tokenizer") {
        test::writeTinyModel(root / "bare", test::fusionSourceConfig(), 3);
        spec.sourceModelDir = root / "bare";
    }
    if (problem == "dtype") spec.dtype = "fp8";
    RecordingSink sink;
    CancelToken cancel;
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QCOMPARE(result.status, JobStatus::Failed);
    QCOMPARE(int(result.error.code), code);
    QVERIFY2(result.error.describe().find(pathPart.toStdString()) != std::string::npos,
             result.error.describe().c_str());
    QVERIFY(!result.error.message.empty());
    QVERIFY(sink.losses.empty());
    QVERIFY(!fs::exists(root / "run"));  // refused before the run directory was created
}

void ConvertJobTest::cancelReturnsCancelled() {
    QTemporaryDir dir;
    ConvertSpec spec = tinySpec(m_source, fs::path(dir.path().toStdString()) / "run");
    spec.budget = Budget::ofHeads(16);
    CancelToken cancel;
    RecordingSink sink(&cancel, 2);
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QCOMPARE(result.status, JobStatus::Cancelled);
    QCOMPARE(result.error.code, ErrorCode::Cancelled);
    QCOMPARE(sink.losses.size(), size_t{2});
    QVERIFY(!fs::exists(spec.runDir / "export"));
}

DHA_TEST_SUITE(ConvertJobTest)
#include "convert_job_test.moc"
