// EngineSession end to end on a tiny model: every signal arrives on the GUI thread, in order, exactly once per
// job; loss batches lose no step; cancel ends with a checkpoint and a resume continues the curve; errors name
// the file; a second job is refused while one runs.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <vector>

#include "bridge/engine_session.h"
#include "test_registry.h"
#include "ui_fixtures.h"

using namespace dha;
using dha::ui::EngineSession;
using dha::ui::JobKind;
namespace fs = std::filesystem;

namespace {

// Records what a session emits and checks each signal arrives on the thread that owns the session.
struct SessionRecorder {
    explicit SessionRecorder(EngineSession& session) {
        auto onGuiThread = [this] {
            if (QThread::currentThread() != qApp->thread()) offGuiThread = true;
        };
        QObject::connect(&session, &EngineSession::jobStarted, [this, onGuiThread](JobKind) {
            onGuiThread();
            order.push_back("started");
        });
        QObject::connect(&session, &EngineSession::lossBatch, [this, onGuiThread](const QVector<LossEvent>& batch) {
            onGuiThread();
            ++batches;
            for (const LossEvent& event : batch) losses.push_back(event);
            if (order.empty() || order.back() != "loss") order.push_back("loss");
        });
        QObject::connect(&session, &EngineSession::kvSavingsChanged, [this](const KvSavingsEvent& event) {
            kvSavings.push_back(event);
        });
        QObject::connect(&session, &EngineSession::planChosen, [this](const Plan& plan) { plans.push_back(plan); });
        QObject::connect(&session, &EngineSession::checkpointWritten,
                         [this](const CheckpointEvent& event) { checkpoints.push_back(event); });
        QObject::connect(&session, &EngineSession::conversionFinished, [this](const ConvertReport& report) {
            order.push_back("result");
            reports.push_back(report);
        });
        QObject::connect(&session, &EngineSession::modelInspected, [this](const ModelInfo& info) {
            order.push_back("result");
            infos.push_back(info);
        });
        QObject::connect(&session, &EngineSession::jobFinished,
                         [this, onGuiThread](JobKind, JobStatus status, const Error& error) {
                             onGuiThread();
                             order.push_back("finished");
                             statuses.push_back(status);
                             errors.push_back(error);
                         });
    }
    bool waitFinished(int count = 1) {
        return QTest::qWaitFor([&] { return static_cast<int>(statuses.size()) >= count; }, 120000);
    }
    bool offGuiThread = false;
    int batches = 0;
    std::vector<std::string> order;
    std::vector<LossEvent> losses;
    std::vector<KvSavingsEvent> kvSavings;
    std::vector<Plan> plans;
    std::vector<CheckpointEvent> checkpoints;
    std::vector<ConvertReport> reports;
    std::vector<ModelInfo> infos;
    std::vector<JobStatus> statuses;
    std::vector<Error> errors;
};

std::vector<int64_t> stepsOf(const std::vector<LossEvent>& losses) {
    std::vector<int64_t> steps;
    for (const LossEvent& event : losses) steps.push_back(event.step);
    return steps;
}

std::vector<int64_t> range(int64_t first, int64_t last) {
    std::vector<int64_t> steps;
    for (int64_t step = first; step <= last; ++step) steps.push_back(step);
    return steps;
}

}  // namespace

class EngineSessionTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_source = test::ui::writeTinyMhaModel(fs::path(m_dir.path().toStdString()) / "source");
    }

    void inspectDeliversTheModelThenFinishes() {
        EngineSession session;
        SessionRecorder recorder(session);
        QVERIFY(session.inspect(m_source));
        QVERIFY(session.isBusy());
        QVERIFY(recorder.waitFinished());
        QVERIFY(!session.isBusy());
        QCOMPARE(recorder.order, (std::vector<std::string>{"started", "result", "finished"}));
        QCOMPARE(recorder.statuses.front(), JobStatus::Succeeded);
        QCOMPARE(recorder.infos.front().config.numLayers, 2);
        QVERIFY(!recorder.offGuiThread);
    }

    void conversionStreamsEveryStepInOrder() {
        QTemporaryDir runs;
        EngineSession session;
        SessionRecorder recorder(session);
        const ConvertSpec spec = test::ui::tinyConvertSpec(m_source, fs::path(runs.path().toStdString()) / "run");
        QVERIFY(session.convert(spec));
        QVERIFY(!session.inspect(m_source));  // one job at a time
        QVERIFY(recorder.waitFinished());
        QCOMPARE(recorder.statuses.size(), size_t{1});
        QVERIFY2(recorder.statuses.front() == JobStatus::Succeeded, recorder.errors.front().describe().c_str());
        QVERIFY(!recorder.offGuiThread);
        QCOMPARE(stepsOf(recorder.losses), range(1, 10));  // no step lost, none twice, in order
        QCOMPARE(recorder.order.front(), std::string("started"));
        QCOMPARE(recorder.order.back(), std::string("finished"));
        QCOMPARE(recorder.order[recorder.order.size() - 2], std::string("result"));
        QCOMPARE(recorder.reports.size(), size_t{1});
        QCOMPARE(recorder.plans.size(), size_t{1});
        QCOMPARE(recorder.plans.front().keptHeads(), 8);  // 50% of 2 layers x (4 K + 4 V)
        QVERIFY(!recorder.kvSavings.empty());
        QCOMPARE(recorder.kvSavings.front().phase, std::string("plan"));
        QCOMPARE(recorder.kvSavings.back().phase, std::string("collapse"));
        QCOMPARE(recorder.kvSavings.back().savedFraction(), 0.5);
        QCOMPARE(recorder.losses.front().phase, std::string("fusion"));
        QCOMPARE(recorder.losses.back().phase, std::string("continued"));
    }

    void cancelCheckpointsAndResumeContinuesTheCurve() {
        QTemporaryDir runs;
        const fs::path runDir = fs::path(runs.path().toStdString()) / "run";
        constexpr int kFusion = 150;
        constexpr int kContinued = 50;
        std::vector<LossEvent> before;
        {
            EngineSession session;
            session.setDeliveryInterval(1);
            SessionRecorder recorder(session);
            QObject::connect(&session, &EngineSession::lossBatch, &session, [&session] { session.cancel(); });
            QVERIFY(session.convert(test::ui::tinyConvertSpec(m_source, runDir, kFusion, kContinued)));
            QVERIFY(recorder.waitFinished());
            QCOMPARE(recorder.statuses.front(), JobStatus::Cancelled);
            QVERIFY(!recorder.checkpoints.empty());
            QCOMPARE(recorder.checkpoints.back().reason, std::string("cancel"));
            QVERIFY2(recorder.losses.back().step < kFusion + kContinued, "the cancel came after the last step");
            QCOMPARE(recorder.checkpoints.back().step, recorder.losses.back().step);
            QCOMPARE(stepsOf(recorder.losses), range(1, recorder.losses.back().step));
            before = recorder.losses;
        }
        EngineSession session;
        SessionRecorder recorder(session);
        QVERIFY(session.convert(loadConvertSpec(runDir)));
        QVERIFY(recorder.waitFinished());
        QVERIFY2(recorder.statuses.front() == JobStatus::Succeeded, recorder.errors.front().describe().c_str());
        // The resumed run picks up right after the cancel checkpoint and finishes the curve.
        QCOMPARE(stepsOf(recorder.losses), range(before.back().step + 1, kFusion + kContinued));
        QVERIFY(recorder.reports.front().resumed);
    }

    void failureNamesTheFile() {
        EngineSession session;
        SessionRecorder recorder(session);
        const fs::path missing = fs::path(m_dir.path().toStdString()) / "no-such-model";
        QVERIFY(session.inspect(missing));
        QVERIFY(recorder.waitFinished());
        QCOMPARE(recorder.statuses.front(), JobStatus::Failed);
        QVERIFY(recorder.infos.empty());
        QVERIFY2(recorder.errors.front().describe().find("no-such-model") != std::string::npos,
                 recorder.errors.front().describe().c_str());
        QCOMPARE(recorder.order, (std::vector<std::string>{"started", "finished"}));
        // The session takes the next job after a failure.
        QVERIFY(session.inspect(m_source));
        QVERIFY(recorder.waitFinished(2));
        QCOMPARE(recorder.statuses.back(), JobStatus::Succeeded);
    }

private:
    QTemporaryDir m_dir;
    fs::path m_source;
};

DHA_TEST_SUITE(EngineSessionTest)
#include "engine_session_test.moc"
