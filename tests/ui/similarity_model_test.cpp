// SimilarityModel: one row per analysed layer in layer order, growing as layers arrive, checked throughout by
// QAbstractItemModelTester.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

#include "models/similarity_model.h"
#include "test_registry.h"

namespace {

dha::LayerSimilarity layerWith(int layer, double keyMean, int keyHeads90, double valueMean,
                               int valueHeads90) {
    dha::LayerSimilarity result;
    result.layer = layer;
    result.key = dha::Matrix(8, 8, 1.0f);
    result.value = dha::Matrix(4, 4, 1.0f);
    result.keySummary = {keyMean, keyMean + 0.25, keyHeads90};
    result.valueSummary = {valueMean, valueMean + 0.125, valueHeads90};
    return result;
}

using Model = dha::ui::SimilarityModel;

}  // namespace

class SimilarityModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void growsAsLayersArrive() {
        Model model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.columnCount(), int(Model::ColumnCount));
        for (int layer = 0; layer < 4; ++layer) {
            model.addLayer(layerWith(layer, 0.1 * layer, 8 - layer, 0.05 * layer, 4));
            QCOMPARE(model.rowCount(), layer + 1);
            QCOMPARE(inserted.count(), layer + 1);
            QCOMPARE(inserted.last().at(1).toInt(), layer);  // appended at the end
        }
        QCOMPARE(model.data(model.index(2, Model::LayerColumn)).toString(), QStringLiteral("2"));
        QCOMPARE(model.data(model.index(2, Model::KeyMeanColumn)).toString(), QStringLiteral("0.200"));
        QCOMPARE(model.data(model.index(2, Model::KeyMaxColumn)).toString(), QStringLiteral("0.450"));
        QCOMPARE(model.data(model.index(2, Model::KeyHeads90Column)).toString(), QStringLiteral("6 / 8"));
        QCOMPARE(model.data(model.index(3, Model::ValueMeanColumn)).toString(), QStringLiteral("0.150"));
        QCOMPARE(model.data(model.index(3, Model::ValueMaxColumn)).toString(), QStringLiteral("0.275"));
        QCOMPARE(model.data(model.index(3, Model::ValueHeads90Column)).toString(), QStringLiteral("4 / 4"));
        QCOMPARE(model.data(model.index(2, Model::KeyMeanColumn), Model::RawValueRole).toDouble(), 0.1 * 2);
        QCOMPARE(model.data(model.index(2, Model::KeyHeads90Column), Model::RawValueRole).toInt(), 6);
        QCOMPARE(model.headerData(Model::ValueHeads90Column, Qt::Horizontal).toString(),
                 QStringLiteral("Value\nheads 90%"));
    }

    void keepsLayerOrderAndReplacesRepeats() {
        Model model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.addLayer(layerWith(2, 0.2, 5, 0.1, 3));
        model.addLayer(layerWith(0, 0.0, 8, 0.0, 4));
        model.addLayer(layerWith(1, 0.1, 7, 0.1, 4));
        QCOMPARE(model.rowCount(), 3);
        for (int row = 0; row < 3; ++row) {
            QCOMPARE(model.layerAt(row), row);
            QCOMPARE(model.rowOfLayer(row), row);
        }
        QCOMPARE(model.layerAt(3), -1);
        QCOMPARE(model.rowOfLayer(7), -1);

        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        model.addLayer(layerWith(1, 0.5, 2, 0.5, 1));
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(inserted.count(), 0);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(model.data(model.index(1, Model::KeyMeanColumn), Model::RawValueRole).toDouble(), 0.5);
    }

    void setReportResetsAndClearEmpties() {
        Model model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.addLayer(layerWith(0, 0.3, 4, 0.2, 2));
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        dha::SimilarityReport report;
        report.metric = dha::SimilarityMetric::WeightCosine;
        for (int layer : {3, 1, 0, 2})
            report.layers.push_back(layerWith(layer, 0.01 * layer, 8, -0.02 * layer, 4));
        model.setReport(report);
        QCOMPARE(reset.count(), 1);
        QCOMPARE(model.rowCount(), 4);
        for (int row = 0; row < 4; ++row) QCOMPARE(model.layerAt(row), row);
        QCOMPARE(model.data(model.index(3, Model::ValueMeanColumn)).toString(), QStringLiteral("-0.060"));
        model.addLayer(layerWith(4, 0.1, 8, 0.1, 4));  // grows again after a reset
        QCOMPARE(model.rowCount(), 5);
        model.clear();
        QCOMPARE(reset.count(), 2);
        QCOMPARE(model.rowCount(), 0);
    }

    void metricLabelsAndRanges() {
        using dha::SimilarityMetric;
        QCOMPARE(dha::ui::similarityMetricLabel(SimilarityMetric::WeightCka), QStringLiteral("weight CKA"));
        QCOMPARE(dha::ui::similarityMetricLabel(SimilarityMetric::ActivationCosine),
                 QStringLiteral("activation cosine"));
        QCOMPARE(dha::ui::similarityRange(SimilarityMetric::ActivationCka), std::make_pair(0.0, 1.0));
        QCOMPARE(dha::ui::similarityRange(SimilarityMetric::WeightCosine), std::make_pair(-1.0, 1.0));
    }
};

DHA_TEST_SUITE(SimilarityModelTest)
#include "similarity_model_test.moc"
