// The planted-structure checkpoint seen through the analysis job: weight CKA shows the planted key and value
// groups exactly (same-group CKA = 1), weight cosine does not (dha-method.md section 2: why CKA is the
// default).
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <string>
#include <vector>

#include "analysis_test_support.h"
#include "dha/similarity.h"
#include "planted_model.h"
#include "test_registry.h"

using namespace dha;
using namespace dha::test;
namespace fs = std::filesystem;

namespace {

// Same-group and cross-group similarities of one matrix under planted groups.
struct Separation {
    double minSame = 2;
    double maxCross = -2;
    double sumSame = 0;
    int same = 0;
};

void accumulate(const Matrix& matrix, const HeadGroups& groups, Separation& separation) {
    std::vector<int> groupOf(static_cast<size_t>(matrix.rows));
    for (size_t g = 0; g < groups.size(); ++g) {
        for (const int head : groups[g]) groupOf[static_cast<size_t>(head)] = static_cast<int>(g);
    }
    for (int i = 0; i < matrix.rows; ++i) {
        for (int j = i + 1; j < matrix.cols; ++j) {
            const double value = matrix.at(i, j);
            if (groupOf[size_t(i)] == groupOf[size_t(j)]) {
                separation.minSame = std::min(separation.minSame, value);
                separation.sumSame += value;
                ++separation.same;
            } else {
                separation.maxCross = std::max(separation.maxCross, value);
            }
        }
    }
}

}  // namespace

Q_DECLARE_METATYPE(dha::io::DType)

class PlantedSimilarityTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void plantedGenerator();
    void ckaRecoversPlantedGroups_data();
    void ckaRecoversPlantedGroups();
    void cosineDoesNotShowPlantedGroups();
};

void PlantedSimilarityTest::plantedGenerator() {
    QTemporaryDir dir;
    const PlantedModel planted = writePlantedModel(fs::path(dir.path().toStdString()));
    QCOMPARE(planted.plan.sourceHeads, 8);
    QCOMPARE(planted.plan.layers.size(), size_t{3});
    bool layersDiffer = false;
    for (size_t layer = 0; layer < planted.plan.layers.size(); ++layer) {
        const LayerPlan& groups = planted.plan.layers[layer];
        QVERIFY(groups.keyGroups != groups.valueGroups);
        QVERIFY(groups.numKeyHeads() >= 2 && groups.numKeyHeads() <= 4);
        QVERIFY(groups.numValueHeads() >= 2 && groups.numValueHeads() <= 4);
        std::vector<int> heads;
        for (const auto& group : groups.keyGroups) heads.insert(heads.end(), group.begin(), group.end());
        std::sort(heads.begin(), heads.end());
        QCOMPARE(heads, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
        if (layer > 0 && groups != planted.plan.layers[layer - 1]) layersDiffer = true;
    }
    QVERIFY(layersDiffer);
    // Deterministic: the same seed plants the same groups.
    QTemporaryDir again;
    QVERIFY(writePlantedModel(fs::path(again.path().toStdString())).plan == planted.plan);
}

void PlantedSimilarityTest::ckaRecoversPlantedGroups_data() {
    QTest::addColumn<io::DType>("dtype");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("fp32") << io::DType::F32 << 1e-4;
    QTest::newRow("bf16 (rounded weights: rotations are no longer exact)") << io::DType::BF16 << 1e-2;
}

void PlantedSimilarityTest::ckaRecoversPlantedGroups() {
    QFETCH(io::DType, dtype);
    QFETCH(double, tolerance);
    QTemporaryDir dir;
    PlantedModelSpec spec;
    spec.dtype = dtype;
    const PlantedModel planted = writePlantedModel(fs::path(dir.path().toStdString()), spec);
    RecordingSink sink;
    const auto result = analyse(fs::path(dir.path().toStdString()), SimilarityMetric::WeightCka, sink);
    QVERIFY2(result.ok(), describe(result).c_str());
    for (size_t layer = 0; layer < planted.plan.layers.size(); ++layer) {
        Separation keys;
        Separation values;
        accumulate(result.value->layers[layer].key, planted.plan.layers[layer].keyGroups, keys);
        accumulate(result.value->layers[layer].value, planted.plan.layers[layer].valueGroups, values);
        for (const Separation& separation : {keys, values}) {
            const QString numbers = QString("layer %1: same-group min %2, cross-group max %3")
                                        .arg(layer)
                                        .arg(separation.minSame)
                                        .arg(separation.maxCross);
            if (separation.same > 0) QVERIFY2(separation.minSame >= 1 - tolerance, qPrintable(numbers));
            QVERIFY2(separation.maxCross < 0.3, qPrintable(numbers));
        }
    }
}

void PlantedSimilarityTest::cosineDoesNotShowPlantedGroups() {
    QTemporaryDir dir;
    const PlantedModel planted = writePlantedModel(fs::path(dir.path().toStdString()));
    RecordingSink sink;
    const auto result = analyse(fs::path(dir.path().toStdString()), SimilarityMetric::WeightCosine, sink);
    QVERIFY2(result.ok(), describe(result).c_str());
    Separation all;
    for (size_t layer = 0; layer < planted.plan.layers.size(); ++layer) {
        accumulate(result.value->layers[layer].key, planted.plan.layers[layer].keyGroups, all);
        accumulate(result.value->layers[layer].value, planted.plan.layers[layer].valueGroups, all);
    }
    const QString numbers = QString("same-group min %1, mean %2, cross-group max %3")
                                .arg(all.minSame)
                                .arg(all.sumSame / all.same)
                                .arg(all.maxCross);
    qInfo("cosine on the planted model: %s", qPrintable(numbers));
    // Heads made from one prototype look no more alike to cosine than heads from different ones: no
    // threshold separates the groups, and same-group pairs are nowhere near 1.
    QVERIFY2(all.minSame < all.maxCross, qPrintable(numbers));
    QVERIFY2(all.sumSame / all.same < 0.5, qPrintable(numbers));
}

DHA_TEST_SUITE(PlantedSimilarityTest)
#include "planted_similarity_test.moc"
