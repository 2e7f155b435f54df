// The `dha` command as users run it: golden --help texts, exit codes, and inspect/eval/generate/init end to
// end on a freshly created model.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <csignal>

#include "cli_test_support.h"
#include "test_registry.h"

namespace {

// Line-by-line comparison with a readable report; DHA_UPDATE_GOLDEN=1 rewrites the golden file instead.
bool matchesGolden(const QString& actual, const QString& goldenName, QString* report) {
    const QString path = QStringLiteral(DHA_SOURCE_DIR "/tests/cli/golden/") + goldenName;
    if (qEnvironmentVariableIsSet("DHA_UPDATE_GOLDEN")) {
        QFile file(path);
        file.open(QIODevice::WriteOnly | QIODevice::Truncate);
        file.write(actual.toUtf8());
        return true;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *report = "missing golden file " + path + " (run with DHA_UPDATE_GOLDEN=1 to create it)";
        return false;
    }
    const QStringList expectedLines = QString::fromUtf8(file.readAll()).split('\n');
    const QStringList actualLines = actual.split('\n');
    for (int i = 0; i < std::max(expectedLines.size(), actualLines.size()); ++i) {
        const QString expected = i < expectedLines.size() ? expectedLines[i] : "<end of file>";
        const QString got = i < actualLines.size() ? actualLines[i] : "<end of output>";
        if (expected != got) {
            *report = QString("%1 differs at line %2:\n- %3\n+ %4\n(DHA_UPDATE_GOLDEN=1 rewrites it after a deliberate change)")
                          .arg(path).arg(i + 1).arg(expected, got);
            return false;
        }
    }
    return true;
}

}  // namespace

class CliTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_model;  // created once by initCreatesModel, used by later tests

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY2(QFile::exists(kDha), qPrintable("dha not built at " + kDha));
        QVERIFY2(QFile::exists(kTokenizer), qPrintable("missing tokenizer fixture " + kTokenizer));
        m_model = m_dir.filePath("model");
    }

    void helpMatchesGolden_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("golden");
        QTest::newRow("dha") << QStringList{"--help"} << "dha.txt";
        QTest::newRow("inspect") << QStringList{"inspect", "--help"} << "inspect.txt";
        QTest::newRow("eval") << QStringList{"eval", "--help"} << "eval.txt";
        QTest::newRow("generate") << QStringList{"generate", "--help"} << "generate.txt";
        QTest::newRow("init") << QStringList{"init", "-h"} << "init.txt";
        QTest::newRow("pretrain") << QStringList{"pretrain", "--help"} << "pretrain.txt";
        QTest::newRow("ngram-baseline") << QStringList{"ngram-baseline", "--help"} << "ngram-baseline.txt";
        QTest::newRow("analyse") << QStringList{"analyse", "--help"} << "analyse.txt";
        QTest::newRow("plan") << QStringList{"plan", "--help"} << "plan.txt";
        QTest::newRow("convert") << QStringList{"convert", "--help"} << "convert.txt";
        QTest::newRow("baseline") << QStringList{"baseline", "--help"} << "baseline.txt";
        QTest::newRow("export") << QStringList{"export", "--help"} << "export.txt";
    }
    void helpMatchesGolden() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, golden);
        const Run run = runDha(arguments);
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.err.isEmpty());
        QString report;
        QVERIFY2(matchesGolden(run.out, golden, &report), qPrintable(report));
    }

    void usageErrorsExitWithTwo_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("message");
        QTest::newRow("no command") << QStringList{} << "Usage: dha COMMAND";
        QTest::newRow("unknown command") << QStringList{"convrt"} << "unknown command 'convrt'";
        QTest::newRow("unknown option") << QStringList{"inspect", "--jsn", "x"} << "unknown option '--jsn'";
        QTest::newRow("extra argument") << QStringList{"inspect", "a", "b"} << "unexpected argument 'b'";
        QTest::newRow("ngram without train") << QStringList{"ngram-baseline", "--text", "t"} << "missing --train FILE";
        QTest::newRow("bad integer") << QStringList{"eval", "dir", "--text", "t", "--batch", "two"}
                                     << "--batch: expected an integer in 1..4096, got 'two'";
        QTest::newRow("bad choice") << QStringList{"eval", "dir", "--text", "t", "--dtype", "fp8"}
                                    << "--dtype: expected one of fp32, bf16, got 'fp8'";
        QTest::newRow("value missing") << QStringList{"generate", "dir", "--prompt"} << "needs a value";
        QTest::newRow("negative temperature") << QStringList{"generate", "dir", "--temperature", "-1"}
                                              << "--temperature: expected a number";
        QTest::newRow("pretrain without budget") << QStringList{"pretrain", "run", "--text", "t", "--tokenizer", "x"}
                                                 << "missing --tokens N";
        QTest::newRow("pretrain bad count") << QStringList{"pretrain", "run", "--text", "t", "--tokenizer", "x", "--tokens", "2X"}
                                            << "--tokens: expected a count such as 65536, 500k, 2M or 1.5G";
        QTest::newRow("pretrain run and resume") << QStringList{"pretrain", "a", "--resume", "b"}
                                                 << "give either RUN (a new run) or --resume RUN, not both";
    }
    void usageErrorsExitWithTwo() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, message);
        const Run run = runDha(arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message), qPrintable(run.err));
    }

    void initCreatesModel() {
        const Run run = runDha({"init", m_model, "--tokenizer", kTokenizer, "--layers", "2", "--hidden", "64",
                                "--heads", "4", "--intermediate", "96", "--context", "64", "--json"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        const qint64 vocab = json["vocab_size"].toInteger();
        QVERIFY(vocab > 0);
        // Tied embeddings: V*d + L*(q,k,v,o: 4*d*d + gate,up,down: 3*d*I + two norms: 2*d) + final norm d.
        const qint64 expected = vocab * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 96 + 2 * 64) + 64;
        QCOMPARE(json["parameters"].toInteger(), expected);
        for (const char* file : {"config.json", "model.safetensors"}) QVERIFY(QFile::exists(m_model + "/" + file));
        // An existing non-empty directory is never overwritten.
        const Run again = runDha({"init", m_model, "--tokenizer", kTokenizer});
        QCOMPARE(again.exitCode, 1);
        QVERIFY2(again.err.contains(m_model), qPrintable(again.err));
    }

    void inspectReportsHeadsAndKvCost() {
        const Run run = runDha({"inspect", m_model, "--json"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        QCOMPARE(json["architecture"].toString(), QString("MHA"));
        QCOMPARE(json["num_layers"].toInt(), 2);
        QCOMPARE(json["num_query_heads"].toInt(), 4);
        QCOMPARE(json["head_dim"].toInt(), 16);
        // 16-bit cache: 2 layers x (4 key + 4 value heads) x 16 wide x 2 bytes.
        QCOMPARE(json["kv_bytes_per_token"].toInteger(), qint64(2 * 8 * 16 * 2));
        QCOMPARE(json["kv_saved_fraction"].toDouble(), 0.0);
        const Run text = runDha({"inspect", m_model});
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("Type         llama, MHA"), qPrintable(text.out));
    }

    void evalMeasuresRandomModelNearUniformLoss() {
        const Run run = runDha({"eval", m_model, "--text", kText, "--context", "32", "--json", "--quiet"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        const QJsonObject inspect = parseJson(runDha({"inspect", m_model, "--json"}).out);
        const double uniformLoss = std::log(inspect["vocab_size"].toDouble());
        // A freshly initialised model (std 0.02) predicts nearly uniformly.
        QVERIFY2(std::abs(json["loss"].toDouble() - uniformLoss) < 0.05,
                 qPrintable(QString("loss %1 vs ln(V) %2").arg(json["loss"].toDouble()).arg(uniformLoss)));
        QVERIFY(std::abs(json["perplexity"].toDouble() - std::exp(json["loss"].toDouble())) < 1e-6 * json["perplexity"].toDouble());
        QVERIFY(json["predicted_tokens"].toInteger() > 100);
        QVERIFY(json["tokens_per_second"].toDouble() > 0);

        const Run limited = runDha({"eval", m_model, "--text", kText, "--context", "32", "--max-tokens", "50", "--json"});
        QVERIFY2(limited.exitCode == 0, qPrintable(limited.err));
        QCOMPARE(parseJson(limited.out)["predicted_tokens"].toInteger(), qint64(50));
    }

    void evalDefaultsToTheTestSplit() {
        const Run run = runDha({"eval", m_model, "--context", "32", "--max-tokens", "64", "--json", "--quiet"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        QCOMPARE(QDir::cleanPath(json["text"].toString()), QStringLiteral(DHA_SOURCE_DIR "/resources/corpus/test.txt"));
        QCOMPARE(json["predicted_tokens"].toInteger(), qint64(64));
    }

    void ngramBaselineScoresBothModels() {
        const Run run = runDha({"ngram-baseline", "--train", kText, "--text", kText, "--tokenizer", kTokenizer, "--json"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        const double unigram = json["unigram"].toObject()["loss"].toDouble();
        const double bigram = json["bigram"].toObject()["loss"].toDouble();
        QVERIFY(json["predicted_tokens"].toInteger() == json["train_tokens"].toInteger() - 1);
        // On its own training text, the bigram beats the unigram, which beats a uniform guess.
        QVERIFY2(bigram > 0 && bigram < unigram && unigram < std::log(json["vocab_size"].toDouble()), qPrintable(run.out));
        QVERIFY(std::abs(json["bigram"].toObject()["perplexity"].toDouble() - std::exp(bigram)) < 1e-9 * std::exp(bigram));
        const Run text = runDha({"ngram-baseline", "--train", kText, "--text", kText, "--tokenizer", kTokenizer, "--quiet"});
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("bigram") && text.out.contains("unigram"), qPrintable(text.out));

        // Defaults: the embedded tokenizer and test split.
        const Run defaults = runDha({"ngram-baseline", "--train", kText, "--json", "--quiet"});
        QVERIFY2(defaults.exitCode == 0, qPrintable(defaults.err));
        const QJsonObject embedded = parseJson(defaults.out);
        QCOMPARE(QDir::cleanPath(embedded["text"].toString()), QStringLiteral(DHA_SOURCE_DIR "/resources/corpus/test.txt"));
        QVERIFY2(embedded["tokenizer"].toString().contains("tokenizer.model"), qPrintable(defaults.out));

        const Run missing = runDha({"ngram-baseline", "--train", m_dir.filePath("absent.txt"), "--text", kText,
                                    "--tokenizer", kTokenizer});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains("absent.txt"), qPrintable(missing.err));
    }

    void generateIsDeterministicWhenGreedy() {
        const QStringList arguments{"generate", m_model, "--prompt", "The license", "--max-tokens", "8", "--no-stop", "--json"};
        const Run first = runDha(arguments);
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        const Run second = runDha(arguments);
        const QJsonObject json = parseJson(first.out);
        QCOMPARE(json["generated_tokens"].toInt(), 8);
        QCOMPARE(json["text"].toString(), parseJson(second.out)["text"].toString());
        QVERIFY(json["kv_cache_bytes"].toInteger() > 0);
    }

    void malformedModelNamesTheFile() {
        const QString broken = m_dir.filePath("broken");
        QVERIFY(QDir().mkpath(broken));
        QFile config(broken + "/config.json");
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write(R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 5,
                         "intermediate_size": 96, "vocab_size": 100})");
        config.close();
        for (const QStringList& arguments : {QStringList{"inspect", broken}, QStringList{"eval", broken, "--text", kText},
                                            QStringList{"generate", broken}}) {
            const Run run = runDha(arguments);
            QCOMPARE(run.exitCode, 1);
            QVERIFY2(run.err.contains(broken + "/config.json:"), qPrintable(run.err));
            QVERIFY2(!run.err.contains("internal error"), qPrintable(run.err));
        }
        const Run missing = runDha({"inspect", m_dir.filePath("does-not-exist")});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains("does-not-exist"), qPrintable(missing.err));
    }

    void interruptExitsWith130() {
        // A long evaluation (the sample text repeated) interrupted after its first progress line.
        const QString longText = m_dir.filePath("long.txt");
        QFile source(kText);
        QVERIFY(source.open(QIODevice::ReadOnly));
        const QByteArray sample = source.readAll();
        QFile out(longText);
        QVERIFY(out.open(QIODevice::WriteOnly));
        for (int i = 0; i < 200; ++i) out.write(sample);
        out.close();
        QProcess process;
        process.start(kDha, {"eval", m_model, "--text", longText, "--context", "16", "--batch", "1"});
        QVERIFY(process.waitForStarted());
        QByteArray err;
        while (!err.contains("evaluate") && process.state() == QProcess::Running) {
            process.waitForReadyRead(200);
            err += process.readAllStandardError();
        }
        QVERIFY2(err.contains("evaluate"), err.constData());
        ::kill(static_cast<pid_t>(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        err += process.readAllStandardError();
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains("cancelled"), err.constData());
    }

    void pretrainRunsEndToEnd() {
        const QString run = m_dir.filePath("pretrain");
        const Run trained = runDha({"pretrain", run, "--text", kText, "--validation", kText, "--tokenizer", kTokenizer,
                                    "--tokens", "8k", "--layers", "2", "--hidden", "32", "--heads", "4", "--context", "32",
                                    "--batch", "8", "--lr", "3e-3", "--json", "--quiet"});
        QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
        const QJsonObject json = parseJson(trained.out);
        QCOMPARE(json["steps"].toInteger(), qint64(32));  // 8000 tokens in steps of 8 x 32, rounded up
        QCOMPARE(json["tokens"].toInteger(), qint64(32 * 8 * 32));
        for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"}) {
            QVERIFY2(QFile::exists(run + "/export/" + file), file);
        }
        for (const char* file : {"run.json", "metrics.jsonl", "tokens.bin", "checkpoints/latest"}) {
            QVERIFY2(QFile::exists(run + "/" + file), file);
        }
        // The export is an ordinary model directory; eval on it reproduces the final validation.
        const Run eval = runDha({"eval", run + "/export", "--text", kText, "--context", "32", "--batch", "8", "--json", "--quiet"});
        QVERIFY2(eval.exitCode == 0, qPrintable(eval.err));
        const double validationLoss = json["validation"].toObject()["loss"].toDouble();
        QVERIFY2(std::abs(parseJson(eval.out)["loss"].toDouble() - validationLoss) < 1e-9, qPrintable(eval.out));
        // A second run into the same directory is refused and points to --resume.
        const Run again = runDha({"pretrain", run, "--text", kText, "--tokenizer", kTokenizer, "--tokens", "8k"});
        QCOMPARE(again.exitCode, 1);
        QVERIFY2(again.err.contains("--resume"), qPrintable(again.err));
    }

    void pretrainSurvivesInterruptAndKill_data() {
        QTest::addColumn<int>("signalNumber");
        QTest::addColumn<QString>("waitFor");  // what stderr must show before the signal
        QTest::addColumn<int>("exitCode");     // of the interrupted process (-2: killed)
        QTest::newRow("Ctrl-C") << int(SIGINT) << "step 1/" << 130;
        QTest::newRow("kill -9") << int(SIGKILL) << "checkpoint" << -2;
    }
    void pretrainSurvivesInterruptAndKill() {
        QFETCH(int, signalNumber);
        QFETCH(QString, waitFor);
        QFETCH(int, exitCode);
        const QString run = m_dir.filePath(QString("interrupted-%1").arg(signalNumber));
        // 100k steps would take many minutes: the signal always lands mid-run.
        QProcess process;
        process.start(kDha, {"pretrain", run, "--text", kText, "--tokenizer", kTokenizer, "--tokens", "25.6M",
                             "--layers", "1", "--hidden", "16", "--heads", "2", "--context", "16", "--batch", "16",
                             "--checkpoint-steps", "20"});
        QVERIFY(process.waitForStarted());
        QByteArray err;
        while (!err.contains(waitFor.toUtf8()) && process.state() == QProcess::Running) {
            process.waitForReadyRead(200);
            err += process.readAllStandardError();
        }
        QVERIFY2(err.contains(waitFor.toUtf8()), err.constData());
        ::kill(static_cast<pid_t>(process.processId()), signalNumber);
        QVERIFY(process.waitForFinished(60000));
        err += process.readAllStandardError();
        QCOMPARE(process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2, exitCode);
        if (signalNumber == SIGINT) QVERIFY2(err.contains("checkpoint written; continue with --resume"), err.constData());

        // Resume with a budget a few steps past the last checkpoint: finishes, and the metrics have every step
        // once, in order.
        QFile latest(run + "/checkpoints/latest");
        QVERIFY(latest.open(QIODevice::ReadOnly));
        const qint64 step = QString::fromUtf8(latest.readAll()).trimmed().mid(5).toLongLong();
        QVERIFY(step > 0);
        const qint64 steps = step + 7;
        const Run resumed = runDha({"pretrain", "--resume", run, "--tokens", QString::number(steps * 16 * 16), "--json", "--quiet"});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        const QJsonObject json = parseJson(resumed.out);
        QCOMPARE(json["resumed_from_step"].toInteger(), step);
        QCOMPARE(json["steps"].toInteger(), steps);
        QFile metrics(run + "/metrics.jsonl");
        QVERIFY(metrics.open(QIODevice::ReadOnly));
        qint64 expected = 1;
        for (const QByteArray& line : metrics.readAll().split('\n')) {
            if (line.isEmpty()) continue;
            const QJsonObject event = QJsonDocument::fromJson(line).object();
            QVERIFY2(!event.isEmpty(), line.constData());
            if (event["type"].toString() == "loss") QCOMPARE(event["step"].toInteger(), expected++);
        }
        QCOMPARE(expected, steps + 1);
        QVERIFY(QFile::exists(run + "/export/model.safetensors"));
        // Other settings than the budget cannot change on resume.
        const Run changed = runDha({"pretrain", "--resume", run, "--lr", "0.5"});
        QCOMPARE(changed.exitCode, 1);
        QVERIFY2(changed.err.contains("run.json: --lr 0.5 differs from 0.001"), qPrintable(changed.err));
    }
};

DHA_TEST_SUITE(CliTest)
#include "cli_test.moc"
