// SimilarityOverview and RedundancyChart: one shared colour scale over all layers, group reordering of the
// mini heatmaps, bars equal to the layers' mean similarity, and clicks that name the layer under the mouse.
#include <QSignalSpy>
#include <QTest>

#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "views/heatmap_view.h"
#include "views/redundancy_chart.h"
#include "views/similarity_overview.h"

namespace {

// Layer `layer` of `heads` heads: value at (a, b) = 0.1 * layer + 0.01 * (a + b) off the diagonal.
dha::LayerSimilarity rampLayer(int layer, int heads) {
    dha::LayerSimilarity result;
    result.layer = layer;
    result.key = dha::Matrix(heads, heads, 1.0f);
    for (int a = 0; a < heads; ++a)
        for (int b = 0; b < heads; ++b)
            if (a != b) result.key.at(a, b) = static_cast<float>(0.1 * layer + 0.01 * (a + b));
    result.value = result.key;
    for (float& value : result.value.values) value *= 0.5f;
    result.keySummary = dha::summariseRedundancy(result.key);
    result.valueSummary = dha::summariseRedundancy(result.value);
    return result;
}

QColor expectedColour(double value, double minimum, double maximum) {
    QCPColorGradient gradient = dha::ui::similarityGradient(minimum, maximum);
    return QColor(gradient.color(value, QCPRange(minimum, maximum)));
}

}  // namespace

class SimilarityViewsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void overviewUsesOneColourScale() {
        dha::ui::SimilarityOverview overview;
        overview.resize(600, 200);
        overview.beginAnalysis(dha::SimilarityMetric::WeightCka, 4);
        QCOMPARE(overview.layerSlots(), 4);
        QVERIFY(!overview.hasLayer(0));
        QVERIFY(!overview.tileRect(3, dha::HeadKind::Value).isEmpty());  // announced layers have a slot
        for (int layer = 0; layer < 4; ++layer) overview.addLayer(rampLayer(layer, 4));
        for (int layer = 0; layer < 4; ++layer) {
            const dha::LayerSimilarity expected = rampLayer(layer, 4);
            for (int row = 0; row < 4; ++row) {
                for (int col = 0; col < 4; ++col) {
                    QCOMPARE(overview.cellColor(layer, dha::HeadKind::Key, row, col),
                             expectedColour(expected.key.at(row, col), 0.0, 1.0));
                    QCOMPARE(overview.cellColor(layer, dha::HeadKind::Value, row, col),
                             expectedColour(expected.value.at(row, col), 0.0, 1.0));
                }
            }
        }
        // Tiles do not overlap and the key tile sits above the value tile of its layer.
        const QRect key = overview.tileRect(1, dha::HeadKind::Key);
        const QRect value = overview.tileRect(1, dha::HeadKind::Value);
        QVERIFY(key.bottom() < value.top());
        QVERIFY(!key.intersects(overview.tileRect(2, dha::HeadKind::Key)));
        QVERIFY(!overview.grab().isNull());
    }

    void overviewReordersByGroupWhenAsked() {
        dha::ui::SimilarityOverview overview;
        overview.resize(400, 200);
        dha::SimilarityReport report;
        report.metric = dha::SimilarityMetric::WeightCosine;
        report.layers = {rampLayer(0, 4), rampLayer(1, 4)};
        overview.setReport(report);
        dha::Plan plan;
        plan.sourceHeads = 4;
        plan.layers = {dha::LayerPlan{{{3, 0}, {1, 2}}, {{0}, {1}, {2}, {3}}},
                       dha::LayerPlan{{{0, 1, 2, 3}}, {{2, 1}, {0, 3}}}};
        overview.setPlan(plan);
        overview.setShowGroups(true);
        const std::vector<int> order{3, 0, 1, 2};
        for (int row = 0; row < 4; ++row)
            for (int col = 0; col < 4; ++col)
                QCOMPARE(overview.cellColor(0, dha::HeadKind::Key, row, col),
                         expectedColour(report.layers[0].key.at(order[row], order[col]), -1.0, 1.0));
        overview.setShowGroups(false);
        QCOMPARE(overview.cellColor(0, dha::HeadKind::Key, 0, 1),
                 expectedColour(report.layers[0].key.at(0, 1), -1.0, 1.0));
    }

    void overviewClickNamesTheLayer() {
        dha::ui::SimilarityOverview overview;
        overview.resize(640, 220);
        overview.beginAnalysis(dha::SimilarityMetric::WeightCka, 32);
        for (int layer = 0; layer < 31; ++layer) overview.addLayer(rampLayer(layer, 32));
        overview.show();
        QVERIFY(QTest::qWaitForWindowExposed(&overview));
        QSignalSpy clicked(&overview, &dha::ui::SimilarityOverview::layerClicked);
        QTest::mouseClick(&overview, Qt::LeftButton, {}, overview.tileRect(17, dha::HeadKind::Key).center());
        QTest::mouseClick(&overview, Qt::LeftButton, {},
                          overview.tileRect(30, dha::HeadKind::Value).center());
        QTest::mouseClick(&overview, Qt::LeftButton, {}, overview.tileRect(31, dha::HeadKind::Key).center());
        QCOMPARE(clicked.count(), 2);  // layer 31 is announced but not analysed yet
        QCOMPARE(clicked.at(0).at(0).toInt(), 17);
        QCOMPARE(clicked.at(1).at(0).toInt(), 30);
        QVERIFY(!overview.tileRect(31, dha::HeadKind::Value).isEmpty());
        QCOMPARE(overview.layerAt(QPoint(-5, -5)), -1);
    }

    void chartBarsAreMeanSimilarity() {
        dha::ui::RedundancyChart chart;
        chart.beginAnalysis(dha::SimilarityMetric::WeightCka, 3);
        QVERIFY(std::isnan(chart.keyBar(0)));
        chart.addLayer(rampLayer(0, 4));
        chart.addLayer(rampLayer(2, 4));
        QCOMPARE(chart.layerCount(), 2);
        QCOMPARE(chart.keyBar(2), rampLayer(2, 4).keySummary.meanOffDiagonal);
        QCOMPARE(chart.valueBar(2), rampLayer(2, 4).valueSummary.meanOffDiagonal);
        QVERIFY(std::isnan(chart.keyBar(1)));
        dha::SimilarityReport report;
        report.layers = {rampLayer(0, 4)};
        chart.setReport(report);
        QCOMPARE(chart.layerCount(), 1);
        QVERIFY(std::isnan(chart.keyBar(2)));
        QCOMPARE(chart.plot()->yAxis->range(), QCPRange(0.0, 1.0));  // CKA: fixed axis
    }

    void chartClickNamesTheLayer() {
        dha::ui::RedundancyChart chart;
        chart.resize(500, 300);
        dha::SimilarityReport report;
        for (int layer = 0; layer < 6; ++layer) report.layers.push_back(rampLayer(layer, 4));
        chart.setReport(report);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        chart.plot()->replot(QCustomPlot::rpImmediateRefresh);
        QSignalSpy clicked(&chart, &dha::ui::RedundancyChart::layerClicked);
        QTest::mouseClick(chart.plot(), Qt::LeftButton, {}, chart.layerCentre(4));
        QTest::mouseClick(chart.plot(), Qt::LeftButton, {}, chart.layerCentre(0) + QPoint(5, 0));
        QTest::mouseClick(chart.plot(), Qt::LeftButton, {}, QPoint(1, 1));  // outside the axes
        QCOMPARE(clicked.count(), 2);
        QCOMPARE(clicked.at(0).at(0).toInt(), 4);
        QCOMPARE(clicked.at(1).at(0).toInt(), 0);
    }
};

DHA_TEST_SUITE(SimilarityViewsTest)
#include "similarity_views_test.moc"
