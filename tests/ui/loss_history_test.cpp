// LossHistoryModel, RunsModel and LossPlotView: model contracts (QAbstractItemModelTester), batches appended
// without loss or reordering, the moving average, a CSV round trip, run listing, overlays and plot export.
#include <QAbstractItemModelTester>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>

#include "models/loss_history_model.h"
#include "models/runs_model.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "views/loss_plot_view.h"

using namespace dha;
using namespace dha::ui;
namespace fs = std::filesystem;

namespace {

LossEvent lossEvent(int64_t step) {
    LossEvent event;
    event.step = step;
    event.tokens = step * 512;
    event.phase = step <= 10 ? "fusion" : "continued";
    event.lmLoss = 3.0 + std::sin(static_cast<double>(step)) * 0.25 + 1.0 / static_cast<double>(step);
    event.fusionLoss = step <= 10 ? 20.0 / static_cast<double>(step) : 0.0;
    event.learningRate = 1e-4 * static_cast<double>(step);
    event.tokensPerSecond = 1000.0 + static_cast<double>(step);
    return event;
}

QVector<LossEvent> steps(int64_t first, int64_t last) {
    QVector<LossEvent> events;
    for (int64_t step = first; step <= last; ++step) events << lossEvent(step);
    return events;
}

// A finished conversion run directory written by hand (the files convert_job writes).
void writeRun(const fs::path& runDir, const std::string& method, int64_t lastStep) {
    fs::create_directories(runDir / "export");
    fs::create_directories(runDir / "checkpoints" / "step-000030");
    std::ofstream(runDir / "checkpoints" / "latest") << "step-000030\n";
    const std::string spec = R"({"source_model": "/m", "text": "/t", "validation": "", "method": ")" + method +
                             R"(", "budget": {"fraction": 0.25}, "plan": "", "constraints": {"min_heads": 1,
        "max_heads": 0, "fix": [], "lock": [], "tie_kv": false, "uniform": false}, "metric": "cka",
        "fusion_tokens": 100, "continued_tokens": 100, "batch": 8, "context": 256, "model_lr": 0.0001,
        "fusion_lr": 0, "lambda_lr": 1, "lr": 0.0003, "min_lr": 3e-05, "warmup": 0, "fusion_ramp": 0.3,
        "fusion_tolerance": 1e-09, "grad_clip": 1, "weight_decay": 0.1, "seed": 1, "dtype": "fp32",
        "validation_tokens": 0, "checkpoint_every": 100, "keep_checkpoints": 2})";
    std::ofstream(runDir / "run.json") << R"({"format": "dha-convert-run", "format_version": 2, "spec": )" << spec
                                       << R"(, "search_steps": 0, "fusion_steps": 10, "continued_steps": 20})";
    std::ofstream metrics(runDir / "metrics.jsonl");
    metrics << R"({"type":"validation","model":"source","step":0,"tokens":0,"loss":3.1})" << "\n";
    for (int64_t step = 1; step <= lastStep; ++step) {
        const LossEvent e = lossEvent(step);
        metrics << R"({"type":"loss","phase":")" << e.phase << R"(","step":)" << step << R"(,"tokens":)" << e.tokens
                << R"(,"lm_loss":)" << e.lmLoss << R"(,"lr":)" << e.learningRate << R"(,"fusion_loss":)"
                << e.fusionLoss << "}\n";
    }
    metrics << R"({"type":"validation","model":"continued","step":)" << lastStep << R"(,"tokens":)" << lastStep * 512
            << R"(,"loss":3.4})" << "\n";
}

}  // namespace

class LossHistoryTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void batchesAppendEveryPointInOrder();
    void smoothingIsAnEmaRestartedPerPhase();
    void setHistoryAndClear();
    void csvRoundTrip();
    void csvToUnwritablePathFails();
    void runsModelListsFolder();
    void plotAppendsLiveAndRebuilds();
    void plotOverlaysAndExports();
};

void LossHistoryTest::batchesAppendEveryPointInOrder() {
    LossHistoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    model.append(steps(1, 7));
    model.append({});
    model.append(steps(8, 8));
    model.append(steps(9, 40));
    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 3);
    QCOMPARE(model.rowCount(), 40);
    QCOMPARE(model.columnCount(), int(LossHistoryModel::ColumnCount));
    for (int row = 0; row < 40; ++row) {
        const LossEvent expected = lossEvent(row + 1);
        QCOMPARE(model.index(row, LossHistoryModel::Step).data(LossHistoryModel::RawRole).toLongLong(), expected.step);
        QCOMPARE(model.index(row, LossHistoryModel::Tokens).data(LossHistoryModel::RawRole).toLongLong(),
                 expected.tokens);
        QCOMPARE(model.index(row, LossHistoryModel::LmLoss).data(LossHistoryModel::RawRole).toDouble(), expected.lmLoss);
        QCOMPARE(model.index(row, LossHistoryModel::Phase).data().toString(), QString::fromStdString(expected.phase));
        const QVariant fusion = model.index(row, LossHistoryModel::FusionLoss).data(LossHistoryModel::RawRole);
        QCOMPARE(fusion.isValid(), expected.phase == "fusion");
    }
    QCOMPARE(model.headerData(LossHistoryModel::LmLoss, Qt::Horizontal).toString(), QString("LM loss"));
}

void LossHistoryTest::smoothingIsAnEmaRestartedPerPhase() {
    LossHistoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSmoothingSpan(3);  // alpha = 0.5
    model.append(steps(1, 12));
    double expected = 0;
    for (int row = 0; row < 12; ++row) {
        const LossEvent& event = model.event(row);
        const bool restart = row == 0 || event.phase != model.event(row - 1).phase;
        expected = restart ? event.lmLoss : 0.5 * event.lmLoss + 0.5 * expected;
        QVERIFY(std::abs(model.smoothedLoss(row) - expected) < 1e-12);
    }
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setSmoothingSpan(1);  // no smoothing
    QCOMPARE(changed.count(), 1);
    for (int row = 0; row < 12; ++row) QCOMPARE(model.smoothedLoss(row), model.event(row).lmLoss);
}

void LossHistoryTest::setHistoryAndClear() {
    LossHistoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    RunHistory history;
    for (const LossEvent& event : steps(1, 5)) history.losses.push_back(event);
    model.setHistory(history);
    QCOMPARE(model.rowCount(), 5);
    model.append(steps(6, 6));
    QCOMPARE(model.rowCount(), 6);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void LossHistoryTest::csvRoundTrip() {
    QTemporaryDir dir;
    LossHistoryModel model;
    model.append(steps(1, 25));
    LossEvent odd = lossEvent(26);
    odd.phase = "odd, \"quoted\"";
    model.append({odd});
    const QString path = dir.filePath("loss.csv");
    QString error;
    QVERIFY2(model.writeCsv(path, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(file.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 27);
    QCOMPARE(lines[0], LossHistoryModel::csvHeader().join(','));
    for (int row = 0; row < 25; ++row) {
        const QStringList fields = lines[row + 1].split(',');
        QCOMPARE(fields.size(), 8);
        const LossEvent& event = model.event(row);
        QCOMPARE(fields[0].toLongLong(), event.step);
        QCOMPARE(fields[1].toLongLong(), event.tokens);
        QCOMPARE(fields[2], QString::fromStdString(event.phase));
        QCOMPARE(fields[3].toDouble(), event.lmLoss);  // 17 significant digits: exact
        QCOMPARE(fields[4].toDouble(), model.smoothedLoss(row));
        QCOMPARE(fields[5].isEmpty(), event.phase != "fusion");
        if (event.phase == "fusion") QCOMPARE(fields[5].toDouble(), event.fusionLoss);
        QCOMPARE(fields[6].toDouble(), event.learningRate);
        QCOMPARE(fields[7].toDouble(), event.tokensPerSecond);
    }
    QVERIFY(lines[26].startsWith("26,13312,\"odd, \"\"quoted\"\"\","));
}

void LossHistoryTest::csvToUnwritablePathFails() {
    LossHistoryModel model;
    model.append(steps(1, 2));
    QString error;
    QVERIFY(!model.writeCsv("/nonexistent-dir/loss.csv", &error));
    QVERIFY2(error.contains("/nonexistent-dir/loss.csv"), qPrintable(error));
}

void LossHistoryTest::runsModelListsFolder() {
    QTemporaryDir dir;
    const fs::path folder = dir.path().toStdString();
    writeRun(folder / "b-gqa", "gqa", 30);
    writeRun(folder / "a-dha", "dha", 30);
    fs::create_directories(folder / "c-broken");
    std::ofstream(folder / "c-broken" / "run.json") << "{";
    RunsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model.rowCount(), 0);
    model.setFolder(dir.path());
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(0, RunsModel::Name).data().toString(), QString("a-dha"));
    QCOMPARE(model.index(0, RunsModel::Method).data().toString(), QString("dha"));
    QCOMPARE(model.index(0, RunsModel::Budget).data().toString(), QString("25%"));
    QCOMPARE(model.index(0, RunsModel::State).data().toString(), QString("finished"));
    QCOMPARE(model.index(0, RunsModel::Steps).data().toString(), QString("30 / 30"));
    QCOMPARE(model.index(0, RunsModel::LastLoss).data().toString(), QString("3.4000"));
    QCOMPARE(model.index(1, RunsModel::Method).data().toString(), QString("gqa"));
    QCOMPARE(model.index(2, RunsModel::State).data().toString(), QString("unreadable"));
    QVERIFY(model.index(2, RunsModel::Name).data(Qt::ToolTipRole).toString().contains("run.json"));
    QCOMPARE(model.runDir(1), folder / "b-gqa");
    QCOMPARE(model.rowOf(folder / "b-gqa"), 1);
    QVERIFY(model.runDir(3).empty());
    fs::remove_all(folder / "a-dha");
    model.refresh();
    QCOMPARE(model.rowCount(), 2);
}

void LossHistoryTest::plotAppendsLiveAndRebuilds() {
    LossPlotView view;
    view.resize(800, 500);
    QVERIFY(view.isEmpty());
    view.append(steps(1, 4));
    view.append(steps(5, 30));
    QCOMPARE(view.stepCount(), 30);
    QCOMPARE(view.rawGraph()->dataCount(), 30);
    QCOMPARE(view.smoothedGraph()->dataCount(), 30);
    QCOMPARE(view.fusionGraph()->dataCount(), 10);
    for (int i = 0; i < 30; ++i) {
        QCOMPARE(view.rawGraph()->data()->at(i)->key, double(i + 1));
        QCOMPARE(view.rawGraph()->data()->at(i)->value, lossEvent(i + 1).lmLoss);
    }
    QVERIFY(view.plot()->xAxis->range().contains(30));
    ValidationEvent held;
    held.step = 30;
    held.tokens = 30 * 512;
    held.loss = 3.3;
    view.addValidation(held, "continued");
    QCOMPARE(view.heldOutGraph()->dataCount(), 1);
    view.setXAxis(LossPlotView::XAxis::Tokens);  // same points, keyed by tokens
    QCOMPARE(view.rawGraph()->dataCount(), 30);
    QCOMPARE(view.rawGraph()->data()->at(29)->key, 30.0 * 512);
    QCOMPARE(view.heldOutGraph()->data()->at(0)->key, 30.0 * 512);
    view.setLogScale(true);
    QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(view.plot()->yAxis->range().lower > 0);
    view.setShowSmoothed(false);
    QVERIFY(!view.smoothedGraph()->visible());
    view.clear();
    QVERIFY(view.isEmpty());
}

void LossHistoryTest::plotOverlaysAndExports() {
    QTemporaryDir dir;
    LossPlotView view;
    view.resize(900, 520);
    view.append(steps(1, 30));
    RunHistory baseline;
    for (const LossEvent& event : steps(1, 30)) {
        LossEvent shifted = event;
        shifted.lmLoss += 0.3;
        baseline.losses.push_back(shifted);
    }
    const QColor first = view.addOverlay("gqa baseline", baseline);
    const QColor second = view.addOverlay("cka-gqa", baseline);
    QVERIFY(first != second);
    QCOMPARE(view.overlayNames(), QStringList({"gqa baseline", "cka-gqa"}));
    QCOMPARE(view.overlayGraph("gqa baseline")->dataCount(), 30);
    view.addOverlay("gqa baseline", baseline);  // replaces, does not duplicate
    QCOMPARE(view.overlayNames().size(), 2);
    view.removeOverlay("cka-gqa");
    QCOMPARE(view.overlayNames(), QStringList({"gqa baseline"}));
    for (const QString suffix : {"png", "svg", "pdf"}) {
        const QString path = dir.filePath("plot." + suffix);
        QString error;
        const bool ok = suffix == "png" ? view.savePng(path, &error)
                        : suffix == "svg" ? view.saveSvg(path, &error)
                                          : view.savePdf(path, &error);
        QVERIFY2(ok, qPrintable(error));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray head = file.read(64);
        if (suffix == "png") QVERIFY(head.startsWith("\x89PNG"));
        if (suffix == "svg") QVERIFY(head.contains("<?xml"));
        if (suffix == "pdf") QVERIFY(head.startsWith("%PDF"));
    }
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 3);  // no temporary files left
    QString error;
    QVERIFY(!view.savePng("/nonexistent-dir/plot.png", &error));
    QVERIFY(error.contains("/nonexistent-dir/plot.png"));
}

DHA_TEST_SUITE(LossHistoryTest)
#include "loss_history_test.moc"
