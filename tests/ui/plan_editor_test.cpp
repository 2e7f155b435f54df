// PlanEditor keeps budget, pins, locks and constraints consistent with the engine's planner, refuses what
// cannot be met with a message, and round-trips plan JSON; PlanTableModel shows and edits it as a valid
// model.
#include <QAbstractItemModelTester>
#include <QFile>
#include <QFont>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "dha/budget.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "models/plan_editor.h"
#include "models/plan_table_model.h"
#include "test_registry.h"
#include "ui_fixtures.h"

namespace {

constexpr int kLayers = 4;
constexpr int kHeads = 8;
constexpr int kHeadDim = 16;

dha::SimilarityReport blockReport(int layers = kLayers, int heads = kHeads) {
    return dha::test::ui::blockSimilarityReport(layers, heads);
}

// The KV bytes per token of a plan, computed here from its groups: 2 bytes * headDim * (hk + hv) per layer.
qint64 expectedKvBytes(const dha::Plan& plan, int headDim) {
    qint64 bytes = 0;
    for (const dha::LayerPlan& layer : plan.layers)
        bytes += 2LL * headDim * static_cast<qint64>(layer.keyGroups.size() + layer.valueGroups.size());
    return bytes;
}

void startEditor(dha::ui::PlanEditor& editor) {
    editor.setSource(kLayers, kHeads, kHeadDim);
    editor.setSimilarity(blockReport());
}

}  // namespace

class PlanEditorTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptyWithoutSimilarity() {
        dha::ui::PlanEditor editor;
        QVERIFY(!editor.hasPlan());
        QVERIFY(editor.statusText().contains(QStringLiteral("No model")));
        editor.setSource(kLayers, kHeads, kHeadDim);
        QVERIFY(!editor.hasPlan());
        QVERIFY(editor.statusText().contains(QStringLiteral("analys")));
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QVERIFY(!editor.setBudgetHeads(20));
        QCOMPARE(refused.count(), 1);
        QVERIFY(refused.front().front().toString().contains(QStringLiteral("analys")));
        QVERIFY(!editor.setCount(0, dha::HeadKind::Key, 2));
        QCOMPARE(refused.count(), 2);
    }

    void plansWhenSimilarityArrives() {
        dha::ui::PlanEditor editor;
        editor.setSource(kLayers, kHeads, kHeadDim);
        QSignalSpy changed(&editor, &dha::ui::PlanEditor::planChanged);
        editor.setSimilarity(blockReport());
        QCOMPARE(changed.count(), 1);
        QVERIFY(editor.hasPlan());
        QCOMPARE(editor.sourceKvHeads(), 2 * kLayers * kHeads);
        QCOMPARE(editor.budgetHeads(), 16);  // the default 25% of 64
        QCOMPARE(editor.plan().keptHeads(), 16);
        QCOMPARE(editor.accounting().bytesPerToken, expectedKvBytes(editor.plan(), kHeadDim));
    }

    void budgetSetsKeptHeads_data() {
        QTest::addColumn<int>("budget");
        QTest::newRow("fewest") << 2 * kLayers;
        QTest::newRow("odd") << 9;
        QTest::newRow("half") << 32;
        QTest::newRow("all") << 2 * kLayers * kHeads;
    }
    void budgetSetsKeptHeads() {
        QFETCH(int, budget);
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QSignalSpy changed(&editor, &dha::ui::PlanEditor::planChanged);
        QVERIFY(editor.setBudgetHeads(budget));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(editor.plan().keptHeads(), budget);
        QCOMPARE(editor.accounting().bytesPerToken, expectedKvBytes(editor.plan(), kHeadDim));
        QCOMPARE(editor.accounting().sourceBytesPerToken, qint64(2) * kHeadDim * 2 * kHeads * kLayers);
        // The same plan the engine makes for that budget.
        QCOMPARE(editor.plan(), dha::planFromSimilarity(blockReport(), dha::Budget::ofHeads(budget)));
    }

    void budgetFractionRounds() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetFraction(0.5));
        QCOMPARE(editor.budgetHeads(), 32);
        QCOMPARE(editor.budgetFraction(), 0.5);
    }

    void pinningKeepsTheBudget() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(24));
        const int before = editor.count(1, dha::HeadKind::Key);
        const int pinned = before == 6 ? 5 : 6;
        QVERIFY(editor.setCount(1, dha::HeadKind::Key, pinned));
        QCOMPARE(editor.count(1, dha::HeadKind::Key), pinned);
        QVERIFY(editor.isFixed(1, dha::HeadKind::Key));
        QVERIFY(!editor.isFixed(1, dha::HeadKind::Value));
        QCOMPARE(editor.plan().keptHeads(), 24);
        QCOMPARE(editor.fixedCellCount(), 1);
        // The pin survives budget moves.
        QVERIFY(editor.setBudgetHeads(30));
        QCOMPARE(editor.count(1, dha::HeadKind::Key), pinned);
        QCOMPARE(editor.plan().keptHeads(), 30);
        QVERIFY(editor.clearPins());
        QCOMPARE(editor.fixedCellCount(), 0);
        QCOMPARE(editor.plan(), dha::planFromSimilarity(blockReport(), dha::Budget::ofHeads(30)));
    }

    void refusesWhatCannotBeMet_data() {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("expected");  // a phrase the message must contain
        QTest::newRow("count 0") << "count 0"
                                 << "1 to 8";
        QTest::newRow("count above H") << "count 9"
                                       << "1 to 8";
        QTest::newRow("no such layer") << "layer 4"
                                       << "layers 0 to 3";
        QTest::newRow("below min") << "below min"
                                   << "constraints allow 2 to 8";
        QTest::newRow("locked layer") << "locked"
                                      << "locked";
        QTest::newRow("infeasible pins") << "infeasible pins"
                                         << "feasible budgets";
        QTest::newRow("budget below range") << "budget 4"
                                            << "feasible budgets are 8..64";
        QTest::newRow("lock over budget") << "lock"
                                          << "Cannot lock layer 3";
        QTest::newRow("min over pin") << "min over pin"
                                      << "pinned at 2";
        QTest::newRow("tie unequal pins") << "tie"
                                          << "clear its pins";
    }
    void refusesWhatCannotBeMet() {
        QFETCH(QString, edit);
        QFETCH(QString, expected);
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(16));
        // Set-up edits that are accepted.
        if (edit == QLatin1String("below min")) QVERIFY(editor.setMinHeads(2));
        if (edit == QLatin1String("locked"))
            QVERIFY(editor.setBudgetHeads(40) && editor.setLayerLocked(2, true));
        if (edit == QLatin1String("infeasible pins")) {
            QVERIFY(editor.setCount(0, dha::HeadKind::Key, 6));
            QVERIFY(editor.setCount(0, dha::HeadKind::Value, 3));
        }
        if (edit == QLatin1String("min over pin")) QVERIFY(editor.setCount(1, dha::HeadKind::Value, 2));
        if (edit == QLatin1String("tie")) {
            QVERIFY(editor.setCount(1, dha::HeadKind::Key, 3));
            QVERIFY(editor.setCount(1, dha::HeadKind::Value, 2));
        }
        const dha::Plan before = editor.plan();
        const int budgetBefore = editor.budgetHeads();
        const int pinsBefore = editor.fixedCellCount();
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QSignalSpy changed(&editor, &dha::ui::PlanEditor::planChanged);

        bool accepted = true;
        if (edit == QLatin1String("count 0")) accepted = editor.setCount(0, dha::HeadKind::Key, 0);
        if (edit == QLatin1String("count 9")) accepted = editor.setCount(0, dha::HeadKind::Value, 9);
        if (edit == QLatin1String("layer 4")) accepted = editor.setCount(4, dha::HeadKind::Key, 2);
        if (edit == QLatin1String("below min")) accepted = editor.setCount(3, dha::HeadKind::Key, 1);
        if (edit == QLatin1String("locked")) accepted = editor.setCount(2, dha::HeadKind::Value, 4);
        // 6 + 3 pinned in layer 0, then 7 more in layer 1: 16 heads, but the other 5 (layer, K|V) sets need 1
        // each.
        if (edit == QLatin1String("infeasible pins")) accepted = editor.setCount(1, dha::HeadKind::Key, 7);
        if (edit == QLatin1String("budget 4")) accepted = editor.setBudgetHeads(4);
        if (edit == QLatin1String("lock")) accepted = editor.setLayerLocked(3, true);  // 16 + 8 others > 16
        if (edit == QLatin1String("min over pin")) accepted = editor.setMinHeads(3);
        if (edit == QLatin1String("tie")) accepted = editor.setTieKeyValue(true);

        QVERIFY(!accepted);
        QCOMPARE(refused.count(), 1);
        const QString message = refused.front().front().toString();
        QVERIFY2(message.contains(expected), qPrintable(message));
        QCOMPARE(changed.count(), 0);
        QCOMPARE(editor.plan(), before);
        QCOMPARE(editor.budgetHeads(), budgetBefore);
        QCOMPARE(editor.fixedCellCount(), pinsBefore);
    }

    void lockedLayerKeepsEveryHead() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(32));
        QVERIFY(editor.setCount(2, dha::HeadKind::Key, 3));
        QVERIFY(editor.setLayerLocked(2, true));
        QVERIFY(editor.isLayerLocked(2));
        QVERIFY(!editor.isFixed(2, dha::HeadKind::Key));  // the lock supersedes the pin
        QCOMPARE(editor.count(2, dha::HeadKind::Key), kHeads);
        QCOMPARE(editor.count(2, dha::HeadKind::Value), kHeads);
        QCOMPARE(editor.plan().keptHeads(), 32);
        QCOMPARE(editor.constraints().lockedLayers, std::vector<int>{2});
        QVERIFY(editor.setLayerLocked(2, false));
        QVERIFY(editor.count(2, dha::HeadKind::Key) < kHeads);
    }

    void tiedGroupsMatchAndBudgetStaysEven() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(21));
        QVERIFY(editor.setTieKeyValue(true));
        QCOMPARE(editor.budgetHeads() % 2, 0);
        QVERIFY(std::abs(editor.budgetHeads() - 21) == 1);
        for (const dha::LayerPlan& layer : editor.plan().layers) QCOMPARE(layer.keyGroups, layer.valueGroups);
        QCOMPARE(editor.feasibleBudgets().step, 2);
        QVERIFY(!editor.setBudgetHeads(23));  // odd: refused while tied
        QVERIFY(editor.setCount(0, dha::HeadKind::Value, 3));
        QCOMPARE(editor.count(0, dha::HeadKind::Key), 3);
        QVERIFY(editor.isFixed(0, dha::HeadKind::Key) && editor.isFixed(0, dha::HeadKind::Value));
    }

    void minAndMaxBoundEveryCount() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(24));
        QVERIFY(editor.setMinHeads(2));
        QVERIFY(editor.setMaxHeads(4));
        for (int layer = 0; layer < kLayers; ++layer) {
            for (const auto kind : {dha::HeadKind::Key, dha::HeadKind::Value}) {
                QVERIFY(editor.count(layer, kind) >= 2);
                QVERIFY(editor.count(layer, kind) <= 4);
            }
        }
        QCOMPARE(editor.feasibleBudgets().first, 16);
        QCOMPARE(editor.feasibleBudgets().last, 32);
        QCOMPARE(editor.nearestFeasibleBudget(100), 32);
        QCOMPARE(editor.nearestFeasibleBudget(3), 16);
    }

    void uniformGqaAtEqualCost_data() {
        QTest::addColumn<int>("budget");
        QTest::addColumn<int>("groups");
        QTest::newRow("8 = 1 group") << 8 << 1;
        QTest::newRow("12 -> 1 group below") << 12 << 1;
        QTest::newRow("16 = 2 groups") << 16 << 2;
        QTest::newRow("20 -> 2 groups below") << 20 << 2;
        QTest::newRow("32 = 4 groups") << 32 << 4;
        QTest::newRow("63 -> 4 groups below") << 63 << 4;
        QTest::newRow("64 = MHA") << 64 << 8;
    }
    void uniformGqaAtEqualCost() {
        QFETCH(int, budget);
        QFETCH(int, groups);
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(budget));
        QCOMPARE(editor.gqaGroups(), groups);
        QCOMPARE(editor.gqaPlan().keptHeads(), 2 * groups * kLayers);
        for (const dha::LayerPlan& layer : editor.gqaPlan().layers) {
            QCOMPARE(layer.numKeyHeads(), groups);
            QCOMPARE(layer.numValueHeads(), groups);
        }
        QCOMPARE(editor.gqaAccounting().bytesPerToken, qint64(2) * kHeadDim * 2 * groups * kLayers);
        QVERIFY(editor.gqaAccounting().bytesPerToken <= editor.accounting().bytesPerToken);
    }

    void planJsonRoundTrip() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("plan.json"));
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(27));
        QVERIFY(editor.setCount(3, dha::HeadKind::Value, 5));
        QVERIFY(editor.savePlanFile(path));

        dha::ui::PlanEditor other;
        startEditor(other);
        QSignalSpy changed(&other, &dha::ui::PlanEditor::planChanged);
        QVERIFY(other.loadPlanFile(path));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(other.plan(), editor.plan());
        QVERIFY(!other.isLoaded());  // the planner reproduces it from the pinned counts
        QCOMPARE(other.fixedCellCount(), 2 * kLayers);
        QCOMPARE(other.budgetHeads(), 27);
        QVERIFY(other.statusText().contains(path));
        QCOMPARE(dha::loadPlan(path.toStdString()), editor.plan());
    }

    void keepsALoadedPlanThePlannerWouldGroupDifferently() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("adjacent.json"));
        // Adjacent pairs: the block report groups keys of layer 0 by i % 4 instead.
        const dha::Plan adjacent = dha::adjacentGqaPlan(kLayers, kHeads, 4);
        dha::savePlan(adjacent, path.toStdString());
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.loadPlanFile(path));
        QVERIFY(editor.isLoaded());
        QCOMPARE(editor.plan(), dha::canonicalPlan(adjacent));
        QVERIFY(editor.statusText().contains(QStringLiteral("as written")));
        QCOMPARE(editor.accounting().bytesPerToken, expectedKvBytes(adjacent, kHeadDim));
        // Every count is pinned, so a count edit alone cannot keep the budget; clearing the pins replans.
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QVERIFY(!editor.setCount(0, dha::HeadKind::Key, 3));
        QVERIFY(refused.front().front().toString().contains(QStringLiteral("clear pins")));
        QVERIFY(editor.isLoaded());
        QVERIFY(editor.clearPins());
        QVERIFY(!editor.isLoaded());
        QCOMPARE(editor.plan().keptHeads(), adjacent.keptHeads());
        QVERIFY(editor.setCount(0, dha::HeadKind::Key, 3));
        QCOMPARE(editor.plan().keptHeads(), adjacent.keptHeads());
    }

    void malformedPlanFileNamesTheFile_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("text");  // empty: the file does not exist
        QTest::newRow("not json") << "broken.json" << QByteArray("{\"format_version\": 1, \"layers\": [");
        QTest::newRow("missing") << "absent.json" << QByteArray();
        QTest::newRow("other model") << "three_layers.json"
                                     << QByteArray::fromStdString(
                                            dha::serializePlan(dha::adjacentGqaPlan(3, kHeads, 2)));
        QTest::newRow("not a partition")
            << "repeated.json"
            << QByteArray(
                   "{\"format_version\": 1, \"source_heads\": 2, \"layers\": [{\"key_groups\": [[0,0]], "
                   "\"value_groups\": [[0,1]]}]}");
    }
    void malformedPlanFileNamesTheFile() {
        QFETCH(QString, name);
        QFETCH(QByteArray, text);
        QTemporaryDir dir;
        const QString path = dir.filePath(name);
        if (!text.isEmpty()) {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(text);
        }
        dha::ui::PlanEditor editor;
        startEditor(editor);
        const dha::Plan before = editor.plan();
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QVERIFY(!editor.loadPlanFile(path));
        QCOMPARE(refused.count(), 1);
        const QString message = refused.front().front().toString();
        QVERIFY2(message.contains(path), qPrintable(message));
        QCOMPARE(editor.plan(), before);
        QVERIFY(!editor.isLoaded());
    }

    void saveErrorNamesTheFile() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("no/such/dir/plan.json"));
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QVERIFY(!editor.savePlanFile(path));
        QCOMPARE(refused.count(), 1);
        QVERIFY2(refused.front().front().toString().contains(QStringLiteral("plan.json")),
                 qPrintable(refused.front().front().toString()));
    }

    void newSourceDropsTheAnalysis() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.hasPlan());
        editor.setSource(kLayers, kHeads, kHeadDim);
        QVERIFY(!editor.hasPlan());
        QVERIFY(!editor.hasSimilarity());
        // A report of another shape is not used, and the editor says why.
        editor.setSimilarity(blockReport(3, kHeads));
        QVERIFY(!editor.hasPlan());
        QVERIFY(editor.statusText().contains(QStringLiteral("3 layers")));
    }

    void newReportOfTheSameShapeKeepsTheEdits() {
        dha::ui::PlanEditor editor;
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(30));
        QVERIFY(editor.setCount(2, dha::HeadKind::Key, 6));
        editor.setSimilarity(blockReport());
        QCOMPARE(editor.budgetHeads(), 30);
        QVERIFY(editor.isFixed(2, dha::HeadKind::Key));
        QCOMPARE(editor.count(2, dha::HeadKind::Key), 6);
    }
};

class PlanTableModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void validModelThroughEveryChange() {
        dha::ui::PlanEditor editor;
        dha::ui::PlanTableModel model(&editor);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        startEditor(editor);
        QCOMPARE(model.rowCount(), kLayers);
        QCOMPARE(model.columnCount(), int(dha::ui::PlanTableModel::ColumnCount));
        QVERIFY(editor.setBudgetHeads(40));
        QVERIFY(model.setData(model.index(1, dha::ui::PlanTableModel::KeyHeadsColumn), 2));
        QVERIFY(model.setData(model.index(3, dha::ui::PlanTableModel::LockedColumn), Qt::Checked,
                              Qt::CheckStateRole));
        QVERIFY(!model.setData(model.index(0, dha::ui::PlanTableModel::ValueHeadsColumn), 0));
        QVERIFY(editor.clearPins());
        editor.setSource(2, kHeads, kHeadDim);
        QCOMPARE(model.rowCount(), 0);
        editor.setSimilarity(blockReport(2, kHeads));
        QCOMPARE(model.rowCount(), 2);
        editor.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void showsCountsBytesAndGroups() {
        dha::ui::PlanEditor editor;
        dha::ui::PlanTableModel model(&editor);
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(24));
        int sum = 0;
        for (int row = 0; row < kLayers; ++row) {
            const dha::LayerPlan& layer = editor.plan().layers[static_cast<size_t>(row)];
            const int keys = model.data(model.index(row, dha::ui::PlanTableModel::KeyHeadsColumn)).toInt();
            const int values =
                model.data(model.index(row, dha::ui::PlanTableModel::ValueHeadsColumn)).toInt();
            QCOMPARE(keys, layer.numKeyHeads());
            QCOMPARE(values, layer.numValueHeads());
            sum += keys + values;
            QCOMPARE(model.data(model.index(row, dha::ui::PlanTableModel::KvBytesColumn), Qt::EditRole)
                         .toLongLong(),
                     qint64(2) * kHeadDim * (keys + values));
            QCOMPARE(model.data(model.index(row, dha::ui::PlanTableModel::KeyGroupsColumn)).toString(),
                     dha::ui::PlanTableModel::groupsText(layer.keyGroups));
        }
        QCOMPARE(sum, 24);
        QCOMPARE(dha::ui::PlanTableModel::groupsText({{0, 3}, {1, 2}, {4}}), QStringLiteral("0,3 | 1,2 | 4"));
    }

    void editsPinTheCellAndRefusalsChangeNothing() {
        dha::ui::PlanEditor editor;
        dha::ui::PlanTableModel model(&editor);
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(24));
        const QModelIndex cell = model.index(2, dha::ui::PlanTableModel::ValueHeadsColumn);
        QVERIFY(!model.data(cell, dha::ui::PlanTableModel::PinnedRole).toBool());
        QVERIFY(model.flags(cell) & Qt::ItemIsEditable);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QVERIFY(model.setData(cell, 5));
        QVERIFY(changed.count() >= 1);
        QCOMPARE(model.data(cell).toInt(), 5);
        QVERIFY(model.data(cell, dha::ui::PlanTableModel::PinnedRole).toBool());
        QVERIFY(model.data(cell, Qt::FontRole).value<QFont>().bold());
        QVERIFY(!model.data(model.index(2, dha::ui::PlanTableModel::KeyHeadsColumn), Qt::FontRole).isValid());
        QSignalSpy refused(&editor, &dha::ui::PlanEditor::editRefused);
        QVERIFY(!model.setData(cell, kHeads + 1));
        QVERIFY(!model.setData(cell, QStringLiteral("many")));
        QCOMPARE(refused.count(), 2);
        QCOMPARE(model.data(cell).toInt(), 5);
    }

    void lockCheckboxKeepsTheLayer() {
        dha::ui::PlanEditor editor;
        dha::ui::PlanTableModel model(&editor);
        startEditor(editor);
        QVERIFY(editor.setBudgetHeads(40));
        const QModelIndex lock = model.index(0, dha::ui::PlanTableModel::LockedColumn);
        QVERIFY(model.flags(lock) & Qt::ItemIsUserCheckable);
        QVERIFY(model.setData(lock, Qt::Checked, Qt::CheckStateRole));
        QCOMPARE(model.data(lock, Qt::CheckStateRole).toInt(), int(Qt::Checked));
        QCOMPARE(model.data(model.index(0, dha::ui::PlanTableModel::KeyHeadsColumn)).toInt(), kHeads);
        QVERIFY(!(model.flags(model.index(0, dha::ui::PlanTableModel::KeyHeadsColumn)) & Qt::ItemIsEditable));
    }
};

DHA_TEST_SUITE(PlanEditorTest)
DHA_TEST_SUITE(PlanTableModelTest)
#include "plan_editor_test.moc"
