// runAnalyseJob: events once per layer in order, cancel between layers, malformed inputs naming the file, and
// the run-directory cache (reused, stale, damaged).
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis_test_support.h"
#include "dha/error.h"
#include "dha/similarity.h"
#include "io/atomic_file.h"
#include "test_registry.h"

using namespace dha;
using namespace dha::test;
namespace fs = std::filesystem;

namespace {

enum class Breakage {
    MissingKeyProjection,
    WrongValueShape,
    IntegerKeyProjection,
    TruncatedWeights,
    MissingConfig,
    MissingCalibrationText,
    EmptyText
};

enum class CacheDamage {
    NotJson,
    Truncated,
    ValueOutOfRange,
    WrongRowCount,
    Asymmetric,
    DiagonalNotOne,
    LayerMissing,
    StringValue,
    Oversized
};

bool sameMatrices(const SimilarityReport& a, const SimilarityReport& b) {
    if (a.layers.size() != b.layers.size()) return false;
    for (size_t i = 0; i < a.layers.size(); ++i) {
        if (a.layers[i].key.values != b.layers[i].key.values ||
            a.layers[i].value.values != b.layers[i].value.values ||
            a.layers[i].key.rows != b.layers[i].key.rows ||
            a.layers[i].value.rows != b.layers[i].value.rows) {
            return false;
        }
    }
    return true;
}

}  // namespace

Q_DECLARE_METATYPE(Breakage)
Q_DECLARE_METATYPE(CacheDamage)
Q_DECLARE_METATYPE(dha::SimilarityMetric)

class AnalyseJobTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void eventsArriveOncePerLayerInOrder_data();
    void eventsArriveOncePerLayerInOrder();
    void dhaSourceAnalysesItsOwnHeads();
    void cancelAfterFirstLayer();
    void malformedInputsNameTheFile_data();
    void malformedInputsNameTheFile();
    void cacheIsReused_data();
    void cacheIsReused();
    void changedSettingsAreRecomputed();
    void damagedCacheIsRecomputed_data();
    void damagedCacheIsRecomputed();
    void unwritableCacheOnlyWarns();

private:
    QTemporaryDir m_dir;
    fs::path m_model;  // 3-layer MHA model with a tokenizer
};

void AnalyseJobTest::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = fs::path(m_dir.path().toStdString()) / "model";
    TinyModelShape shape;
    shape.numLayers = 3;
    writeTinyModel(m_model, tinyCalibrationConfig(shape), 21);
    addCalibrationTokenizer(m_model);
}

void AnalyseJobTest::eventsArriveOncePerLayerInOrder_data() {
    QTest::addColumn<SimilarityMetric>("metric");
    QTest::newRow("cka") << SimilarityMetric::WeightCka;
    QTest::newRow("cosine") << SimilarityMetric::WeightCosine;
    QTest::newRow("act-cka") << SimilarityMetric::ActivationCka;
    QTest::newRow("act-cosine") << SimilarityMetric::ActivationCosine;
}

void AnalyseJobTest::eventsArriveOncePerLayerInOrder() {
    QFETCH(SimilarityMetric, metric);
    RecordingSink sink;
    const auto result = analyse(m_model, metric, sink);
    QVERIFY2(result.ok(), describe(result).c_str());
    const SimilarityReport& report = *result.value;
    QCOMPARE(report.metric, metric);
    QCOMPARE(report.modelFingerprint.size(), size_t{64});
    QCOMPARE(report.layers.size(), size_t{3});
    QCOMPARE(report.calibrationTokens, isActivationMetric(metric) ? int64_t{96} : int64_t{0});
    QCOMPARE(sink.similarities.size(), size_t{3});
    std::vector<ProgressEvent> layerProgress;
    for (const ProgressEvent& event : sink.progress) {
        if (event.phase == "analyse") layerProgress.push_back(event);
    }
    QCOMPARE(layerProgress.size(), size_t{3});
    for (int layer = 0; layer < 3; ++layer) {
        const SimilarityEvent& event = sink.similarities[size_t(layer)];
        QCOMPARE(event.metric, metric);
        QCOMPARE(event.numLayers, 3);
        QCOMPARE(event.layer.layer, layer);
        QCOMPARE(event.layer.key.values, report.layers[size_t(layer)].key.values);
        QCOMPARE(event.layer.value.values, report.layers[size_t(layer)].value.values);
        QCOMPARE(event.layer.key.rows, 4);
        QCOMPARE(event.layer.keySummary.headsFor90Percent,
                 summariseRedundancy(event.layer.key).headsFor90Percent);
        QCOMPARE(layerProgress[size_t(layer)].done, int64_t{layer + 1});
        QCOMPARE(layerProgress[size_t(layer)].total, int64_t{3});
        QCOMPARE(layerProgress[size_t(layer)].unit, std::string("layers"));
    }
}

void AnalyseJobTest::dhaSourceAnalysesItsOwnHeads() {
    // A DHA (and so a GQA) source: the matrices are hk x hk and hv x hv of each layer, for weights and
    // activations alike.
    const fs::path dir = fs::path(m_dir.path().toStdString()) / "dha-model";
    TinyModelShape shape;
    shape.vocabSize = 512;
    const ModelConfig config = tinyDhaConfig(shape);
    writeTinyModel(dir, config, 4);
    addCalibrationTokenizer(dir);
    for (const SimilarityMetric metric : {SimilarityMetric::WeightCka, SimilarityMetric::ActivationCosine}) {
        RecordingSink sink;
        const auto result = analyse(dir, metric, sink);
        QVERIFY2(result.ok(), describe(result).c_str());
        for (size_t layer = 0; layer < config.layers.size(); ++layer) {
            QCOMPARE(result.value->layers[layer].key.rows, config.layers[layer].numKeyHeads);
            QCOMPARE(result.value->layers[layer].value.cols, config.layers[layer].numValueHeads);
        }
    }
}

void AnalyseJobTest::cancelAfterFirstLayer() {
    for (const SimilarityMetric metric : {SimilarityMetric::WeightCka, SimilarityMetric::ActivationCka}) {
        AnalyseSpec spec;
        spec.modelDir = m_model;
        spec.metric = metric;
        spec.calibrationText = kCalibrationText;
        spec.calibrationContext = 32;
        spec.runDir = fs::path(m_dir.path().toStdString()) / "cancelled-run";
        CancelToken cancel;
        RecordingSink sink;
        sink.afterSimilarity = [&](const SimilarityEvent&) { cancel.requestCancel(); };
        const auto result = runAnalyseJob(spec, sink, cancel);
        QCOMPARE(result.status, JobStatus::Cancelled);
        QCOMPARE(result.error.code, ErrorCode::Cancelled);
        QCOMPARE(sink.similarities.size(), size_t{1});
        // Nothing half-done is cached.
        QVERIFY(
            !fs::exists(*spec.runDir / "analysis" / (std::string(similarityMetricName(metric)) + ".json")));
    }
}

void AnalyseJobTest::malformedInputsNameTheFile_data() {
    QTest::addColumn<Breakage>("breakage");
    QTest::addColumn<SimilarityMetric>("metric");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing k_proj") << Breakage::MissingKeyProjection << SimilarityMetric::WeightCka
                                    << "model.safetensors"
                                    << "missing tensor 'model.layers.1.self_attn.k_proj.weight'";
    QTest::newRow("missing k_proj, activations")
        << Breakage::MissingKeyProjection << SimilarityMetric::ActivationCka << "model.safetensors"
        << "missing tensor";
    QTest::newRow("v_proj of the wrong shape")
        << Breakage::WrongValueShape << SimilarityMetric::WeightCosine << "model.safetensors"
        << "has shape [16, 32], expected [32, 32]";
    QTest::newRow("integer k_proj") << Breakage::IntegerKeyProjection << SimilarityMetric::WeightCka
                                    << "model.safetensors"
                                    << "has dtype I32";
    QTest::newRow("truncated weights")
        << Breakage::TruncatedWeights << SimilarityMetric::WeightCka << "model.safetensors"
        << "";
    QTest::newRow("missing config.json")
        << Breakage::MissingConfig << SimilarityMetric::WeightCka << "config.json"
        << "does not exist";
    QTest::newRow("missing calibration text")
        << Breakage::MissingCalibrationText << SimilarityMetric::ActivationCka << "no-such-text.txt"
        << "does not exist";
    QTest::newRow("empty calibration text")
        << Breakage::EmptyText << SimilarityMetric::ActivationCosine << "empty.txt"
        << "has 0 token(s)";
}

void AnalyseJobTest::malformedInputsNameTheFile() {
    QFETCH(Breakage, breakage);
    QFETCH(SimilarityMetric, metric);
    QFETCH(QString, file);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const fs::path root(dir.path().toStdString());
    const fs::path model = root / "model";
    fs::create_directories(model);
    fs::copy(m_model, model, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    const fs::path weights = model / "model.safetensors";
    fs::path text = kCalibrationText;

    std::vector<RawTensor> tensors = readRawTensors(weights);
    switch (breakage) {
        case Breakage::MissingKeyProjection:
            tensors.erase(std::find_if(tensors.begin(), tensors.end(), [](const RawTensor& tensor) {
                return tensor.name == "model.layers.1.self_attn.k_proj.weight";
            }));
            writeRawTensors(weights, tensors);
            break;
        case Breakage::WrongValueShape: {
            RawTensor& tensor = rawTensorNamed(tensors, "model.layers.2.self_attn.v_proj.weight");
            tensor.shape = {16, 32};
            tensor.bytes.resize(16 * 32 * 4);
            writeRawTensors(weights, tensors);
            break;
        }
        case Breakage::IntegerKeyProjection:
            rawTensorNamed(tensors, "model.layers.0.self_attn.k_proj.weight").dtype = io::DType::I32;
            writeRawTensors(weights, tensors);
            break;
        case Breakage::TruncatedWeights:
            fs::resize_file(weights, fs::file_size(weights) / 2);
            break;
        case Breakage::MissingConfig:
            fs::remove(model / "config.json");
            break;
        case Breakage::MissingCalibrationText:
            text = root / "no-such-text.txt";
            break;
        case Breakage::EmptyText:
            text = root / "empty.txt";
            io::writeFileAtomically(text, "");
            break;
    }
    AnalyseSpec spec;
    spec.modelDir = model;
    spec.metric = metric;
    spec.calibrationText = text;
    spec.calibrationContext = 32;
    spec.runDir = root / "run";
    CancelToken cancel;
    RecordingSink sink;
    const auto result = runAnalyseJob(spec, sink, cancel);
    QCOMPARE(result.status, JobStatus::Failed);
    QVERIFY2(result.error.code == ErrorCode::InvalidInput, describe(result).c_str());
    QVERIFY2(fs::path(result.error.path).filename() == file.toStdString(), describe(result).c_str());
    QVERIFY2(result.error.message.find(message.toStdString()) != std::string::npos, describe(result).c_str());
    QVERIFY(sink.similarities.empty());  // every check comes before the first layer
}

void AnalyseJobTest::cacheIsReused_data() {
    QTest::addColumn<SimilarityMetric>("metric");
    QTest::newRow("cka") << SimilarityMetric::WeightCka;
    QTest::newRow("act-cosine") << SimilarityMetric::ActivationCosine;
}

void AnalyseJobTest::cacheIsReused() {
    QFETCH(SimilarityMetric, metric);
    QTemporaryDir dir;
    const fs::path run(dir.path().toStdString());
    RecordingSink first;
    const auto computed = analyse(m_model, metric, first, run);
    QVERIFY2(computed.ok(), describe(computed).c_str());
    QVERIFY(!first.logged(LogLevel::Info, "cached"));
    QVERIFY(fs::exists(run / "analysis" / (std::string(similarityMetricName(metric)) + ".json")));

    RecordingSink second;
    const auto cached = analyse(m_model, metric, second, run);
    QVERIFY2(cached.ok(), describe(cached).c_str());
    QVERIFY(second.logged(LogLevel::Info, "cached"));
    QCOMPARE(second.count(LogLevel::Warning), 0);
    QVERIFY(sameMatrices(*computed.value, *cached.value));
    QCOMPARE(cached.value->calibrationTokens, computed.value->calibrationTokens);
    QCOMPARE(cached.value->modelFingerprint, computed.value->modelFingerprint);
    QCOMPARE(cached.value->layers[1].valueSummary.meanOffDiagonal,
             computed.value->layers[1].valueSummary.meanOffDiagonal);
    // The GUI still gets every layer's event.
    QCOMPARE(second.similarities.size(), size_t{3});
    QCOMPARE(second.similarities[2].layer.key.values, computed.value->layers[2].key.values);
}

void AnalyseJobTest::changedSettingsAreRecomputed() {
    QTemporaryDir dir;
    const fs::path run(dir.path().toStdString());
    RecordingSink postRope;
    const auto after = analyse(m_model, SimilarityMetric::ActivationCka, postRope, run, false);
    QVERIFY2(after.ok(), describe(after).c_str());
    RecordingSink preRope;
    const auto before = analyse(m_model, SimilarityMetric::ActivationCka, preRope, run, true);
    QVERIFY2(before.ok(), describe(before).c_str());
    QVERIFY(!preRope.logged(LogLevel::Info, "cached"));
    QVERIFY(preRope.logged(LogLevel::Info, "other settings"));
    QVERIFY(before.value->preRopeKeys);
    QVERIFY(!sameMatrices(*after.value, *before.value));

    // Another model in the same run directory: the cache is stale, not damaged.
    const fs::path other = fs::path(dir.path().toStdString()) / "other-model";
    writeTinyModel(other, tinyCalibrationConfig(TinyModelShape{3, 32, 4, 8, 40, 64, 128}), 5);
    addCalibrationTokenizer(other);
    RecordingSink otherSink;
    const auto otherResult = analyse(other, SimilarityMetric::ActivationCka, otherSink, run, true);
    QVERIFY2(otherResult.ok(), describe(otherResult).c_str());
    QVERIFY(otherSink.logged(LogLevel::Info, "another model"));
    QCOMPARE(otherSink.count(LogLevel::Warning), 0);

    // The same model retrained in place (same config and shapes, so the same fingerprint, other weights).
    RecordingSink weightsSink;
    const auto otherWeights = analyse(other, SimilarityMetric::WeightCka, weightsSink, run);
    QVERIFY(otherWeights.ok());
    writeTinyModel(other, tinyCalibrationConfig(TinyModelShape{3, 32, 4, 8, 40, 64, 128}), 6);
    RecordingSink retrainedSink;
    const auto retrained = analyse(other, SimilarityMetric::WeightCka, retrainedSink, run);
    QVERIFY2(retrained.ok(), describe(retrained).c_str());
    QCOMPARE(retrained.value->modelFingerprint, otherWeights.value->modelFingerprint);
    QVERIFY(retrainedSink.logged(LogLevel::Info, "weight files have changed"));
    QVERIFY(!sameMatrices(*retrained.value, *otherWeights.value));
}

void AnalyseJobTest::damagedCacheIsRecomputed_data() {
    QTest::addColumn<CacheDamage>("damage");
    QTest::newRow("not JSON") << CacheDamage::NotJson;
    QTest::newRow("truncated") << CacheDamage::Truncated;
    QTest::newRow("value out of range") << CacheDamage::ValueOutOfRange;
    QTest::newRow("wrong row count") << CacheDamage::WrongRowCount;
    QTest::newRow("asymmetric") << CacheDamage::Asymmetric;
    QTest::newRow("diagonal not one") << CacheDamage::DiagonalNotOne;
    QTest::newRow("layer missing") << CacheDamage::LayerMissing;
    QTest::newRow("string value") << CacheDamage::StringValue;
    QTest::newRow("oversized") << CacheDamage::Oversized;
}

void AnalyseJobTest::damagedCacheIsRecomputed() {
    QFETCH(CacheDamage, damage);
    QTemporaryDir dir;
    const fs::path run(dir.path().toStdString());
    RecordingSink first;
    const auto fresh = analyse(m_model, SimilarityMetric::WeightCka, first, run);
    QVERIFY2(fresh.ok(), describe(fresh).c_str());
    const fs::path cacheFile = run / "analysis" / "cka.json";
    const std::string text = io::readSmallFile(cacheFile);
    nlohmann::json json = nlohmann::json::parse(text);
    std::string damaged;
    switch (damage) {
        case CacheDamage::NotJson:
            damaged = "this is not JSON";
            break;
        case CacheDamage::Truncated:
            damaged = text.substr(0, text.size() / 2);
            break;
        case CacheDamage::ValueOutOfRange:
            json["layers"][1]["key"][0][1] = 1.5;
            break;
        case CacheDamage::WrongRowCount:
            json["layers"][0]["value"].erase(0);
            break;
        case CacheDamage::Asymmetric:
            json["layers"][2]["key"][0][1] = 0.123;
            break;
        case CacheDamage::DiagonalNotOne:
            json["layers"][0]["key"][2][2] = 0.5;
            break;
        case CacheDamage::LayerMissing:
            json["layers"].erase(1);
            break;
        case CacheDamage::StringValue:
            json["layers"][0]["value"][1][0] = "0.5";
            break;
        case CacheDamage::Oversized:
            damaged = json.dump() + std::string(size_t{8} << 20, ' ');
            break;
    }
    if (damaged.empty()) damaged = json.dump();
    io::writeFileAtomically(cacheFile, damaged);

    RecordingSink second;
    const auto recomputed = analyse(m_model, SimilarityMetric::WeightCka, second, run);
    QVERIFY2(recomputed.ok(), describe(recomputed).c_str());
    QVERIFY(!second.logged(LogLevel::Info, "cached"));
    QVERIFY2(second.logged(LogLevel::Warning, cacheFile.string()),
             second.logs.empty() ? "no log" : second.logs.front().message.c_str());
    QVERIFY(sameMatrices(*fresh.value, *recomputed.value));
    QCOMPARE(second.similarities.size(), size_t{3});

    // The recomputed analysis replaced the damaged file.
    RecordingSink third;
    const auto cached = analyse(m_model, SimilarityMetric::WeightCka, third, run);
    QVERIFY(cached.ok());
    QVERIFY(third.logged(LogLevel::Info, "cached"));
}

void AnalyseJobTest::unwritableCacheOnlyWarns() {
    QTemporaryDir dir;
    const fs::path notADirectory = fs::path(dir.path().toStdString()) / "run-is-a-file";
    io::writeFileAtomically(notADirectory, "");
    RecordingSink sink;
    const auto result = analyse(m_model, SimilarityMetric::WeightCosine, sink, notADirectory);
    QVERIFY2(result.ok(), describe(result).c_str());
    QVERIFY(sink.logged(LogLevel::Warning, "could not write the analysis cache"));
    QCOMPARE(result.value->layers.size(), size_t{3});
}

DHA_TEST_SUITE(AnalyseJobTest)
#include "analyse_job_test.moc"
