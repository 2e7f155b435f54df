// `dha analyse` and `dha plan` end to end: matrices and figures from a generated model, plans that meet their
// budget, baselines, and the embedded teacher at a 25% budget.
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include "cli_test_support.h"
#include "test_registry.h"

class AnalysisCliTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_model;  // 2 layers x 4 heads, random weights

    static void checkSimilarityMatrix(const QJsonArray& rows, int heads) {
        QCOMPARE(rows.size(), heads);
        for (int r = 0; r < heads; ++r) {
            const QJsonArray row = rows[r].toArray();
            QCOMPARE(row.size(), heads);
            QVERIFY(std::abs(row[r].toDouble() - 1.0) < 1e-5);
            for (int c = 0; c < heads; ++c) {
                const double value = row[c].toDouble();
                QVERIFY(value >= -1.0 - 1e-6 && value <= 1.0 + 1e-6);
                QVERIFY(std::abs(value - rows[c].toArray()[r].toDouble()) < 1e-6);
            }
        }
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = m_dir.filePath("model");
        const Run run = runDha({"init", m_model, "--tokenizer", kTokenizer, "--layers", "2", "--hidden", "64",
                                "--heads", "4", "--intermediate", "96", "--context", "64"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    }

    void usageErrors_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown metric") << QStringList{"analyse", "m", "--metric", "svd"}
                                        << "--metric must be cka, cosine, act-cka or act-cosine (got 'svd')";
        QTest::newRow("text without act metric") << QStringList{"analyse", "m", "--text", "t"}
                                                 << "apply to the act-cka and act-cosine metrics";
        QTest::newRow("json and csv") << QStringList{"analyse", "m", "--json", "--csv"} << "exclusive";
        QTest::newRow("plan without budget") << QStringList{"plan", "m"} << "--budget is required";
        QTest::newRow("baseline with constraints")
            << QStringList{"plan", "m", "--budget", "0.5", "--baseline", "adjacent-gqa", "--tie-kv"}
            << "take no planner constraints";
        QTest::newRow("bad fix") << QStringList{"plan", "m", "--budget", "0.5", "--fix", "3x=2"} << "--fix takes";
        QTest::newRow("bad lock") << QStringList{"plan", "m", "--budget", "0.5", "--lock", "1,a"}
                                  << "--lock takes comma-separated layer numbers";
        QTest::newRow("bad baseline") << QStringList{"plan", "m", "--budget", "0.5", "--baseline", "mean"}
                                      << "--baseline: expected one of adjacent-gqa, cka-gqa";
    }
    void usageErrors() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, message);
        const Run run = runDha(arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message), qPrintable(run.err));
    }

    void analyseGivesUnitDiagonalSymmetricMatrices_data() {
        QTest::addColumn<QString>("metric");
        QTest::newRow("cka") << "cka";
        QTest::newRow("cosine") << "cosine";
        QTest::newRow("act-cka") << "act-cka";
        QTest::newRow("act-cosine") << "act-cosine";
    }
    void analyseGivesUnitDiagonalSymmetricMatrices() {
        QFETCH(QString, metric);
        QStringList arguments{"analyse", m_model, "--metric", metric, "--json", "--quiet"};
        if (metric.startsWith("act-")) arguments << "--text" << kText << "--tokens" << "256" << "--context" << "32";
        const Run run = runDha(arguments);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        QCOMPARE(json["metric"].toString(), metric);
        const QJsonArray layers = json["layers"].toArray();
        QCOMPARE(layers.size(), 2);
        for (const QJsonValue& layer : layers) {
            checkSimilarityMatrix(layer["key"].toArray(), 4);
            checkSimilarityMatrix(layer["value"].toArray(), 4);
            const int heads90 = layer["key_summary"].toObject()["heads_for_90_percent"].toInt();
            QVERIFY(heads90 >= 1 && heads90 <= 4);
        }
        if (metric.startsWith("act-")) QCOMPARE(json["calibration_tokens"].toInteger(), qint64(256));
    }

    void analyseWritesCsvAndPng() {
        const QString png = m_dir.filePath("similarity.png");
        const Run run = runDha({"analyse", m_model, "--csv", "--png", png, "--quiet"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QStringList lines = run.out.trimmed().split('\n');
        QCOMPARE(lines.first(), QString("layer,kind,head_a,head_b,similarity"));
        QCOMPARE(lines.size(), 1 + 2 * 2 * 16);  // 2 layers x (key, value) x 4 x 4
        QFile file(png);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.read(8), QByteArray("\x89PNG\r\n\x1a\n", 8));

        const Run text = runDha({"analyse", m_model, "--quiet"});
        QVERIFY2(text.exitCode == 0, qPrintable(text.err));
        QVERIFY2(text.out.contains("Metric   cka of the projection weights"), qPrintable(text.out));
    }

    void planMeetsTheBudgetAndWritesIt() {
        const QString planFile = m_dir.filePath("plan.json");
        const Run run = runDha({"plan", m_model, "--budget", "0.5", "--out", planFile, "--json", "--quiet"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        QCOMPARE(json["kept_heads"].toInt(), 8);  // half of 2 layers x (4 key + 4 value heads)
        QCOMPARE(json["source_heads"].toInt(), 16);
        QCOMPARE(json["kv_saved_fraction"].toDouble(), 0.5);
        // bf16 cache: 8 kept heads x 16 wide x 2 bytes.
        QCOMPARE(json["kv_bytes_per_token"].toInteger(), qint64(8 * 16 * 2));
        QFile file(planFile);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject plan = parseJson(QString::fromUtf8(file.readAll()));
        QCOMPARE(plan["format_version"].toInt(), 1);
        QCOMPARE(plan["source_heads"].toInt(), 4);
        QCOMPARE(plan["layers"].toArray().size(), 2);
        QCOMPARE(plan["budget"].toObject()["kept_heads"].toInt(), 8);
    }

    void adjacentGqaBaselineGroupsNeighbours() {
        const Run run = runDha({"plan", m_model, "--budget", "0.5", "--baseline", "adjacent-gqa", "--json"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject layer = parseJson(run.out)["layers"].toArray()[0].toObject();
        const QJsonArray expected{QJsonArray{0, 1}, QJsonArray{2, 3}};
        QCOMPARE(layer["key_groups"].toArray(), expected);
        QCOMPARE(layer["value_groups"].toArray(), expected);
    }

    void planRefusesImpossibleRequests() {
        // 2 layers x (K, V) keep at least one head each: 4 is the smallest budget.
        const Run tooSmall = runDha({"plan", m_model, "--budget", "3", "--quiet"});
        QCOMPARE(tooSmall.exitCode, 1);
        QVERIFY2(tooSmall.err.contains("4"), qPrintable(tooSmall.err));
        const Run uneven = runDha({"plan", m_model, "--budget", "6", "--baseline", "adjacent-gqa"});
        QCOMPARE(uneven.exitCode, 1);
        QVERIFY2(uneven.err.contains("multiple of 4"), qPrintable(uneven.err));

        const QString gqa = m_dir.filePath("gqa");
        const Run init = runDha({"init", gqa, "--tokenizer", kTokenizer, "--layers", "1", "--hidden", "64",
                                 "--heads", "4", "--kv-heads", "2", "--intermediate", "96"});
        QVERIFY2(init.exitCode == 0, qPrintable(init.err));
        const Run fromGqa = runDha({"plan", gqa, "--budget", "0.5"});
        QCOMPARE(fromGqa.exitCode, 1);
        QVERIFY2(fromGqa.err.contains("planning starts from an MHA model"), qPrintable(fromGqa.err));
    }

    // The demonstration: the embedded teacher (6 layers x 8 heads) at a 25% budget.
    void embeddedTeacherAtAQuarterBudget() {
        const Run run = runDha({"plan", "--budget", "0.25", "--json", "--quiet"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject json = parseJson(run.out);
        QCOMPARE(json["kept_heads"].toInt(), 24);
        QCOMPARE(json["kv_saved_fraction"].toDouble(), 0.75);
        int keyHeads = 0, valueHeads = 0;
        for (const QJsonValue& layer : json["layers"].toArray()) {
            keyHeads += layer["key_heads"].toInt();
            valueHeads += layer["value_heads"].toInt();
            QVERIFY(layer["key_heads"].toInt() >= 1 && layer["value_heads"].toInt() >= 1);
        }
        QCOMPARE(keyHeads + valueHeads, 24);
    }
};

DHA_TEST_SUITE(AnalysisCliTest)
#include "analysis_cli_test.moc"
