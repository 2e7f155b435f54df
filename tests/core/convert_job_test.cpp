// The conversion job end to end on a tiny model and text: events in order and labelled by phase, held-out
// loss unchanged by the collapse once fusion converged (P9), the budget met exactly and the export reloading,
// the GQA mean-pool baseline through the same API, clear errors for malformed specs, and cancel.
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
    void onKvSavings(const KvSavingsEvent& event) override { kvSavings.push_back(event); }
    void onCheckpoint(const CheckpointEvent& event) override { checkpoints.push_back(event); }
    void onPlan(const Plan& plan) override { plans.push_back(plan); }
    std::vector<std::string> events;
    std::vector<LossEvent> losses;
    std::vector<ValidationEvent> validations;
    std::vector<KvSavingsEvent> kvSavings;
    std::vector<CheckpointEvent> checkpoints;
    std::vector<Plan> plans;

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
    void kvSavingsFollowFusion();
    void baselinesRun_data();
    void baselinesRun();
    void cancelThenResumeMatchesUninterrupted_data();
    void cancelThenResumeMatchesUninterrupted();
    void resumeRefusesAChangedRun_data();
    void resumeRefusesAChangedRun();
    void tokenBudgets();
    void searchPlacesTheBudget();

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
    // The cancel published a checkpoint of step 2 first.
    QCOMPARE(sink.checkpoints.size(), size_t{1});
    QCOMPARE(sink.checkpoints.back().step, int64_t{2});
    QCOMPARE(sink.checkpoints.back().reason, std::string("cancel"));
    QVERIFY(fs::is_regular_file(spec.runDir / "checkpoints" / "step-000002" / "fusion.safetensors"));
    QVERIFY(result.error.describe().find("--resume") != std::string::npos);
}

// The plan's KV cost first; during fusion, heads are counted as merged once their group's fusion loss has
// reached the tolerance, so the bytes only fall, towards the plan's; the collapse reports the plan again.
void ConvertJobTest::kvSavingsFollowFusion() {
    const std::vector<KvSavingsEvent>& events = m_sink.kvSavings;
    QVERIFY(events.size() >= 3);
    QCOMPARE(m_sink.plans.size(), size_t{1});
    const KvSavingsEvent& plan = events.front();
    QCOMPARE(plan.phase, std::string("plan"));
    QCOMPARE(plan.sourceBytesPerToken, int64_t{2 * 2 * 8 * 2 * test::fusionSourceConfig().headDim});
    int kept = 0;
    for (const LayerHeadCount& layer : plan.layers) kept += layer.keyHeads + layer.valueHeads;
    QCOMPARE(kept, m_plan.keptHeads());
    QCOMPARE(events.back().phase, std::string("collapse"));
    QVERIFY(events.back().layers == plan.layers);
    QCOMPARE(events.back().bytesPerToken, plan.bytesPerToken);
    QVERIFY(std::abs(plan.savedFraction() - (1.0 - m_plan.keptHeads() / 32.0)) < 1e-12);
    const KvSavingsEvent& firstFusion = events[1];
    QCOMPARE(firstFusion.phase, std::string("fusion"));
    QVERIFY(firstFusion.bytesPerToken > plan.bytesPerToken);  // at step 10 no group has met 1e-9 yet
    for (size_t i = 2; i + 1 < events.size(); ++i) {
        QCOMPARE(events[i].phase, std::string("fusion"));
        QVERIFY(events[i].bytesPerToken < events[i - 1].bytesPerToken);  // emitted only on change
    }
    QVERIFY(events[events.size() - 2].bytesPerToken >= plan.bytesPerToken);
    QVERIFY(events[events.size() - 2].bytesPerToken < firstFusion.bytesPerToken);
}

void ConvertJobTest::baselinesRun_data() {
    QTest::addColumn<int>("method");
    QTest::addColumn<bool>("uniform");
    QTest::addColumn<bool>("fused");
    QTest::newRow("cka-gqa") << int(ConvertMethod::CkaGqaMeanPool) << true << false;
    QTest::newRow("dha-uniform") << int(ConvertMethod::UniformFusion) << true << true;
    QTest::newRow("dha-meanpool") << int(ConvertMethod::AdaptiveMeanPool) << false << false;
}

// The CKA-grouped GQA baseline and the two ablations through the same API: the plan has the method's shape,
// the budget is met, fusion runs only where the method learns it.
void ConvertJobTest::baselinesRun() {
    QFETCH(int, method);
    QFETCH(bool, uniform);
    QFETCH(bool, fused);
    QTemporaryDir dir;
    ConvertSpec spec = tinySpec(m_source, fs::path(dir.path().toStdString()) / "run");
    spec.method = static_cast<ConvertMethod>(method);
    spec.budget = Budget::ofHeads(8);
    RecordingSink sink;
    CancelToken cancel;
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QVERIFY2(result.ok(), result.error.describe().c_str());
    const Plan& plan = result.value->plan;
    QCOMPARE(plan.keptHeads(), 8);
    bool isUniform = true;
    for (const LayerPlan& layer : plan.layers)
        isUniform = isUniform && layer.numKeyHeads() == 2 && layer.numValueHeads() == 2 &&
                    layer.keyGroups == layer.valueGroups;
    QCOMPARE(isUniform, uniform);
    QCOMPARE(result.value->fusionSteps, fused ? int64_t{4} : int64_t{0});
    QCOMPARE(result.value->heldOutBeforeCollapse.has_value(), fused);
    QCOMPARE(result.value->continuedSteps, int64_t{3});
    QCOMPARE(keptHeadsOf(model::loadModel(result.value->exportDir).config), 8);
    QCOMPARE(loadConvertSpec(spec.runDir).method, spec.method);
}

void ConvertJobTest::cancelThenResumeMatchesUninterrupted_data() {
    QTest::addColumn<int>("method");
    QTest::addColumn<int>("cancelAt");
    QTest::addColumn<bool>("debris");  // leave what a kill -9 leaves: a torn log line, a staging directory
    QTest::addColumn<int>("searchSteps");
    QTest::newRow("dha, in fusion") << int(ConvertMethod::Dha) << 2 << false << 0;
    QTest::newRow("dha, in fusion past a checkpoint, after a crash") << int(ConvertMethod::Dha) << 4 << true << 0;
    QTest::newRow("dha, in continued pretraining") << int(ConvertMethod::Dha) << 6 << false << 0;
    QTest::newRow("gqa, in continued pretraining") << int(ConvertMethod::GqaMeanPool) << 2 << true << 0;
    QTest::newRow("dha, in search") << int(ConvertMethod::Dha) << 2 << false << 4;
    QTest::newRow("dha, in fusion after search") << int(ConvertMethod::Dha) << 5 << true << 4;
    QTest::newRow("dha-meanpool, in search") << int(ConvertMethod::AdaptiveMeanPool) << 3 << false << 4;
}

// A run cancelled (and optionally left with a kill's debris), then resumed from run.json alone, ends with the
// same weights as one uninterrupted run, and its metrics.jsonl holds the same loss curve, each step once.
void ConvertJobTest::cancelThenResumeMatchesUninterrupted() {
    QFETCH(int, method);
    QFETCH(int, cancelAt);
    QFETCH(bool, debris);
    QFETCH(int, searchSteps);
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    ConvertSpec spec = tinySpec(m_source, root / "straight");
    spec.method = static_cast<ConvertMethod>(method);
    spec.budget = Budget::ofHeads(8);
    if (spec.method == ConvertMethod::Dha) spec.budget = Budget::ofHeads(13);
    spec.fusionTokens = 5 * kTokensPerStep;
    spec.searchTokens = searchSteps * kTokensPerStep;
    spec.checkpointInterval = 3;
    RecordingSink straightSink;
    CancelToken straightCancel;
    const JobResult<ConvertReport> straight = runConvertJob(spec, straightSink, straightCancel);
    QVERIFY2(straight.ok(), straight.error.describe().c_str());

    spec.runDir = root / "interrupted";
    CancelToken cancel;
    RecordingSink first(&cancel, cancelAt);
    QCOMPARE(runConvertJob(spec, first, cancel).status, JobStatus::Cancelled);
    if (debris) {
        fs::create_directories(spec.runDir / "checkpoints" / ".step-000099.tmp-1-2");
        std::ofstream(spec.runDir / "metrics.jsonl", std::ios::app) << "{\"type\": \"loss\", \"st";
    }
    const ConvertSpec resumeSpec = loadConvertSpec(spec.runDir);
    QVERIFY(resumeSpec.resume);
    RecordingSink second;
    CancelToken noCancel;
    const JobResult<ConvertReport> resumed = runConvertJob(resumeSpec, second, noCancel);
    QVERIFY2(resumed.ok(), resumed.error.describe().c_str());
    QVERIFY(resumed.value->resumed);
    QCOMPARE(resumed.value->resumedFromStep, int64_t{cancelAt});
    QVERIFY(!fs::exists(spec.runDir / "checkpoints" / ".step-000099.tmp-1-2"));

    // The loss curve continues: the resumed run's first step is the one after the cancel.
    QCOMPARE(second.losses.front().step, int64_t{cancelAt + 1});
    QCOMPARE(second.losses.back().step, straightSink.losses.back().step);
    for (const LossEvent& event : second.losses) {
        const LossEvent& reference = straightSink.losses[event.step - 1];
        QCOMPARE(event.phase, reference.phase);
        QVERIFY2(std::abs(event.lmLoss - reference.lmLoss) <= 1e-6, std::to_string(event.step).c_str());
    }
    QCOMPARE(resumed.value->fusionSteps, straight.value->fusionSteps);
    QCOMPARE(resumed.value->searchSteps, int64_t{searchSteps});
    QVERIFY(resumed.value->plan == straight.value->plan);
    QVERIFY(loadPlan(spec.runDir / "plan.json") == straight.value->plan);
    QVERIFY(*resumed.value->heldOutSource == *straight.value->heldOutSource);
    QVERIFY(std::abs(*resumed.value->heldOutAfterContinued - *straight.value->heldOutAfterContinued) <= 1e-6);

    const model::LoadedModel a = model::loadModel(straight.value->exportDir);
    const model::LoadedModel b = model::loadModel(resumed.value->exportDir);
    for (const auto& item : a.model->named_parameters()) {
        const at::Tensor other = b.model->named_parameters()[item.key()];
        const double difference = (item.value() - other).abs().max().item<double>();
        QVERIFY2(difference <= 1e-6, (item.key() + ": " + std::to_string(difference)).c_str());
    }

    // metrics.jsonl: every loss step exactly once, in order, and the same validations as the straight run.
    const auto lines = [](const fs::path& file, const char* type) {
        std::vector<std::string> found;
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);) {
            const nlohmann::json event = nlohmann::json::parse(line);
            if (event["type"] == type) {
                nlohmann::json key = {event["step"], event.value("phase", ""), event.value("model", "")};
                found.push_back(key.dump());
            }
        }
        return found;
    };
    QVERIFY(lines(spec.runDir / "metrics.jsonl", "loss") == lines(root / "straight" / "metrics.jsonl", "loss"));
    QVERIFY(lines(spec.runDir / "metrics.jsonl", "validation") ==
            lines(root / "straight" / "metrics.jsonl", "validation"));
}

void ConvertJobTest::resumeRefusesAChangedRun_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("named");
    QTest::newRow("setting") << "setting" << "fusion_lr";
    QTest::newRow("source weights") << "source" << "source";
    QTest::newRow("text") << "text" << "text.txt";
    QTest::newRow("plan file") << "plan" << "plan.json";
    QTest::newRow("not a run") << "missing" << "run.json";
    QTest::newRow("finished") << "finished" << "export";
}

// A resume continues only the run that was started: each change is refused with a message naming it.
void ConvertJobTest::resumeRefusesAChangedRun() {
    QFETCH(QString, change);
    QFETCH(QString, named);
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    const fs::path source = writeSource(root / "source");
    fs::copy_file(kText, root / "text.txt");
    const fs::path planFile = root / "plan.json";
    savePlan(m_plan, planFile);
    ConvertSpec spec = tinySpec(source, root / "run");
    spec.trainText = root / "text.txt";
    spec.planFile = planFile;
    CancelToken cancel;
    RecordingSink first(&cancel, change == "finished" ? -1 : 1);
    const JobStatus status = runConvertJob(spec, first, cancel).status;
    QCOMPARE(status, change == "finished" ? JobStatus::Succeeded : JobStatus::Cancelled);

    ConvertSpec resume = spec;
    resume.resume = true;
    if (change == "setting") resume.fusionLearningRate = 0.5;
    if (change == "source") test::writeTinyModel(source, [] {
        ModelConfig config = test::fusionSourceConfig();
        config.vocabSize = 500;
        return config;
    }(), 22);
    if (change == "text") std::ofstream(root / "text.txt", std::ios::app) << "\nOne more line.\n";
    if (change == "plan") {
        savePlan(adjacentGqaPlan(2, 8, 2), planFile);
    }
    if (change == "missing") fs::remove(spec.runDir / "run.json");
    RecordingSink second;
    CancelToken noCancel;
    const JobResult<ConvertReport> result = runConvertJob(resume, second, noCancel);
    QCOMPARE(result.status, JobStatus::Failed);
    QVERIFY2(result.error.describe().find(named.toStdString()) != std::string::npos,
             result.error.describe().c_str());
    QVERIFY(second.losses.empty());
}

// With search tokens, the job searches first (the model frozen: the LM loss is the source's on each batch),
// then plans from the learned distances, writes plan.json and fuses towards that plan within the budget.
void ConvertJobTest::searchPlacesTheBudget() {
    QTemporaryDir dir;
    ConvertSpec spec = tinySpec(m_source, fs::path(dir.path().toStdString()) / "run");
    spec.budget = Budget::ofHeads(13);
    spec.searchTokens = 3 * kTokensPerStep;
    spec.searchCkaMix = 0.0;  // learned distances alone
    RecordingSink sink;
    CancelToken cancel;
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    QVERIFY2(result.ok(), result.error.describe().c_str());
    QCOMPARE(result.value->searchSteps, int64_t{3});
    QCOMPARE(result.value->plan.keptHeads(), 13);
    QCOMPARE(sink.plans.size(), size_t{1});
    QVERIFY(sink.plans.front() == result.value->plan);
    QVERIFY(loadPlan(spec.runDir / "plan.json") == result.value->plan);
    std::vector<std::string> expected{"validation", "loss:search", "loss:search", "loss:search"};
    expected.insert(expected.end(), 4, "loss:fusion");
    QVERIFY(std::equal(expected.begin(), expected.end(), sink.events.begin()));
    QCOMPARE(sink.losses.back().totalSteps, int64_t{3 + 4 + 3});
    QCOMPARE(sink.losses.back().tokens, int64_t{10} * kTokensPerStep);
    // A search applies only where it has a budget to place.
    ConvertSpec refused = spec;
    refused.runDir = fs::path(dir.path().toStdString()) / "refused";
    refused.method = ConvertMethod::GqaMeanPool;
    refused.budget = Budget::ofHeads(8);
    const JobResult<ConvertReport> gqa = runConvertJob(refused, sink, cancel);
    QCOMPARE(gqa.error.code, ErrorCode::Usage);
    QVERIFY(gqa.error.describe().find("search") != std::string::npos);
}

// Token budgets: a split by phase, and the source's pretraining tokens read from its model-card figures.
void ConvertJobTest::tokenBudgets() {
    const PhaseTokens dha = splitTokenBudget(1000, ConvertMethod::Dha, 0.3);
    QCOMPARE(dha.fusion, int64_t{300});
    QCOMPARE(dha.continued, int64_t{700});
    const PhaseTokens gqa = splitTokenBudget(1000, ConvertMethod::GqaMeanPool, 0.3, 0.1);
    QCOMPARE(gqa.search, int64_t{0});
    QCOMPARE(gqa.fusion, int64_t{0});
    QCOMPARE(gqa.continued, int64_t{1000});
    const PhaseTokens searched = splitTokenBudget(1000, ConvertMethod::Dha, 0.3, 0.1);
    QCOMPARE(searched.search, int64_t{100});
    QCOMPARE(searched.fusion, int64_t{300});
    QCOMPARE(searched.continued, int64_t{600});
    const PhaseTokens pooled = splitTokenBudget(1000, ConvertMethod::AdaptiveMeanPool, 0.3, 0.1);
    QCOMPARE(pooled.search, int64_t{100});
    QCOMPARE(pooled.fusion, int64_t{0});
    QCOMPARE(pooled.continued, int64_t{900});
    QCOMPARE(sourcePretrainingTokens(m_source), std::optional<int64_t>());
    QTemporaryDir dir;
    const fs::path model = dir.path().toStdString();
    std::ofstream(model / "eval.json") << R"({"format": "dha-model-card-figures", "training": {"tokens": 12001280}})";
    QCOMPARE(sourcePretrainingTokens(model), std::optional<int64_t>(12001280));
    std::ofstream(model / "eval.json") << R"({"format": "dha-model-card-figures", "training": {"tokens": -5}})";
    bool refused = false;
    try {
        sourcePretrainingTokens(model);
    } catch (const Exception& exception) {
        refused = exception.error().describe().find("eval.json") != std::string::npos;
    }
    QVERIFY(refused);
    QCOMPARE(sourcePretrainingTokens(DHA_SOURCE_DIR "/resources/models/dha-teacher"),
             std::optional<int64_t>(12001280));
}

DHA_TEST_SUITE(ConvertJobTest)
#include "convert_job_test.moc"
