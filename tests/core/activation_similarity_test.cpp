// Activation metrics (act-cka, act-cosine): range, unit diagonal and symmetry, a duplicated head seen as
// identical, pre- and post-RoPE keys, and the layer-by-layer stream against the whole loaded model.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "analysis/head_similarity.h"
#include "analysis_test_support.h"
#include "dha/kernels/rope.h"
#include "dha/similarity.h"
#include "io/atomic_file.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "test_registry.h"
#include "tiny_model_weights.h"
#include "tokenizer/tokenizer.h"

using namespace dha;
using namespace dha::test;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kTokens = 96;
constexpr int kWindow = 32;

SimilarityReport reportOf(const fs::path& modelDir, SimilarityMetric metric, bool preRopeKeys) {
    AnalyseSpec spec;
    spec.modelDir = modelDir;
    spec.metric = metric;
    spec.calibrationText = kCalibrationText;
    spec.calibrationTokens = kTokens;
    spec.calibrationContext = kWindow;
    spec.preRopeKeys = preRopeKeys;
    RecordingSink sink;
    CancelToken cancel;
    JobResult<SimilarityReport> result = runAnalyseJob(spec, sink, cancel);
    if (!result.ok()) throw std::runtime_error("analysis failed: " + result.error.describe());
    return *result.value;
}

void checkProperties(const Matrix& matrix, float low) {
    for (int i = 0; i < matrix.rows; ++i) {
        QCOMPARE(matrix.at(i, i), 1.0f);
        for (int j = 0; j < matrix.cols; ++j) {
            QVERIFY(std::isfinite(matrix.at(i, j)));
            QVERIFY(matrix.at(i, j) >= low && matrix.at(i, j) <= 1.0f);
            QCOMPARE(matrix.at(i, j), matrix.at(j, i));
        }
    }
}

double maxDifference(const Matrix& a, const Matrix& b) {
    double worst = 0;
    for (size_t i = 0; i < a.values.size(); ++i)
        worst = std::max(worst, std::abs(double(a.values[i]) - b.values[i]));
    return worst;
}

}  // namespace

Q_DECLARE_METATYPE(dha::SimilarityMetric)

class ActivationSimilarityTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void rangeDiagonalSymmetry_data();
    void rangeDiagonalSymmetry();
    void duplicatedHeadIsIdentical_data();
    void duplicatedHeadIsIdentical();
    void preAndPostRopeKeys();
    void streamMatchesWholeModel();

private:
    QTemporaryDir m_dir;
    fs::path m_model;       // 3 random layers
    fs::path m_duplicated;  // layer 1: key head 1 = key head 0, value head 3 = value head 2
};

void ActivationSimilarityTest::initTestCase() {
    QVERIFY(m_dir.isValid());
    const fs::path root(m_dir.path().toStdString());
    TinyModelShape shape;
    shape.numLayers = 3;
    const ModelConfig config = tinyCalibrationConfig(shape);
    m_model = root / "model";
    writeTinyModel(m_model, config, 31);
    addCalibrationTokenizer(m_model);

    m_duplicated = root / "duplicated";
    model::Transformer model = makeTinyModel(config, 32);
    {
        at::NoGradGuard noGrad;
        const int64_t d = config.headDim;
        auto& attention = model->layer(1)->selfAttn;
        attention->kProj->weight().narrow(0, 1 * d, d).copy_(attention->kProj->weight().narrow(0, 0, d));
        attention->vProj->weight().narrow(0, 3 * d, d).copy_(attention->vProj->weight().narrow(0, 2 * d, d));
    }
    model::saveModel(m_duplicated, config, model);
    addCalibrationTokenizer(m_duplicated);
}

void ActivationSimilarityTest::rangeDiagonalSymmetry_data() {
    QTest::addColumn<SimilarityMetric>("metric");
    QTest::addColumn<bool>("preRope");
    QTest::newRow("act-cka, post-RoPE") << SimilarityMetric::ActivationCka << false;
    QTest::newRow("act-cka, pre-RoPE") << SimilarityMetric::ActivationCka << true;
    QTest::newRow("act-cosine, post-RoPE") << SimilarityMetric::ActivationCosine << false;
    QTest::newRow("act-cosine, pre-RoPE") << SimilarityMetric::ActivationCosine << true;
}

void ActivationSimilarityTest::rangeDiagonalSymmetry() {
    QFETCH(SimilarityMetric, metric);
    QFETCH(bool, preRope);
    const SimilarityReport report = reportOf(m_model, metric, preRope);
    QCOMPARE(report.preRopeKeys, preRope);
    QCOMPARE(report.calibrationTokens, kTokens);
    QCOMPARE(report.layers.size(), size_t{3});
    const float low = metric == SimilarityMetric::ActivationCka ? 0.0f : -1.0f;
    for (const LayerSimilarity& layer : report.layers) {
        QCOMPARE(layer.key.rows, 4);
        checkProperties(layer.key, low);
        checkProperties(layer.value, low);
        QVERIFY(layer.keySummary.maxOffDiagonal < 0.999);  // random heads are not duplicates
    }
}

void ActivationSimilarityTest::duplicatedHeadIsIdentical_data() { rangeDiagonalSymmetry_data(); }

void ActivationSimilarityTest::duplicatedHeadIsIdentical() {
    QFETCH(SimilarityMetric, metric);
    QFETCH(bool, preRope);
    const SimilarityReport report = reportOf(m_duplicated, metric, preRope);
    const LayerSimilarity& layer = report.layers[1];
    QVERIFY2(std::abs(layer.key.at(0, 1) - 1.0f) < 1e-5f, qPrintable(QString::number(layer.key.at(0, 1))));
    QVERIFY2(std::abs(layer.value.at(2, 3) - 1.0f) < 1e-5f,
             qPrintable(QString::number(layer.value.at(2, 3))));
    // The other pairs, and the other layers' heads, stay distinct.
    QVERIFY(layer.key.at(0, 2) < 0.999f);
    QVERIFY(report.layers[0].key.at(0, 1) < 0.999f);
    QVERIFY(report.layers[2].value.at(2, 3) < 0.999f);
}

void ActivationSimilarityTest::preAndPostRopeKeys() {
    for (const SimilarityMetric metric :
         {SimilarityMetric::ActivationCka, SimilarityMetric::ActivationCosine}) {
        const SimilarityReport post = reportOf(m_model, metric, false);
        const SimilarityReport pre = reportOf(m_model, metric, true);
        double keyChange = 0;
        for (size_t layer = 0; layer < post.layers.size(); ++layer) {
            QCOMPARE(pre.layers[layer].value.values,
                     post.layers[layer].value.values);  // RoPE touches keys only
            keyChange = std::max(keyChange, maxDifference(pre.layers[layer].key, post.layers[layer].key));
        }
        const QString change = QString::number(keyChange);
        if (metric == SimilarityMetric::ActivationCka) {
            // Centred CKA compares token-by-token Gram matrices, which RoPE's position-dependent rotation
            // changes.
            QVERIFY2(keyChange > 1e-3, qPrintable(change));
        } else {
            // Flattened cosine sums per-token dot products, and at each token RoPE rotates every head by the
            // same angles: the dot products, hence act-cosine, are RoPE-invariant.
            QVERIFY2(keyChange < 1e-5, qPrintable(change));
        }
    }
}

void ActivationSimilarityTest::streamMatchesWholeModel() {
    // Reference: the whole model loaded at once, run with its own modules over the same windows.
    const model::LoadedModel loaded = model::loadModel(m_model);
    const ModelConfig& config = loaded.config;
    std::vector<int32_t> ids = tok::loadTokenizer(m_model)->encode(io::readSmallFile(kCalibrationText));
    QVERIFY(static_cast<int64_t>(ids.size()) >= kTokens);
    ids.resize(static_cast<size_t>(kTokens));
    const at::Tensor tokens = at::from_blob(ids.data(), {kTokens / kWindow, kWindow}, at::kInt).to(at::kLong);

    kernels::RopeParams params;
    params.headDim = config.headDim;
    params.theta = config.ropeTheta;
    const kernels::RopeTables rope = kernels::ropeTables(at::arange(kWindow, at::kLong), params);
    const SimilarityReport streamedCka = reportOf(m_model, SimilarityMetric::ActivationCka, false);
    const SimilarityReport streamedCosine = reportOf(m_model, SimilarityMetric::ActivationCosine, false);

    at::NoGradGuard noGrad;
    at::Tensor hidden = loaded.model->model->embedTokens->forward(tokens);  // [windows, window, hidden]
    for (int index = 0; index < config.numLayers; ++index) {
        const auto& layer = loaded.model->layer(index);
        const at::Tensor normed = layer->inputLayernorm->forward(hidden);
        const int64_t heads = config.numQueryHeads;
        const at::Tensor keys = kernels::applyRope(  // [windows, heads, window, headDim]
            layer->selfAttn->kProj->forward(normed)
                .view({tokens.size(0), kWindow, heads, config.headDim})
                .transpose(1, 2),
            rope);
        const at::Tensor values = layer->selfAttn->vProj->forward(normed)
                                      .view({tokens.size(0), kWindow, heads, config.headDim})
                                      .transpose(1, 2);
        const auto rows = [&](const at::Tensor& outputs) {  // [heads * headDim, tokens]
            return outputs.permute({1, 3, 0, 2}).reshape({heads * config.headDim, -1});
        };
        const auto& cka = streamedCka.layers[size_t(index)];
        const auto& cosine = streamedCosine.layers[size_t(index)];
        QVERIFY(maxDifference(cka.key, analysis::linearCka(rows(keys), heads)) < 1e-5);
        QVERIFY(maxDifference(cka.value, analysis::linearCka(rows(values), heads)) < 1e-5);
        QVERIFY(maxDifference(cosine.key, analysis::flatCosine(rows(keys), heads)) < 1e-5);
        QVERIFY(maxDifference(cosine.value, analysis::flatCosine(rows(values), heads)) < 1e-5);
        hidden = layer->forward(hidden, rope);
    }
}

DHA_TEST_SUITE(ActivationSimilarityTest)
#include "activation_similarity_test.moc"
