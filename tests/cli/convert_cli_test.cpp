// `dha convert`, `dha baseline` and `dha export` as users run them: usage errors, a conversion end to end
// whose export `dha eval` accepts, the GQA refusal of a decoupled run, a GQA baseline exported as stock GQA,
// and Ctrl-C with its resume hint.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <csignal>

#include "cli_test_support.h"
#include "test_registry.h"

namespace {

// Tiny budgets on a tiny model: 2 windows of 16 tokens per step.
const QStringList kTraining = {"--text", kText, "--batch", "2", "--context", "16", "--checkpoint-every", "0"};

}  // namespace

class ConvertCliTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_model;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY2(QFile::exists(kDha), qPrintable("dha not built at " + kDha));
        m_model = m_dir.filePath("model");
        // 2 layers of 4 heads: 16 key+value heads.
        const Run init = runDha({"init", m_model, "--tokenizer", kTokenizer, "--layers", "2", "--hidden",
                                 "32", "--heads", "4", "--intermediate", "64", "--context", "64", "--json"});
        QVERIFY2(init.exitCode == 0, qPrintable(init.err));
    }

    void usageErrorsExitWithTwo_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("message");
        const QString model = m_dir.filePath("model");
        const QStringList convert = {"convert", model, "--text", kText};
        QTest::newRow("no budget") << convert + QStringList{"--tokens", "1k"}
                                   << "give exactly one of --budget B and --plan FILE";
        QTest::newRow("no tokens") << convert + QStringList{"--budget", "0.5"} << "missing --tokens N";
        QTest::newRow("no text") << QStringList{"convert", model, "--budget", "0.5", "--tokens", "1k"}
                                 << "missing --text FILE";
        QTest::newRow("bad count") << convert + QStringList{"--budget", "0.5", "--tokens", "2X"}
                                   << "--tokens: expected a count such as 65536, 500k, 2M or 1.5G";
        QTest::newRow("bad percentage") << convert + QStringList{"--budget", "0.5", "--tokens", "x%"}
                                        << "--tokens: expected a count such as 2M or a percentage such as 2%";
        QTest::newRow("percentage of unknown tokens")
            << convert + QStringList{"--budget", "0.5", "--tokens", "2%"}
            << "give them with --source-tokens N";
        QTest::newRow("budget above 1")
            << convert + QStringList{"--budget", "1.5", "--tokens", "1k"} << "is a fraction above 1";
        QTest::newRow("resume with options") << QStringList{"convert", "--resume", "run", "--budget", "0.5"}
                                             << "--resume RUN takes no model or run options";
        QTest::newRow("unknown method") << QStringList{"baseline", "mean", model, "--budget", "0.5"}
                                        << "METHOD must be gqa, cka-gqa, dha-uniform or dha-meanpool";
        QTest::newRow("uniform with constraints")
            << QStringList{"baseline", "gqa", model, "--text", kText, "--budget", "0.5", "--tokens", "1k",
                           "--fix", "0k=1"}
            << "method gqa plans uniform GQA groups; it takes no planner constraints";
        QTest::newRow("export without out") << QStringList{"export", "run"} << "missing --out DIR";
        QTest::newRow("export bad format") << QStringList{"export", "run", "--out", "x", "--format", "mqa"}
                                           << "--format: expected one of dha, gqa, got 'mqa'";
    }
    void usageErrorsExitWithTwo() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, message);
        const Run run = runDha(arguments);
        QVERIFY2(run.exitCode == 2, qPrintable(run.err));
        QVERIFY2(run.err.contains(message), qPrintable(run.err));
    }

    // A decoupled plan (layer 0 keeps 1 key and 3 value heads), converted, evaluated and re-exported.
    void convertRunsEndToEnd() {
        const QString run = m_dir.filePath("dha-run");
        const Run converted = runDha(QStringList{"convert", m_model, "--budget", "0.5", "--fix", "0k=1,0v=3",
                                                 "--tokens", "1024", "--validation", kText,
                                                 "--validation-tokens", "64", "--run", run, "--json"} +
                                     kTraining);
        QVERIFY2(converted.exitCode == 0, qPrintable(converted.err));
        const QJsonObject json = parseJson(converted.out);
        QCOMPARE(QDir::cleanPath(json["run"].toString()), QDir::cleanPath(run));
        QCOMPARE(json["method"].toString(), QString("dha"));
        QCOMPARE(json["kept_heads"].toInt(), 8);
        QCOMPARE(json["source_heads"].toInt(), 16);
        QCOMPARE(json["kv_saved_fraction"].toDouble(), 0.5);
        // 1024 tokens in steps of 32: 10% (102) search, half (512) fuse, 410 continue.
        QCOMPARE(json["search"].toObject()["steps"].toInteger(), qint64(4));
        QCOMPARE(json["search"].toObject()["tokens"].toInteger(), qint64(128));
        QVERIFY(json["fusion"].toObject()["steps"].toInteger() <= 16);
        QCOMPARE(json["continued"].toObject()["steps"].toInteger(), qint64(13));
        const QJsonObject heldOut = json["held_out"].toObject();
        for (const char* key : {"source", "after_collapse", "after_continued"})
            QVERIFY2(std::isfinite(heldOut[key].toDouble()) && heldOut[key].toDouble() > 0, key);
        // Progress went to stderr: the plan, the phases with their losses and the KV saving.
        QVERIFY2(converted.err.contains("kept 8 of 16 K+V heads (50%); layer 0: 1K 3V"),
                 qPrintable(converted.err));
        QVERIFY2(converted.err.contains("search step 1/"), qPrintable(converted.err));
        QVERIFY2(converted.err.contains("fusion step "), qPrintable(converted.err));
        QVERIFY2(converted.err.contains(", fusion "), qPrintable(converted.err));
        QVERIFY2(converted.err.contains("continued step"), qPrintable(converted.err));
        QVERIFY2(converted.err.contains("KV saved"), qPrintable(converted.err));

        const QString exported = json["export"].toString();
        QVERIFY(QFile::exists(exported + "/config.json"));
        const Run eval = runDha({"eval", exported, "--text", kText, "--context", "16", "--max-tokens", "64",
                                 "--json", "--quiet"});
        QVERIFY2(eval.exitCode == 0, qPrintable(eval.err));
        QVERIFY(std::isfinite(parseJson(eval.out)["loss"].toDouble()));

        // Stock GQA cannot express layer 0: refused, naming the nearest GQA plan and its KV cost.
        const QString gqa = m_dir.filePath("dha-as-gqa");
        const Run refused = runDha({"export", run, "--format", "gqa", "--out", gqa});
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains(
                     "layer 0 keys and values are grouped differently (1 key heads, 3 value heads)"),
                 qPrintable(refused.err));
        QVERIFY2(refused.err.contains(
                     "the nearest GQA plan keeps 2 key/value heads per layer (128 bytes per token "
                     "at bf16, 50% saved)"),
                 qPrintable(refused.err));
        QVERIFY(!QFile::exists(gqa));

        const QString again = m_dir.filePath("dha-again");
        const Run dha = runDha({"export", run, "--format", "dha", "--out", again, "--json", "--quiet"});
        QVERIFY2(dha.exitCode == 0, qPrintable(dha.err));
        const QJsonObject report = parseJson(dha.out);
        QCOMPARE(report["format"].toString(), QString("dha"));
        QCOMPARE(report["kept_heads"].toInt(), 8);
        QVERIFY(report["reload_max_abs_difference"].toDouble() <= report["reload_tolerance"].toDouble());
        QVERIFY(QFile::exists(again + "/model.safetensors"));
        // An occupied output directory is never overwritten.
        const Run occupied = runDha({"export", run, "--out", again});
        QCOMPARE(occupied.exitCode, 2);
        QVERIFY2(occupied.err.contains(again), qPrintable(occupied.err));
    }

    // The adjacent GQA baseline keeps equal shared groups: its run exports as a stock GQA model.
    void gqaBaselineExportsStockGqa() {
        const QString run = m_dir.filePath("gqa-run");
        const Run baseline = runDha(QStringList{"baseline", "gqa", m_model, "--budget", "0.5", "--tokens",
                                                "256", "--run", run, "--json", "--quiet"} +
                                    kTraining);
        QVERIFY2(baseline.exitCode == 0, qPrintable(baseline.err));
        const QJsonObject json = parseJson(baseline.out);
        QCOMPARE(json["method"].toString(), QString("gqa"));
        QCOMPARE(json["kept_heads"].toInt(), 8);
        QCOMPARE(json["continued"].toObject()["steps"].toInteger(),
                 qint64(8));  // mean pooling: all 256 tokens

        const QString gqa = m_dir.filePath("gqa-export");
        const Run exported = runDha({"export", run, "--format", "gqa", "--out", gqa, "--json", "--quiet"});
        QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
        QCOMPARE(parseJson(exported.out)["num_key_value_heads"].toInt(), 2);
        const Run inspect = runDha({"inspect", gqa, "--json"});
        QVERIFY2(inspect.exitCode == 0, qPrintable(inspect.err));
        QCOMPARE(parseJson(inspect.out)["architecture"].toString(), QString("GQA (2 key/value heads)"));
        const Run eval = runDha(
            {"eval", gqa, "--text", kText, "--context", "16", "--max-tokens", "64", "--json", "--quiet"});
        QVERIFY2(eval.exitCode == 0, qPrintable(eval.err));
    }

    void ctrlCCancelsWithResumeHint() {
        const QString run = m_dir.filePath("interrupted");
        QProcess process;
        // Millions of steps: the signal always lands mid-run.
        process.start(
            kDha,
            QStringList{"convert", m_model, "--budget", "0.5", "--tokens", "20M", "--run", run} + kTraining);
        QVERIFY(process.waitForStarted());
        QByteArray err;
        // The search is the first phase by default (--search-share 0.1).
        while (!err.contains("search step") && process.state() == QProcess::Running) {
            process.waitForReadyRead(200);
            err += process.readAllStandardError();
        }
        QVERIFY2(err.contains("search step"), err.constData());
        ::kill(static_cast<pid_t>(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        err += process.readAllStandardError();
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains(("dha convert --resume " + run).toUtf8()), err.constData());
        QVERIFY(QFile::exists(run + "/run.json"));
        QVERIFY(QFile::exists(run + "/checkpoints/latest"));
    }
};

DHA_TEST_SUITE(ConvertCliTest)
#include "convert_cli_test.moc"
