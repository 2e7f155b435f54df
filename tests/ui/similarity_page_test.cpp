// SimilarityPage: placeholder without an analysis, heatmaps and layer range growing as layers arrive, the
// metric selector, the plan's group overlay, and clicks on the overview and chart selecting a layer; plus a
// screenshot.
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

#include "models/similarity_model.h"
#include "pages/similarity_page.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "views/heatmap_view.h"
#include "views/redundancy_chart.h"
#include "views/similarity_overview.h"

namespace {

constexpr int kLayers = 6;
constexpr int kHeads = 8;

// Cluster of a head: deeper layers have fewer, larger clusters (more redundancy), keys more than values, and
// cluster members are spread over the head indices as in real checkpoints.
int clusterOf(int layer, int head, bool key, int heads = kHeads) {
    static const int kKeyClusters[kLayers] = {6, 5, 4, 3, 3, 2};
    static const int kValueClusters[kLayers] = {7, 6, 6, 5, 4, 4};
    const int clusters =
        (key ? kKeyClusters[layer % kLayers] : kValueClusters[layer % kLayers]) * heads / kHeads;
    return ((head * 5 + layer * 3) % heads) % clusters;
}

// A made-up but structured similarity matrix: high within a cluster, low across, a little deterministic
// noise.
dha::Matrix clusteredMatrix(int layer, bool key, int heads) {
    dha::Matrix matrix(heads, heads, 1.0f);
    const double within = (key ? 0.62 : 0.48) + 0.05 * (layer % kLayers);
    const double across = (key ? 0.14 : 0.06) + 0.025 * (layer % kLayers);
    for (int a = 0; a < heads; ++a) {
        for (int b = a + 1; b < heads; ++b) {
            const double noise = 0.06 * std::sin(1.7 * a + 2.3 * b + 0.9 * layer + (key ? 0.0 : 1.1));
            const double base =
                clusterOf(layer, a, key, heads) == clusterOf(layer, b, key, heads) ? within : across;
            matrix.at(a, b) = matrix.at(b, a) = static_cast<float>(std::clamp(base + noise, 0.0, 0.99));
        }
    }
    return matrix;
}

dha::LayerSimilarity clusteredLayer(int layer, int heads = kHeads) {
    dha::LayerSimilarity result;
    result.layer = layer;
    result.key = clusteredMatrix(layer, true, heads);
    result.value = clusteredMatrix(layer, false, heads);
    result.keySummary = dha::summariseRedundancy(result.key);
    result.valueSummary = dha::summariseRedundancy(result.value);
    return result;
}

dha::SimilarityReport clusteredReport(dha::SimilarityMetric metric = dha::SimilarityMetric::WeightCka) {
    dha::SimilarityReport report;
    report.metric = metric;
    report.seconds = 0.4;
    for (int layer = 0; layer < kLayers; ++layer) report.layers.push_back(clusteredLayer(layer));
    return report;
}

dha::SimilarityEvent eventFor(int layer, dha::SimilarityMetric metric = dha::SimilarityMetric::WeightCka) {
    return dha::SimilarityEvent{metric, kLayers, clusteredLayer(layer)};
}

// The plan a planner would propose: the clusters themselves.
dha::Plan clusterPlan() {
    dha::Plan plan;
    plan.sourceHeads = kHeads;
    for (int layer = 0; layer < kLayers; ++layer) {
        dha::LayerPlan layerPlan;
        for (bool key : {true, false}) {
            dha::HeadGroups groups;
            for (int cluster = 0; cluster < kHeads; ++cluster) {
                std::vector<int> group;
                for (int head = 0; head < kHeads; ++head)
                    if (clusterOf(layer, head, key) == cluster) group.push_back(head);
                if (!group.empty()) groups.push_back(group);
            }
            (key ? layerPlan.keyGroups : layerPlan.valueGroups) = groups;
        }
        plan.layers.push_back(layerPlan);
    }
    return dha::canonicalPlan(plan);
}

std::vector<int> concatenated(const dha::HeadGroups& groups) {
    std::vector<int> order;
    for (const auto& group : groups) order.insert(order.end(), group.begin(), group.end());
    return order;
}

QString titleOf(dha::ui::HeatmapView* view) {
    auto* title = qobject_cast<QCPTextElement*>(view->plot()->plotLayout()->element(0, 0));
    return title ? title->text() : QString();
}

void verifyShows(dha::ui::HeatmapView* view, const dha::Matrix& matrix) {
    QCOMPARE(view->rowCount(), matrix.rows);
    for (int row = 0; row < matrix.rows; ++row)
        for (int col = 0; col < matrix.cols; ++col)
            QCOMPARE(view->cellValue(row, col), double(matrix.at(view->headAt(row), view->headAt(col))));
}

}  // namespace

class SimilarityPageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsPlaceholderWithoutAnalysis() {
        dha::ui::SimilarityPage page;
        QVERIFY(page.showsPlaceholder());
        auto* placeholder = page.findChild<QLabel*>("placeholder");
        QVERIFY(placeholder);
        QVERIFY(placeholder->isVisibleTo(&page));
        QVERIFY(placeholder->text().contains("No similarity analysis yet"));
        QVERIFY(!page.findChild<QSpinBox*>("layerSpin")->isEnabled());
        QCOMPARE(page.selectedLayer(), -1);
    }

    void layersArriveOneByOne() {
        dha::ui::SimilarityPage page;
        auto* spin = page.findChild<QSpinBox*>("layerSpin");
        QSignalSpy selected(&page, &dha::ui::SimilarityPage::layerSelected);
        page.beginAnalysis(dha::SimilarityMetric::WeightCka, kLayers);
        QVERIFY(!page.showsPlaceholder());
        QVERIFY(!spin->isEnabled());
        QCOMPARE(page.metric(), dha::SimilarityMetric::WeightCka);
        QCOMPARE(page.keyView()->rowCount(), 0);
        for (int layer = 0; layer < kLayers; ++layer) {
            page.addLayer(eventFor(layer));
            QVERIFY(spin->isEnabled());
            QCOMPARE(spin->minimum(), 0);
            QCOMPARE(spin->maximum(), layer);
            QCOMPARE(page.model()->rowCount(), layer + 1);
            QCOMPARE(int(page.report().layers.size()), layer + 1);
            QCOMPARE(page.overview()->hasLayer(layer), true);
            QCOMPARE(page.redundancyChart()->layerCount(), layer + 1);
            // The first layer is shown as soon as it arrives and stays selected while the others come in.
            QCOMPARE(page.selectedLayer(), 0);
            verifyShows(page.keyView(), clusteredLayer(0).key);
        }
        QCOMPARE(selected.count(), 1);
        QCOMPARE(titleOf(page.keyView()), QStringLiteral("layer 0 - key heads (weight CKA)"));

        page.selectLayer(3);
        QCOMPARE(selected.count(), 2);
        QCOMPARE(selected.last().at(0).toInt(), 3);
        QCOMPARE(spin->value(), 3);
        verifyShows(page.keyView(), clusteredLayer(3).key);
        verifyShows(page.valueView(), clusteredLayer(3).value);
        QCOMPARE(titleOf(page.valueView()), QStringLiteral("layer 3 - value heads (weight CKA)"));
        QCOMPARE(page.keyView()->toolTipAt(0, 1).left(23), QStringLiteral("layer 3, key heads 0 an"));
        QCOMPARE(page.findChild<QTableView*>("similarityTable")->currentIndex().row(), 3);

        spin->setValue(5);  // the spin box drives the selection too
        QCOMPARE(page.selectedLayer(), 5);
        verifyShows(page.valueView(), clusteredLayer(5).value);
        page.selectLayer(kLayers + 2);  // not analysed: ignored
        QCOMPARE(page.selectedLayer(), 5);
        QCOMPARE(selected.count(), 3);
    }

    void eventOfAnotherMetricIsIgnored() {
        dha::ui::SimilarityPage page;
        page.addLayer(eventFor(0, dha::SimilarityMetric::ActivationCka));  // starts an analysis by itself
        QVERIFY(!page.showsPlaceholder());
        QCOMPARE(page.metric(), dha::SimilarityMetric::ActivationCka);
        page.addLayer(eventFor(1, dha::SimilarityMetric::WeightCka));  // late event of another analysis
        QCOMPARE(page.model()->rowCount(), 1);
        QCOMPARE(page.findChild<QSpinBox*>("layerSpin")->maximum(), 0);
    }

    void comboEmitsMetricRequestedOnce() {
        dha::ui::SimilarityPage page;
        page.beginAnalysis(dha::SimilarityMetric::WeightCka, kLayers);
        QSignalSpy requested(&page, &dha::ui::SimilarityPage::metricRequested);
        auto* combo = page.findChild<QComboBox*>("metricCombo");
        QCOMPARE(combo->count(), 4);
        QCOMPARE(combo->currentText(), QStringLiteral("weight CKA"));
        combo->setCurrentIndex(combo->findText("activation CKA"));
        QCOMPARE(requested.count(), 1);
        QCOMPARE(requested.first().at(0).value<dha::SimilarityMetric>(),
                 dha::SimilarityMetric::ActivationCka);
        // The main window answering with a new analysis moves the combo without another request.
        page.beginAnalysis(dha::SimilarityMetric::WeightCosine, kLayers);
        page.setReport(clusteredReport(dha::SimilarityMetric::ActivationCosine));
        QCOMPARE(requested.count(), 1);
        QCOMPARE(combo->currentText(), QStringLiteral("activation cosine"));
        QCOMPARE(page.metric(), dha::SimilarityMetric::ActivationCosine);
    }

    void colourScaleIsFixedPerMetric() {
        dha::ui::SimilarityPage page;
        page.setReport(clusteredReport(dha::SimilarityMetric::WeightCosine));
        auto* map = qobject_cast<QCPColorMap*>(page.keyView()->plot()->plottable(0));
        QCOMPARE(map->dataRange(), QCPRange(-1.0, 1.0));
        page.setReport(clusteredReport(dha::SimilarityMetric::WeightCka));
        QCOMPARE(map->dataRange(), QCPRange(0.0, 1.0));
        page.selectLayer(4);  // the same scale on every layer
        QCOMPARE(map->dataRange(), QCPRange(0.0, 1.0));
        QCOMPARE(map->colorScale()->label(), QStringLiteral("weight CKA"));
    }

    void setPlanChangesOverlay() {
        dha::ui::SimilarityPage page;
        page.setReport(clusteredReport());
        page.selectLayer(2);
        auto* showGroups = page.findChild<QCheckBox*>("showGroupsCheck");
        QVERIFY(!showGroups->isEnabled());  // no plan yet
        QVERIFY(!page.keyView()->hasGroups());

        const dha::Plan plan = clusterPlan();
        page.setPlan(plan);
        QVERIFY(showGroups->isEnabled() && showGroups->isChecked());
        const dha::LayerPlan& layerPlan = plan.layers[2];
        for (auto [view, groups] : {std::make_pair(page.keyView(), layerPlan.keyGroups),
                                    std::make_pair(page.valueView(), layerPlan.valueGroups)}) {
            QVERIFY(view->hasGroups());
            QVERIFY(view->reorderByGroup());
            QCOMPARE(view->groupBlocks().size(), int(groups.size()));  // one block per group when reordered
            const std::vector<int> order = concatenated(groups);
            for (int i = 0; i < kHeads; ++i) QCOMPARE(view->headAt(i), order[static_cast<size_t>(i)]);
        }
        verifyShows(page.keyView(), clusteredLayer(2).key);
        page.selectLayer(5);  // the overlay follows the layer
        QCOMPARE(page.keyView()->groupBlocks().size(), int(plan.layers[5].keyGroups.size()));

        showGroups->setChecked(false);
        QVERIFY(!page.keyView()->hasGroups());
        QCOMPARE(page.keyView()->headAt(1), 1);
        showGroups->setChecked(true);
        QVERIFY(page.valueView()->hasGroups());

        page.setPlan(dha::Plan());
        QVERIFY(!page.keyView()->hasGroups());
        QVERIFY(!page.valueView()->hasGroups());
        QVERIFY(page.keyView()->groupBlocks().isEmpty());
        QVERIFY(!showGroups->isEnabled());
    }

    void setReportKeepsSelectionAndClearShowsPlaceholder() {
        dha::ui::SimilarityPage page;
        page.beginAnalysis(dha::SimilarityMetric::WeightCka, kLayers);
        for (int layer = 0; layer < 3; ++layer) page.addLayer(eventFor(layer));
        page.selectLayer(2);
        page.setReport(clusteredReport());
        QCOMPARE(page.selectedLayer(), 2);
        QCOMPARE(page.model()->rowCount(), kLayers);
        QCOMPARE(page.findChild<QSpinBox*>("layerSpin")->maximum(), kLayers - 1);
        QVERIFY(page.findChild<QLabel*>("statusLabel")->text().contains("6 layers"));

        page.clear();
        QVERIFY(page.showsPlaceholder());
        QCOMPARE(page.model()->rowCount(), 0);
        QVERIFY(page.report().layers.empty());
        QCOMPARE(page.selectedLayer(), -1);
        QCOMPARE(page.keyView()->rowCount(), 0);
        QVERIFY(!page.findChild<QSpinBox*>("layerSpin")->isEnabled());
    }

    void overviewChartAndTableSelectLayers() {
        dha::ui::SimilarityPage page;
        page.resize(1280, 800);
        page.setReport(clusteredReport());
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QSignalSpy selected(&page, &dha::ui::SimilarityPage::layerSelected);

        dha::ui::SimilarityOverview* overview = page.overview();
        QTest::mouseClick(overview, Qt::LeftButton, {}, overview->tileRect(4, dha::HeadKind::Value).center());
        QCOMPARE(page.selectedLayer(), 4);

        dha::ui::RedundancyChart* chart = page.redundancyChart();
        chart->plot()->replot(QCustomPlot::rpImmediateRefresh);  // lay the axes out before mapping pixels
        QTest::mouseClick(chart->plot(), Qt::LeftButton, {}, chart->layerCentre(1));
        QCOMPARE(page.selectedLayer(), 1);

        auto* table = page.findChild<QTableView*>("similarityTable");
        table->setCurrentIndex(page.model()->index(5, dha::ui::SimilarityModel::KeyMeanColumn));
        QCOMPARE(page.selectedLayer(), 5);
        QCOMPARE(selected.count(), 3);
    }

    void rendersAt1280x800() {
        dha::ui::SimilarityPage page;
        page.resize(1280, 800);
        page.setReport(clusteredReport());
        page.setPlan(clusterPlan());
        page.selectLayer(3);
        const QPixmap pixels = page.grab();
        QCOMPARE(pixels.size(), QSize(1280, 800));
        // DHA_SIMILARITY_PNG names where to keep the picture for a person to look at.
        const QString keep = qEnvironmentVariable("DHA_SIMILARITY_PNG");
        QTemporaryDir dir;
        QVERIFY(pixels.save(keep.isEmpty() ? dir.filePath("similarity_page.png") : keep));
    }

    void rendersManyLayersWhileAnalysing() {
        // A 32-layer, 32-head model two thirds analysed: every layer has its slot, arrived ones are drawn.
        dha::ui::SimilarityPage page;
        page.resize(1280, 800);
        page.beginAnalysis(dha::SimilarityMetric::WeightCka, 32);
        for (int layer = 0; layer < 21; ++layer)
            page.addLayer(
                dha::SimilarityEvent{dha::SimilarityMetric::WeightCka, 32, clusteredLayer(layer, 32)});
        QCOMPARE(page.findChild<QSpinBox*>("layerSpin")->maximum(), 20);
        QCOMPARE(page.overview()->layerSlots(), 32);
        QVERIFY(page.findChild<QLabel*>("statusLabel")->text().contains("21 of 32 layers"));
        page.selectLayer(12);
        verifyShows(page.valueView(), clusteredLayer(12, 32).value);
        const QPixmap pixels = page.grab();
        QCOMPARE(pixels.size(), QSize(1280, 800));
        const QString keep = qEnvironmentVariable("DHA_SIMILARITY_STREAMING_PNG");
        if (!keep.isEmpty()) QVERIFY(pixels.save(keep));
    }
};

DHA_TEST_SUITE(SimilarityPageTest)
#include "similarity_page_test.moc"
