// No plot paints into a null buffer: QCustomPlot replots on every resize, and one resized to an empty size
// while hidden (a page not yet laid out) warns "QPainter::begin: Paint device returned engine == 0" and
// "paint buffer returned inactive painter". Each plot view is grabbed while squeezed to nothing, and the
// whole window is screenshotted offscreen with each page shown first, as `dha-studio --screenshot --page`
// does.
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QVBoxLayout>

#include "dha/embedded_model.h"
#include "dha/job.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "ui_fixtures.h"
#include "views/heatmap_view.h"
#include "views/kv_allocation_chart.h"
#include "views/loss_plot_view.h"
#include "views/redundancy_chart.h"
#include "windows/main_window.h"
#include "windows/screenshot.h"

using namespace dha;
using namespace dha::ui;

namespace {

// The two warnings of a replot into an empty paint buffer.
const QRegularExpression kPaintWarnings(QStringLiteral(
    "QPainter::begin: Paint device returned engine == 0|paint buffer returned inactive painter"));

LayerSimilarity sampleLayer(int layer, int heads) {
    LayerSimilarity result;
    result.layer = layer;
    result.key = Matrix(heads, heads, 1.0f);
    for (int a = 0; a < heads; ++a)
        for (int b = 0; b < heads; ++b)
            if (a != b) result.key.at(a, b) = static_cast<float>(0.1 * layer + 0.02 * (a + b));
    result.value = result.key;
    result.keySummary = summariseRedundancy(result.key);
    result.valueSummary = summariseRedundancy(result.value);
    return result;
}

Plan samplePlan() { return dha::test::ui::twoLayerDecoupledPlan(); }

QVector<LossEvent> sampleSteps() {
    QVector<LossEvent> steps;
    for (int step = 1; step <= 5; ++step) {
        LossEvent event;
        event.phase = "fusion";
        event.step = step;
        event.totalSteps = 5;
        event.tokens = step * 1024;
        event.lmLoss = 3.0 + 1.0 / step;
        event.fusionLoss = 1.0 / step;
        steps.push_back(event);
    }
    return steps;
}

enum View { Redundancy, KvAllocation, Loss, Heatmap };

// A view of kind `view` in `parent`, with data.
QWidget* makeView(int view, QWidget* parent) {
    switch (view) {
        case Redundancy: {
            auto* chart = new RedundancyChart(parent);
            chart->beginAnalysis(SimilarityMetric::WeightCka, 2);
            chart->addLayer(sampleLayer(0, 4));
            chart->addLayer(sampleLayer(1, 4));
            return chart;
        }
        case KvAllocation: {
            auto* chart = new KvAllocationChart(parent);
            chart->setPlan(samplePlan(), 2);
            return chart;
        }
        case Loss: {
            auto* plot = new LossPlotView(parent);
            plot->append(sampleSteps());
            return plot;
        }
        default: {
            auto* heatmap = new HeatmapView(parent);
            heatmap->setMatrix(sampleLayer(1, 4).key, 0.0, 1.0);
            heatmap->setLabel(1, HeadKind::Key);
            return heatmap;
        }
    }
}

}  // namespace

class PaintWarningsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void init() { QTest::failOnWarning(kPaintWarnings); }

    void squeezedViewsDoNotPaint_data();
    void squeezedViewsDoNotPaint();
    void screenshotWithPageShownFirst_data();
    void screenshotWithPageShownFirst();
};

void PaintWarningsTest::squeezedViewsDoNotPaint_data() {
    QTest::addColumn<int>("view");
    QTest::newRow("redundancy chart") << int(Redundancy);
    QTest::newRow("KV allocation chart") << int(KvAllocation);
    QTest::newRow("loss plot") << int(Loss);
    QTest::newRow("heatmap") << int(Heatmap);
}

void PaintWarningsTest::squeezedViewsDoNotPaint() {
    QFETCH(int, view);
    // A hidden host lays the view out at zero height, as a splitter of a page never shown does; grab() then
    // delivers the pending resize events, as the window's screenshot does for its hidden pages.
    QWidget window;
    window.resize(400, 300);
    auto* host = new QWidget(&window);
    auto* layout = new QVBoxLayout(host);
    layout->setContentsMargins(0, 0, 0, 0);
    QWidget* shown = makeView(view, host);
    layout->addWidget(shown);
    host->setGeometry(0, 0, 40, 0);
    host->hide();
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    host->setGeometry(0, 0, 40, 0);
    layout->activate();
    QVERIFY(!window.grab().isNull());
    QTest::qWait(20);  // queued replots
    // Still drawn once it has room.
    host->setGeometry(0, 0, 400, 300);
    host->show();
    QTest::qWait(20);
    QCOMPARE(shown->size(), QSize(400, 300));
    auto* plot = shown->findChild<QCustomPlot*>();
    QVERIFY(plot != nullptr);
    QVERIFY(!window.grab().isNull());
    QCOMPARE(plot->viewport(), plot->rect());  // no stale size left from the squeeze
    QVERIFY(plot->axisRect()->width() > 100);
}

void PaintWarningsTest::screenshotWithPageShownFirst_data() {
    QTest::addColumn<int>("page");
    for (Page page : {Page::Model, Page::Similarity, Page::Plan, Page::Training, Page::Export})
        QTest::newRow(qPrintable(pageName(page))) << static_cast<int>(page);
}

void PaintWarningsTest::screenshotWithPageShownFirst() {
    QFETCH(int, page);
    QVERIFY2(embeddedModelDir().has_value(), "the embedded teacher ships in resources/models/dha-teacher");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // What renderScreenshot does; the other pages stay hidden until the screenshot's grab.
    MainWindow window;
    window.resize(1280, 800);
    window.showPage(static_cast<Page>(page));
    window.show();
    QVERIFY(window.openEmbeddedModel());
    QCOMPARE(waitForAnalysis(window, 300000), QString());
    QCOMPARE(saveWindowPng(window, dir.filePath(QStringLiteral("window.png"))), QString());
    // Then every page in turn, as a user clicking through them.
    for (Page next : {Page::Model, Page::Similarity, Page::Plan, Page::Training, Page::Export}) {
        window.showPage(next);
        QCOMPARE(saveWindowPng(window, dir.filePath(pageName(next) + QStringLiteral(".png"))), QString());
    }
}

DHA_TEST_SUITE(PaintWarningsTest)
#include "paint_warnings_test.moc"
