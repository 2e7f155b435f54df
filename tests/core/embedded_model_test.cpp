// The embedded default model: resolution over candidate roots (installed share/ first, then the source tree),
// and, once the teacher is committed, its model card's held-out loss recomputed on the shipped test split.
#include <QCoreApplication>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "dha/embedded_model.h"
#include "dha/evaluation.h"
#include "io/atomic_file.h"
#include "test_registry.h"

namespace fs = std::filesystem;

namespace {

const fs::path kResources = fs::path(DHA_SOURCE_DIR) / "resources";

void touch(const fs::path& path) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "x";
}

}  // namespace

class EmbeddedModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void modelNeedsConfigJson() {
        QTemporaryDir dir;
        const fs::path installed = fs::path(dir.path().toStdString()) / "share" / "dha-studio";
        const fs::path source = fs::path(dir.path().toStdString()) / "resources";
        // Only the tokenizer in both roots (the state before the weights land): no model, but a tokenizer.
        touch(installed / "models" / "dha-teacher" / "tokenizer.model");
        touch(source / "models" / "dha-teacher" / "tokenizer.model");
        QVERIFY(!dha::findEmbeddedModelDir({installed, source}).has_value());
        QCOMPARE(dha::findEmbeddedTokenizerDir({installed, source}).value(),
                 installed / "models" / "dha-teacher");
        // config.json in the source tree only: found there, the installed root is skipped.
        touch(source / "models" / "dha-teacher" / "config.json");
        QCOMPARE(dha::findEmbeddedModelDir({installed, source}).value(), source / "models" / "dha-teacher");
        // In both: the installed one wins, as it comes first.
        touch(installed / "models" / "dha-teacher" / "config.json");
        QCOMPARE(dha::findEmbeddedModelDir({installed, source}).value(),
                 installed / "models" / "dha-teacher");
        QCOMPARE(dha::findEmbeddedModelDir({source, installed}).value(), source / "models" / "dha-teacher");
        QVERIFY(!dha::findEmbeddedModelDir({}).has_value());
    }

    void testTextMustBeAFile() {
        QTemporaryDir dir;
        const fs::path first = fs::path(dir.path().toStdString()) / "a";
        const fs::path second = fs::path(dir.path().toStdString()) / "b";
        fs::create_directories(first / "corpus" / "test.txt");  // a directory of that name does not count
        QVERIFY(!dha::findEmbeddedTestText({first, second}).has_value());
        touch(second / "corpus" / "test.txt");
        QCOMPARE(dha::findEmbeddedTestText({first, second}).value(), second / "corpus" / "test.txt");
    }

    void rootsAreInstallPrefixThenSourceTree() {
        const std::vector<fs::path> roots = dha::embeddedResourceRoots();
        QCOMPARE(roots.size(), size_t{2});
        const fs::path exe = fs::canonical(QCoreApplication::applicationFilePath().toStdString());
        QCOMPARE(roots[0], exe.parent_path().parent_path() / "share" / "dha-studio");
        QCOMPARE(roots[1], kResources);
        // In the build tree nothing is installed, so the source tree's files are found.
        QCOMPARE(dha::embeddedTestText().value(), kResources / "corpus" / "test.txt");
        QCOMPARE(dha::embeddedTokenizerDir().value(), kResources / "models" / "dha-teacher");
        QCOMPARE(dha::embeddedModelDir().has_value(),
                 fs::exists(kResources / "models" / "dha-teacher" / "config.json"));
    }

    // The model card's held-out loss (eval.json, written with the card by scripts/write-model-card.sh) is
    // what `dha eval` measures on the shipped test split today, and the card's table shows that same figure.
    void modelCardLossIsReproduced() {
        const fs::path model = kResources / "models" / "dha-teacher";
        if (!fs::exists(model / "config.json")) QSKIP("embedded teacher not committed yet");
        QVERIFY2(fs::exists(model / "eval.json"),
                 "the teacher has no eval.json: run scripts/write-model-card.sh");
        const nlohmann::json card = nlohmann::json::parse(dha::io::readSmallFile(model / "eval.json"));
        const nlohmann::json& eval = card.at("eval");
        const double cardLoss = eval.at("loss").get<double>();

        dha::EvalSpec spec;
        spec.modelDir = model;
        spec.textFile = kResources / "corpus" / "test.txt";
        spec.contextLength = eval.at("context_length").get<int>();
        spec.batchSize = 8;
        dha::JobSink sink;
        dha::CancelToken cancel;
        const auto result = dha::runEvalJob(spec, sink, cancel);
        QVERIFY2(result.ok(), result.error.describe().c_str());
        QCOMPARE(result.value->predictedTokens, eval.at("predicted_tokens").get<int64_t>());
        QVERIFY2(std::abs(result.value->meanLoss - cardLoss) < 1e-3,
                 qPrintable(QString("measured %1, model card %2")
                                .arg(result.value->meanLoss, 0, 'f', 6)
                                .arg(cardLoss, 0, 'f', 6)));

        char figure[32];
        std::snprintf(figure, sizeof figure, "%.4f", cardLoss);
        const std::string readme = dha::io::readSmallFile(model / "README.md");
        QVERIFY2(readme.find(figure) != std::string::npos, figure);
    }
};

DHA_TEST_SUITE(EmbeddedModelTest)
#include "embedded_model_test.moc"
