// `dha pretrain` engine: the loss falls on a tiny model, resume is exact (also past a half-written checkpoint
// and a torn metrics line), changed inputs are refused, the export loads and evaluates as validation said;
// and the units under it: schedule, data order, token cache, SHA-256, AdamW.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/evaluation.h"
#include "dha/model_init.h"
#include "dha/pretraining.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "model/model_loader.h"
#include "test_registry.h"
#include "training/adamw.h"
#include "training/token_data.h"

using namespace dha;
namespace fs = std::filesystem;

namespace {

const fs::path kText = DHA_TEST_DATA_DIR "/text/sample.txt";
const fs::path kTokenizer = DHA_TEST_DATA_DIR "/tokenizers/unigram_identity.model";
const fs::path kOtherTokenizer = DHA_TEST_DATA_DIR "/tokenizers/bpe_bytefallback.model";

// 2 layers, hidden 32, 4 heads, context 32, batch 8: 40 steps of 256 tokens.
PretrainSpec tinySpec(const fs::path& runDir, int64_t steps = 40) {
    PretrainSpec spec;
    spec.runDir = runDir;
    spec.trainText = kText;
    spec.validationText = kText;
    spec.tokenizerFile = kTokenizer;
    spec.numLayers = 2;
    spec.hiddenSize = 32;
    spec.numQueryHeads = 4;
    spec.contextLength = 32;
    spec.batchSize = 8;
    spec.trainingTokens = steps * 8 * 32;
    spec.peakLearningRate = 3e-3;
    spec.minLearningRate = 3e-4;
    spec.warmupSteps = 5;
    spec.checkpointEverySteps = 0;
    spec.checkpointEverySeconds = 0;
    spec.validateEverySteps = 10;
    spec.validationTokens = 0;
    spec.dtype = "fp32";
    return spec;
}

// Cancels the job once it reports finishing step `stopAt`.
class StopAtStep : public JobSink {
public:
    StopAtStep(CancelToken& cancel, int64_t stopAt) : m_cancel(cancel), m_stopAt(stopAt) {}
    void onLoss(const LossEvent& event) override {
        ++losses;
        if (event.step == m_stopAt) m_cancel.requestCancel();
    }
    void onCheckpoint(const CheckpointEvent& event) override { checkpoints.push_back(event.reason); }
    int losses = 0;
    std::vector<std::string> checkpoints;

private:
    CancelToken& m_cancel;
    int64_t m_stopAt;
};

JobResult<PretrainReport> train(const PretrainSpec& spec, int64_t stopAt = -1) {
    CancelToken cancel;
    StopAtStep sink(cancel, stopAt);
    return runPretrainJob(spec, sink, cancel);
}

std::vector<nlohmann::json> events(const fs::path& runDir, const std::string& type) {
    std::ifstream in(runDir / "metrics.jsonl");
    std::vector<nlohmann::json> found;
    for (std::string line; std::getline(in, line);) {
        const nlohmann::json event = nlohmann::json::parse(line);
        if (event["type"] == type) found.push_back(event);
    }
    return found;
}

std::vector<float> floatsOf(const io::SafetensorsFile& file, const io::TensorInfo& tensor) {
    std::vector<float> values(static_cast<size_t>(tensor.numel()));
    std::memcpy(values.data(), file.data(tensor), tensor.byteSize());
    return values;
}

// Largest absolute difference between same-named F32 tensors of two safetensors files (inf when they differ
// in names or shapes).
double maxDifference(const fs::path& a, const fs::path& b) {
    const auto fileA = io::SafetensorsFile::open(a);
    const auto fileB = io::SafetensorsFile::open(b);
    if (fileA->tensors().size() != fileB->tensors().size()) return INFINITY;
    double worst = 0;
    for (const io::TensorInfo& tensor : fileA->tensors()) {
        const io::TensorInfo* other = fileB->find(tensor.name);
        if (!other || other->shape != tensor.shape) return INFINITY;
        const std::vector<float> x = floatsOf(*fileA, tensor);
        const std::vector<float> y = floatsOf(*fileB, *other);
        for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - double(y[i])));
    }
    return worst;
}

// Same steps, same losses (to 1e-6), same learning rates, same validation figures.
void compareCurves(const fs::path& reference, const fs::path& resumed) {
    const auto expected = events(reference, "loss");
    const auto actual = events(resumed, "loss");
    QCOMPARE(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(actual[i]["step"].get<int64_t>(), expected[i]["step"].get<int64_t>());
        QCOMPARE(actual[i]["tokens"].get<int64_t>(), expected[i]["tokens"].get<int64_t>());
        const double a = actual[i]["lm_loss"].get<double>();
        const double e = expected[i]["lm_loss"].get<double>();
        QVERIFY2(
            std::abs(a - e) <= 1e-6,
            qPrintable(QString("step %1: loss %2 vs %3").arg(i + 1).arg(a, 0, 'g', 10).arg(e, 0, 'g', 10)));
        QCOMPARE(actual[i]["lr"].get<double>(), expected[i]["lr"].get<double>());
    }
    const auto expectedValidation = events(reference, "validation");
    const auto actualValidation = events(resumed, "validation");
    QCOMPARE(actualValidation.size(), expectedValidation.size());
    for (size_t i = 0; i < expectedValidation.size(); ++i) {
        QCOMPARE(actualValidation[i]["step"].get<int64_t>(), expectedValidation[i]["step"].get<int64_t>());
        QVERIFY(std::abs(actualValidation[i]["loss"].get<double>() -
                         expectedValidation[i]["loss"].get<double>()) <= 1e-6);
    }
    QVERIFY(maxDifference(reference / "export/model.safetensors", resumed / "export/model.safetensors") <=
            1e-6);
}

void copyFile(const fs::path& from, const fs::path& to) {
    io::writeFileAtomically(to, io::readSmallFile(from));
}

}  // namespace

class PretrainingTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    fs::path path(const char* name) const { return fs::path(m_dir.path().toStdString()) / name; }

    // The uninterrupted fp32 run that resumed runs are compared with (made once, by whichever test needs it
    // first).
    fs::path referenceRun() {
        const fs::path run = path("reference-fp32");
        if (!fs::exists(run / "export")) {
            const auto result = train(tinySpec(run));
            if (!result.ok()) qFatal("reference run failed: %s", result.error.describe().c_str());
        }
        return run;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void sha256MatchesKnownDigests() {
        QCOMPARE(io::sha256Hex(""),
                 std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(io::sha256Hex("abc"),
                 std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(io::sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                 std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        QCOMPARE(io::sha256Hex(std::string(1000000, 'a')),
                 std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
        // Streaming in uneven pieces gives the same digest as one call.
        const std::string text(1000, 'x');
        io::Sha256 pieces;
        for (size_t at = 0, size = 1; at < text.size(); at += size, size = size * 2 + 1) {
            pieces.update(text.data() + at, std::min(size, text.size() - at));
        }
        QCOMPARE(io::toHex(pieces.finish()), io::sha256Hex(text));
        QCOMPARE(io::sha256OfFile(kText), io::sha256Hex(io::readSmallFile(kText)));
    }

    void scheduleWarmsUpThenDecays() {
        const training::LearningRateSchedule schedule{1e-3, 1e-4, 10, 110};
        QCOMPARE(schedule.at(1), 1e-4);
        QCOMPARE(schedule.at(10), 1e-3);
        QVERIFY(std::abs(schedule.at(60) - 5.5e-4) < 1e-12);  // half way down the cosine
        QVERIFY(std::abs(schedule.at(110) - 1e-4) < 1e-15);
        for (int64_t step = 11; step <= 110; ++step) QVERIFY(schedule.at(step) < schedule.at(step - 1));
    }

    void windowsArePureFunctionOfSeedAndStep() {
        std::vector<int32_t> tokens(1000);
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i);
        const training::WindowSampler sampler(tokens, 33, 8, 1);
        const training::WindowSampler again(tokens, 33, 8, 1);
        const training::WindowSampler otherSeed(tokens, 33, 8, 2);
        QCOMPARE(sampler.windowStarts(7), again.windowStarts(7));
        QVERIFY(sampler.windowStarts(7) != sampler.windowStarts(8));
        QVERIFY(sampler.windowStarts(7) != otherSeed.windowStarts(7));
        for (int64_t step = 1; step < 200; ++step) {
            for (const int64_t start : sampler.windowStarts(step)) QVERIFY(start >= 0 && start <= 1000 - 33);
        }
        const at::Tensor batch = sampler.batch(7);  // rows are consecutive tokens from each start
        QCOMPARE(batch.sizes(), (at::IntArrayRef{8, 33}));
        QCOMPARE(batch[3][0].item<int64_t>(), sampler.windowStarts(7)[3]);
        QCOMPARE(batch[3][32].item<int64_t>(), sampler.windowStarts(7)[3] + 32);
    }

    void tokenCacheIsKeyedAndChecked() {
        const fs::path file = path("tokens.bin");
        const std::string a(64, 'a');
        const std::string b(64, 'b');
        const std::vector<int32_t> tokens = {5, 0, 499, 17};
        training::writeTokenCache(file, {a, b}, 100, tokens);
        QCOMPARE(training::readTokenCache(file, {a, b}, 500), tokens);
        QVERIFY(training::readTokenCache(file, {b, b}, 500).empty());  // other text
        QVERIFY(training::readTokenCache(file, {a, a}, 500).empty());  // other tokenizer
        QVERIFY(training::readTokenCache(file, {a, b}, 499).empty());  // an id outside the vocabulary
        std::string bytes = io::readSmallFile(file);
        io::writeFileAtomically(file, bytes.substr(0, bytes.size() - 1));  // truncated
        QVERIFY(training::readTokenCache(file, {a, b}, 500).empty());
        QVERIFY(training::readTokenCache(path("missing.bin"), {a, b}, 500).empty());
    }

    void adamwFollowsTheReferenceUpdate() {
        // Two parameters: a matrix (decayed) and a vector (not decayed); three steps against the formula.
        at::Tensor matrix = at::tensor({0.5f, -1.0f, 2.0f, 0.25f}).reshape({2, 2});
        at::Tensor vector = at::tensor({1.0f, -0.5f});
        const training::AdamWOptions options{0.9, 0.95, 1e-8, 0.1};
        training::AdamW optimizer({{"w", matrix}, {"n", vector}}, options);
        const std::vector<std::vector<double>> gradients = {
            {0.1, -0.2, 0.3, 0.0}, {-0.1, 0.4, 0.2, 0.5}, {0.3, 0.3, -0.3, 0.1}};
        std::vector<double> w = {0.5, -1.0, 2.0, 0.25}, m(4, 0.0), v(4, 0.0);
        const double lr = 0.01;
        for (int step = 1; step <= 3; ++step) {
            const auto& g = gradients[static_cast<size_t>(step - 1)];
            matrix.mutable_grad() = at::tensor(std::vector<float>(g.begin(), g.end())).reshape({2, 2});
            vector.mutable_grad() = at::tensor({0.5f, 0.5f});
            optimizer.step(lr);
            for (size_t i = 0; i < 4; ++i) {
                w[i] *= 1.0 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
                const double mHat = m[i] / (1.0 - std::pow(0.9, step));
                const double denominator = std::sqrt(v[i]) / std::sqrt(1.0 - std::pow(0.95, step)) + 1e-8;
                w[i] -= lr * mHat / denominator;
            }
        }
        const at::Tensor flat = matrix.reshape({-1});
        for (int64_t i = 0; i < 4; ++i)
            QVERIFY(std::abs(flat[i].item<double>() - w[static_cast<size_t>(i)]) < 1e-6);
        // The vector is not decayed: a constant gradient moves it by lr per step (Adam's normalised step).
        QVERIFY(std::abs(vector[0].item<double>() - (1.0 - 3 * lr)) < 1e-5);
        QCOMPARE(optimizer.stepCount(), int64_t{3});

        // The state round-trips through optimizer.safetensors; a state for other parameters is refused.
        optimizer.save(path("optimizer.safetensors"));
        training::AdamW restored({{"w", matrix.clone()}, {"n", vector.clone()}}, options);
        restored.load(path("optimizer.safetensors"));
        QCOMPARE(restored.stepCount(), int64_t{3});
        training::AdamW other({{"w", matrix.clone()}}, options);
        try {
            other.load(path("optimizer.safetensors"));
            QFAIL("loaded a state of other parameters");
        } catch (const Exception& error) {
            QCOMPARE(error.error().path, path("optimizer.safetensors").string());
        }
    }

    void trainingLowersTheLoss() {
        const PretrainSpec spec = tinySpec(path("learn"), 60);
        const auto result = train(spec);
        QVERIFY2(result.ok(), result.error.describe().c_str());
        const PretrainReport& report = *result.value;
        QCOMPARE(report.steps, int64_t{60});
        QCOMPARE(report.tokensSeen, int64_t{60 * 8 * 32});
        const auto losses = events(spec.runDir, "loss");
        QCOMPARE(losses.size(), size_t{60});
        const double first = losses.front()["lm_loss"].get<double>();
        QVERIFY2(std::abs(first - std::log(500.0)) < 0.1,
                 qPrintable(QString::number(first)));  // near uniform
        double lastFive = 0;
        for (size_t i = 55; i < 60; ++i) lastFive += losses[i]["lm_loss"].get<double>() / 5;
        QVERIFY2(lastFive < first - 1.0, qPrintable(QString("loss %1 -> %2").arg(first).arg(lastFive)));
        QVERIFY(report.hasValidation);
        QVERIFY(report.validationLoss < first - 1.0);
        QCOMPARE(events(spec.runDir, "validation").size(), size_t{6});  // steps 10..50, and the end
        QVERIFY(fs::exists(spec.runDir / "checkpoints/step-000060/optimizer.safetensors"));
        QCOMPARE(io::readSmallFile(spec.runDir / "checkpoints/latest"), std::string("step-000060\n"));
    }

    void exportLoadsAndEvaluatesLikeValidation() {
        const fs::path exportDir = path("learn") / "export";
        const model::LoadedModel loaded = model::loadModel(exportDir);
        QCOMPARE(loaded.config.numLayers, 2);
        QCOMPARE(loaded.config.hiddenSize, 32);
        QCOMPARE(loaded.config.numQueryHeads, 4);
        QVERIFY(loaded.config.isMha());
        QVERIFY(fs::exists(exportDir / "tokenizer.model"));
        EvalSpec eval;
        eval.modelDir = exportDir;
        eval.textFile = kText;
        eval.contextLength = 32;
        eval.batchSize = 8;
        JobSink quiet;
        CancelToken cancel;
        const auto result = runEvalJob(eval, quiet, cancel);
        QVERIFY2(result.ok(), result.error.describe().c_str());
        const auto validation = events(path("learn"), "validation");
        QVERIFY(std::abs(result.value->meanLoss - validation.back()["loss"].get<double>()) < 1e-9);
        QVERIFY(std::abs(result.value->accuracy - validation.back()["accuracy"].get<double>()) < 1e-12);
    }

    void resumeIsExact_data() {
        QTest::addColumn<QString>("dtype");
        QTest::newRow("fp32") << "fp32";
        QTest::newRow("bf16 autocast") << "bf16";
    }
    void resumeIsExact() {
        QFETCH(QString, dtype);
        const std::string name = dtype.toStdString();
        PretrainSpec reference = tinySpec(path(("reference-" + name).c_str()));
        reference.dtype = name;
        if (name == "fp32") {
            reference.runDir = referenceRun();
        } else {
            QVERIFY(train(reference).ok());
        }

        PretrainSpec interrupted = reference;
        interrupted.runDir = path(("interrupted-" + name).c_str());
        CancelToken cancel;
        StopAtStep stopper(cancel, 17);
        const auto stopped = runPretrainJob(interrupted, stopper, cancel);
        QCOMPARE(stopped.status, JobStatus::Cancelled);
        QVERIFY2(stopped.error.message.find("step 17") != std::string::npos, stopped.error.message.c_str());
        QCOMPARE(stopper.checkpoints, std::vector<std::string>{"cancel"});
        QCOMPARE(io::readSmallFile(interrupted.runDir / "checkpoints/latest"), std::string("step-000017\n"));
        QVERIFY(!fs::exists(interrupted.runDir / "export"));

        interrupted.resume = true;
        const auto resumed = train(interrupted);
        QVERIFY2(resumed.ok(), (resumed.error.describe() + " " + resumed.error.hint).c_str());
        QCOMPARE(resumed.value->resumedFromStep, int64_t{17});
        QCOMPARE(resumed.value->steps, int64_t{40});
        compareCurves(reference.runDir, interrupted.runDir);
    }

    void resumeSkipsHalfWrittenCheckpointAndTornLine() {
        PretrainSpec spec = tinySpec(path("crashed"));
        spec.checkpointEverySteps = 10;
        QCOMPARE(train(spec, 25).status, JobStatus::Cancelled);
        const fs::path checkpoints = spec.runDir / "checkpoints";
        QVERIFY(fs::exists(checkpoints / "step-000020") && fs::exists(checkpoints / "step-000025"));
        QVERIFY(!fs::exists(checkpoints / "step-000010"));  // keep = 2

        // A crash while step 30 was written: its temporary directory is half full, a directory of that name
        // exists without `latest` naming it, and metrics.jsonl ends in a torn line.
        fs::create_directory(checkpoints / ".step-000030.tmp-1-2");
        io::writeFileAtomically(checkpoints / ".step-000030.tmp-1-2/model.safetensors", "garbage");
        fs::create_directory(checkpoints / "step-000030");
        io::writeFileAtomically(checkpoints / "step-000030/state.json", "{");
        {
            std::ofstream metrics(spec.runDir / "metrics.jsonl", std::ios::app);
            metrics << "{\"type\":\"loss\",\"step\":26,\"lm_l";
        }
        spec.resume = true;
        const auto resumed = train(spec);
        QVERIFY2(resumed.ok(), (resumed.error.describe() + " " + resumed.error.hint).c_str());
        QCOMPARE(resumed.value->resumedFromStep, int64_t{25});
        QVERIFY(!fs::exists(checkpoints / ".step-000030.tmp-1-2"));
        compareCurves(referenceRun(), spec.runDir);
        const auto resumes = events(spec.runDir, "resume");
        QCOMPARE(resumes.size(), size_t{1});
        QCOMPARE(resumes[0]["step"].get<int64_t>(), int64_t{25});

        // `latest` naming a missing checkpoint is an error that names it.
        io::writeFileAtomically(checkpoints / "latest", "step-000099\n");
        const auto broken = train(spec);
        QCOMPARE(broken.status, JobStatus::Failed);
        QCOMPARE(broken.error.path, (checkpoints / "latest").string());
    }

    void resumeRefusesChanges_data() {
        QTest::addColumn<QString>("change");
        QTest::addColumn<QString>("file");     // the file the error must name
        QTest::addColumn<QString>("message");  // part of the message
        QTest::newRow("text") << "text"
                              << "text"
                              << "training text differs";
        QTest::newRow("tokenizer") << "tokenizer"
                                   << "tokenizer"
                                   << "tokenizer differs";
        QTest::newRow("learning rate") << "lr"
                                       << "run.json"
                                       << "--lr 0.001 differs from 0.003";
        QTest::newRow("seed") << "seed"
                              << "run.json"
                              << "--seed 2 differs from 1";
        QTest::newRow("layers") << "layers"
                                << "run.json"
                                << "--layers 3 differs from 2";
        QTest::newRow("dtype") << "dtype"
                               << "run.json"
                               << "--dtype \"bf16\" differs from \"fp32\"";
        QTest::newRow("budget below progress") << "tokens"
                                               << "--tokens"
                                               << "fewer than the 3 already done";
    }
    void resumeRefusesChanges() {
        QFETCH(QString, change);
        QFETCH(QString, file);
        QFETCH(QString, message);
        const fs::path root = path(("refuse-" + change.toStdString()).c_str());
        fs::create_directories(root);
        PretrainSpec spec = tinySpec(root / "run");
        spec.trainText = root / "train.txt";
        spec.tokenizerFile = root / "tokenizer.model";
        copyFile(kText, spec.trainText);
        copyFile(kTokenizer, spec.tokenizerFile);
        QCOMPARE(train(spec, 3).status, JobStatus::Cancelled);

        spec.resume = true;
        if (change == "text")
            io::writeFileAtomically(spec.trainText, io::readSmallFile(kText) + "\nMore text.\n");
        if (change == "tokenizer") copyFile(kOtherTokenizer, spec.tokenizerFile);
        if (change == "lr") spec.peakLearningRate = 1e-3;
        if (change == "seed") spec.seed = 2;
        if (change == "layers") spec.numLayers = 3;
        if (change == "dtype") spec.dtype = "bf16";
        if (change == "tokens") spec.trainingTokens = 2 * 8 * 32;
        const auto refused = train(spec);
        QCOMPARE(refused.status, JobStatus::Failed);
        const std::string expectedPath = file == "text"        ? spec.trainText.string()
                                         : file == "tokenizer" ? spec.tokenizerFile.string()
                                         : file == "run.json"  ? (spec.runDir / "run.json").string()
                                                               : file.toStdString();
        QVERIFY2(refused.error.path == expectedPath, refused.error.describe().c_str());
        QVERIFY2(refused.error.message.find(message.toStdString()) != std::string::npos,
                 refused.error.message.c_str());
        QCOMPARE(events(spec.runDir, "loss").size(), size_t{3});  // nothing was trained or logged
    }

    void initModelStartsWhereSeededInitialisationDoes() {
        // `dha init --seed 1` and pretraining's own initialisation are the same code: pretraining from the
        // initialised directory gives the curve of pretraining from scratch with seed 1.
        InitModelSpec init;
        init.outputDir = path("init-model");
        init.tokenizerFile = kTokenizer;
        init.numLayers = 2;
        init.hiddenSize = 32;
        init.numQueryHeads = 4;
        init.maxPositionEmbeddings = 32;
        init.seed = 1;
        JobSink quiet;
        QVERIFY(runInitModelJob(init, quiet).ok());
        PretrainSpec spec = tinySpec(path("from-init"));
        spec.tokenizerFile.clear();  // the model directory's own tokenizer
        spec.initModelDir = init.outputDir;
        spec.numLayers = 5;  // ignored: the model's config rules
        const auto result = train(spec);
        QVERIFY2(result.ok(), result.error.describe().c_str());
        QCOMPARE(model::loadModel(spec.runDir / "export").config.numLayers, 2);
        compareCurves(referenceRun(), spec.runDir);
    }

    void newRunRefusesUsedDirectoryAndMissingText() {
        const auto again = train(tinySpec(path("learn")));
        QCOMPARE(again.status, JobStatus::Failed);
        QCOMPARE(again.error.path, path("learn").string());
        PretrainSpec missing = tinySpec(path("missing-text"));
        missing.trainText = path("no-such-file.txt");
        const auto failed = train(missing);
        QCOMPARE(failed.status, JobStatus::Failed);
        QCOMPARE(failed.error.path, path("no-such-file.txt").string());
        QVERIFY(!fs::exists(path("missing-text")));  // a refused run leaves no directory behind
    }
};

DHA_TEST_SUITE(PretrainingTest)
#include "pretraining_test.moc"
