// PlanPage: slider, spin box, table and chart agree; refused edits show a message; the KV savings shown are
// the engine's arithmetic; plans round-trip through JSON; the page renders at 1280x800.
#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QFile>
#include <QFont>
#include <QLabel>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <random>

#include "dha/budget.h"
#include "dha/model_info.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "models/plan_editor.h"
#include "models/plan_table_model.h"
#include "pages/plan_page.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "ui_fixtures.h"
#include "views/kv_allocation_chart.h"

namespace {

using dha::ui::PlanTableModel;

constexpr int kLayers = 4;
constexpr int kHeads = 8;
constexpr int kHeadDim = 32;

dha::ModelInfo modelInfo(int layers, int heads, int headDim, bool mha = true) {
    dha::ModelInfo info;
    info.directory = "/models/tiny-llama";
    info.config.numLayers = layers;
    info.config.numQueryHeads = heads;
    info.config.numKeyValueHeads = mha ? heads : heads / 2;
    info.config.headDim = headDim;
    info.config.hiddenSize = heads * headDim;
    for (int l = 0; l < layers; ++l)
        info.config.layers.push_back(mha ? dha::HeadLayout::mha(heads)
                                         : dha::HeadLayout::gqa(heads, heads / 2));
    info.architecture = mha ? "MHA" : "GQA (4 key/value heads)";
    return info;
}

dha::SimilarityReport blockReport(int layers, int heads) {
    return dha::test::ui::blockSimilarityReport(layers, heads);
}

// A report shaped like a real model's: heads are noisy copies of a few latent directions, fewer directions
// (more redundancy) in later layers and in keys than in values; similarity = clamped cosine.
dha::SimilarityReport realisticReport(int layers, int heads) {
    std::mt19937 random(7);
    std::normal_distribution<double> normal(0.0, 1.0);
    constexpr int kDim = 24;
    const auto matrixFor = [&](int clusters, double noise) {
        // A direction every head of the layer shares: unrelated heads still score ~0.3, as CKA does.
        std::vector<double> common(kDim);
        for (double& x : common) x = normal(random);
        std::vector<std::vector<double>> centres(static_cast<size_t>(clusters), std::vector<double>(kDim));
        for (auto& centre : centres)
            for (size_t d = 0; d < centre.size(); ++d) centre[d] = 0.65 * common[d] + normal(random);
        std::vector<std::vector<double>> vectors(static_cast<size_t>(heads), std::vector<double>(kDim));
        for (int h = 0; h < heads; ++h) {
            const int cluster = static_cast<int>(random() % static_cast<unsigned>(clusters));
            for (int d = 0; d < kDim; ++d)
                vectors[static_cast<size_t>(h)][static_cast<size_t>(d)] =
                    centres[static_cast<size_t>(cluster)][static_cast<size_t>(d)] + noise * normal(random);
        }
        dha::Matrix matrix(heads, heads);
        for (int i = 0; i < heads; ++i) {
            for (int j = 0; j < heads; ++j) {
                double dot = 0, ni = 0, nj = 0;
                for (int d = 0; d < kDim; ++d) {
                    dot += vectors[size_t(i)][size_t(d)] * vectors[size_t(j)][size_t(d)];
                    ni += vectors[size_t(i)][size_t(d)] * vectors[size_t(i)][size_t(d)];
                    nj += vectors[size_t(j)][size_t(d)] * vectors[size_t(j)][size_t(d)];
                }
                matrix.at(i, j) = i == j ? 1.0f : static_cast<float>(std::max(0.0, dot / std::sqrt(ni * nj)));
            }
        }
        return matrix;
    };
    dha::SimilarityReport report;
    for (int l = 0; l < layers; ++l) {
        dha::LayerSimilarity layer;
        layer.layer = l;
        const int keyClusters = std::max(2, heads - 2 - l);
        const int valueClusters = std::max(3, heads - l / 2);
        layer.key = matrixFor(keyClusters, 0.35 + 0.05 * l);
        layer.value = matrixFor(valueClusters, 0.5);
        report.layers.push_back(layer);
    }
    return report;
}

void startPage(dha::ui::PlanPage& page, int layers = kLayers, int heads = kHeads, int headDim = kHeadDim) {
    page.setSource(modelInfo(layers, heads, headDim));
    page.setSimilarity(blockReport(layers, heads));
}

int tableSum(const dha::ui::PlanPage& page) {
    const QAbstractItemModel* model = page.table()->model();
    int sum = 0;
    for (int row = 0; row < model->rowCount(); ++row) {
        sum += model->index(row, PlanTableModel::KeyHeadsColumn).data().toInt();
        sum += model->index(row, PlanTableModel::ValueHeadsColumn).data().toInt();
    }
    return sum;
}

QString labelText(const dha::ui::PlanPage& page, const QString& name) {
    const auto* label = page.findChild<QLabel*>(name);
    return label ? label->text() : QStringLiteral("<no label %1>").arg(name);
}

// "1,536 B" -> 1536; "24.0 MiB" -> 25165824 (to the label's precision); "75.0%" -> 0.75.
double parseShown(const QString& text) {
    static const QRegularExpression pattern(QStringLiteral("^([0-9.,]+)\\s*(B|KiB|MiB|GiB|%)$"));
    const QRegularExpressionMatch match = pattern.match(text.trimmed());
    if (!match.hasMatch()) return std::nan("");
    const double number = QString(match.captured(1)).remove(QLatin1Char(',')).toDouble();
    const QString unit = match.captured(2);
    if (unit == QLatin1String("%")) return number / 100.0;
    const int power = unit == QLatin1String("B")     ? 0
                      : unit == QLatin1String("KiB") ? 1
                      : unit == QLatin1String("MiB") ? 2
                                                     : 3;
    return number * std::pow(1024.0, power);
}

}  // namespace

class PlanPageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void placeholderUntilAnalysed() {
        dha::ui::PlanPage page;
        QVERIFY(!page.showsPlan());
        QVERIFY(page.placeholderText().contains(QStringLiteral("No model")));
        page.setSource(modelInfo(kLayers, kHeads, kHeadDim));
        QVERIFY(!page.showsPlan());
        QVERIFY(page.placeholderText().contains(QStringLiteral("analys")));
        page.setSimilarity(blockReport(kLayers, kHeads));
        QVERIFY(page.showsPlan());
        QCOMPARE(page.currentPlan().keptHeads(), 16);
        QCOMPARE(page.currentBudget().heads.value_or(-1), 16);
    }

    void groupedSourceIsNotPlanned() {
        dha::ui::PlanPage page;
        page.setSource(modelInfo(kLayers, kHeads, kHeadDim, false));
        page.setSimilarity(blockReport(kLayers, kHeads / 2));
        QVERIFY(!page.showsPlan());
        QVERIFY2(page.placeholderText().contains(QStringLiteral("MHA")), qPrintable(page.placeholderText()));
    }

    void sliderAndTableStayConsistent_data() {
        QTest::addColumn<int>("budget");
        QTest::newRow("fewest") << 8;
        QTest::newRow("quarter + 1") << 17;
        QTest::newRow("half") << 32;
        QTest::newRow("all") << 64;
    }
    void sliderAndTableStayConsistent() {
        QFETCH(int, budget);
        dha::ui::PlanPage page;
        startPage(page);
        QSignalSpy changed(&page, &dha::ui::PlanPage::planChanged);
        page.budgetSlider()->setValue(budget);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(changed.front().front().value<dha::Plan>().keptHeads(), budget);
        QCOMPARE(tableSum(page), budget);
        QCOMPARE(page.budgetSpinBox()->value(), budget);
        QCOMPARE(page.currentPlan().keptHeads(), budget);
        QVERIFY2(page.budgetText().contains(QStringLiteral("%1 of 64 K+V heads").arg(budget)),
                 qPrintable(page.budgetText()));
        for (int layer = 0; layer < kLayers; ++layer) {
            QCOMPARE(page.chart()->keyHeads(layer), page.currentPlan().layers[size_t(layer)].numKeyHeads());
            QCOMPARE(page.chart()->valueHeads(layer),
                     page.currentPlan().layers[size_t(layer)].numValueHeads());
        }
        // The spin box is bound to the same value.
        page.budgetSpinBox()->setValue(20);
        QCOMPARE(page.budgetSlider()->value(), 20);
        QCOMPARE(tableSum(page), 20);
    }

    void budgetLabelShowsFractionAndHeads() {
        dha::ui::PlanPage page;
        page.setSource(modelInfo(6, 8, 64));
        page.setSimilarity(blockReport(6, 8));
        page.budgetSlider()->setValue(24);
        QCOMPARE(page.budgetText(), QStringLiteral("25% \u2013 24 of 96 K+V heads"));
        page.budgetSlider()->setValue(25);
        QCOMPARE(page.budgetText(), QStringLiteral("26% \u2013 25 of 96 K+V heads"));
    }

    void editingACellKeepsTheBudgetAndPinsIt() {
        dha::ui::PlanPage page;
        startPage(page);
        page.budgetSlider()->setValue(24);
        QAbstractItemModel* model = page.table()->model();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const QModelIndex cell = model->index(1, PlanTableModel::KeyHeadsColumn);
        const int pinned = cell.data().toInt() == 5 ? 4 : 5;
        QVERIFY(model->setData(cell, pinned));
        QCOMPARE(cell.data().toInt(), pinned);
        QCOMPARE(tableSum(page), 24);
        QCOMPARE(page.budgetSlider()->value(), 24);
        QVERIFY(cell.data(Qt::FontRole).value<QFont>().bold());
        QVERIFY(page.editor()->isFixed(1, dha::HeadKind::Key));
        QCOMPARE(page.currentConstraints().fixed.size(), size_t(1));
        // Moving the slider keeps the pinned cell.
        page.budgetSlider()->setValue(30);
        QCOMPARE(cell.data().toInt(), pinned);
        QCOMPARE(tableSum(page), 30);
    }

    void invalidInputIsRefusedWithAMessage_data() {
        QTest::addColumn<int>("layer");
        QTest::addColumn<int>("column");
        QTest::addColumn<int>("heads");
        QTest::addColumn<QString>("expected");
        QTest::newRow("count 0") << 0 << int(PlanTableModel::KeyHeadsColumn) << 0 << "1 to 8";
        QTest::newRow("count above H") << 2 << int(PlanTableModel::ValueHeadsColumn) << 9 << "1 to 8";
        // With layer 0 pinned at 7 + 7, 7 more value heads in layer 1 leave too few for the other 5 sets.
        QTest::newRow("infeasible pins")
            << 1 << int(PlanTableModel::ValueHeadsColumn) << 7 << "feasible budgets";
    }
    void invalidInputIsRefusedWithAMessage() {
        QFETCH(int, layer);
        QFETCH(int, column);
        QFETCH(int, heads);
        QFETCH(QString, expected);
        dha::ui::PlanPage page;
        startPage(page);
        page.budgetSlider()->setValue(24);
        QAbstractItemModel* model = page.table()->model();
        if (QByteArray(QTest::currentDataTag()) == "infeasible pins") {
            QVERIFY(model->setData(model->index(0, PlanTableModel::KeyHeadsColumn), 7));
            QVERIFY(model->setData(model->index(0, PlanTableModel::ValueHeadsColumn), 7));
        }
        const dha::Plan before = page.currentPlan();
        QSignalSpy changed(&page, &dha::ui::PlanPage::planChanged);
        QVERIFY(!model->setData(model->index(layer, column), heads));
        QCOMPARE(changed.count(), 0);
        QCOMPARE(page.currentPlan(), before);
        QCOMPARE(tableSum(page), 24);
        QVERIFY(page.messageIsError());
        QVERIFY2(page.message().contains(expected), qPrintable(page.message()));
        // The next accepted edit replaces the refusal.
        page.budgetSlider()->setValue(page.editor()->feasibleBudgets().last);
        QVERIFY(!page.messageIsError());
    }

    void constraintControlsEditThePlan() {
        dha::ui::PlanPage page;
        startPage(page);
        page.budgetSlider()->setValue(21);
        auto* tie = page.findChild<QCheckBox*>();
        QVERIFY(tie);
        tie->setChecked(true);
        QVERIFY(page.editor()->tieKeyValue());
        QCOMPARE(page.budgetSlider()->value() % 2, 0);
        QCOMPARE(page.budgetSlider()->value(), page.currentPlan().keptHeads());
        for (const dha::LayerPlan& layer : page.currentPlan().layers)
            QCOMPARE(layer.keyGroups, layer.valueGroups);
    }

    void kvSavingsAreTheEnginesArithmetic_data() {
        QTest::addColumn<int>("budget");
        QTest::newRow("12") << 12;
        QTest::newRow("27") << 27;
        QTest::newRow("48") << 48;
    }
    void kvSavingsAreTheEnginesArithmetic() {
        QFETCH(int, budget);
        dha::ui::PlanPage page;
        startPage(page);
        page.budgetSlider()->setValue(budget);
        const dha::Plan plan = page.currentPlan();
        // Computed here, independently: 2 bytes * headDim * (hk + hv), summed over layers.
        double bytes = 0;
        for (const dha::LayerPlan& layer : plan.layers)
            bytes += 2.0 * kHeadDim * double(layer.keyGroups.size() + layer.valueGroups.size());
        const double sourceBytes = 2.0 * kHeadDim * 2 * kHeads * kLayers;
        QCOMPARE(bytes, 2.0 * kHeadDim * budget);
        QCOMPARE(parseShown(labelText(page, QStringLiteral("planBytesPerToken"))), bytes);
        QCOMPARE(qint64(bytes), dha::kvAccounting(plan, kHeadDim, 2).bytesPerToken);
        QCOMPARE(parseShown(labelText(page, QStringLiteral("sourceBytesPerToken"))), sourceBytes);
        // Shown to 3 significant digits.
        const double perSequence = parseShown(labelText(page, QStringLiteral("planBytesPerSequence")));
        QVERIFY2(std::abs(perSequence - bytes * 4096) <= 0.005 * bytes * 4096,
                 qPrintable(labelText(page, QStringLiteral("planBytesPerSequence"))));
        const double saved = parseShown(labelText(page, QStringLiteral("planSavedFraction")));
        QVERIFY2(std::abs(saved - (1.0 - bytes / sourceBytes)) <= 0.0005,
                 qPrintable(labelText(page, QStringLiteral("planSavedFraction"))));
        // Uniform GQA at the same cost or the nearest below: g | 8, 2 * g * 4 <= budget.
        int groups = 0;
        for (int g = 1; g <= kHeads; ++g)
            if (kHeads % g == 0 && 2 * g * kLayers <= budget) groups = g;
        QCOMPARE(parseShown(labelText(page, QStringLiteral("gqaBytesPerToken"))),
                 2.0 * kHeadDim * 2 * groups * kLayers);
    }

    void planJsonRoundTrip() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("plan.json"));
        dha::ui::PlanPage page;
        startPage(page);
        page.budgetSlider()->setValue(29);
        QVERIFY(page.table()->model()->setData(
            page.table()->model()->index(2, PlanTableModel::ValueHeadsColumn), 6));
        QVERIFY(page.savePlanFile(path));
        QVERIFY(page.message().contains(path));

        dha::ui::PlanPage other;
        startPage(other);
        QSignalSpy changed(&other, &dha::ui::PlanPage::planChanged);
        QVERIFY(other.loadPlanFile(path));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(other.currentPlan(), page.currentPlan());
        QCOMPARE(other.budgetSlider()->value(), 29);
        QCOMPARE(tableSum(other), 29);
        QVERIFY(!other.messageIsError());

        // Without an analysis the plan is shown as loaded, and cannot be edited until one arrives.
        dha::ui::PlanPage unanalysed;
        unanalysed.setSource(modelInfo(kLayers, kHeads, kHeadDim));
        QVERIFY(unanalysed.loadPlanFile(path));
        QVERIFY(unanalysed.showsPlan());
        QCOMPARE(unanalysed.currentPlan(), page.currentPlan());
        QVERIFY(!unanalysed.budgetSlider()->isEnabled());
        QVERIFY(unanalysed.editor()->isLoaded());
        unanalysed.setSimilarity(blockReport(kLayers, kHeads));
        QVERIFY(!unanalysed.editor()->isLoaded());  // the planner reproduces it
        QCOMPARE(unanalysed.currentPlan(), page.currentPlan());
        QVERIFY(unanalysed.budgetSlider()->isEnabled());
    }

    void malformedPlanFileGivesAMessageNamingIt() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("mangled_plan.json"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("{\"format_version\": 1, \"source_heads\": 8, \"layers\": 7}");
        file.close();
        dha::ui::PlanPage page;
        startPage(page);
        const dha::Plan before = page.currentPlan();
        QVERIFY(!page.loadPlanFile(path));
        QVERIFY(page.messageIsError());
        QVERIFY2(page.message().contains(path), qPrintable(page.message()));
        QCOMPARE(page.currentPlan(), before);
        // Before the analysis the page shows its placeholder, and the message there.
        dha::ui::PlanPage unanalysed;
        unanalysed.setSource(modelInfo(kLayers, kHeads, kHeadDim));
        QVERIFY(!unanalysed.loadPlanFile(path));
        QVERIFY(!unanalysed.showsPlan());
        QVERIFY(unanalysed.messageIsError());
        QVERIFY(unanalysed.message().contains(path));
    }

    void rendersAt1280x800() {
        dha::ui::PlanPage page;
        page.resize(1280, 800);
        page.setSource(modelInfo(6, 8, 64));
        page.setSimilarity(realisticReport(6, 8));
        page.budgetSlider()->setValue(40);
        QAbstractItemModel* model = page.table()->model();
        QVERIFY(
            model->setData(model->index(0, PlanTableModel::LockedColumn), Qt::Checked, Qt::CheckStateRole));
        QVERIFY(model->setData(model->index(3, PlanTableModel::ValueHeadsColumn), 4));
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        page.chart()->plot()->replot();  // the chart replots queued; draw it now
        const QPixmap pixels = page.grab();
        QCOMPARE(pixels.size(), QSize(1280, 800));
        // Set DHA_PLAN_PAGE_PNG to keep the picture (docs, or to look at it).
        const QString out = qEnvironmentVariable("DHA_PLAN_PAGE_PNG");
        if (!out.isEmpty()) QVERIFY(pixels.save(out));
    }
};

DHA_TEST_SUITE(PlanPageTest)
#include "plan_page_test.moc"
