// HeatmapView shows exactly the matrix it is given (also reordered by group), names the heads in its
// tooltips, draws the plan's group boundaries where both heads share a group, and renders offscreen.
#include <QApplication>
#include <QHelpEvent>
#include <QTest>
#include <QToolTip>

#include <cmath>
#include <set>
#include <utility>

#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "views/heatmap_view.h"

Q_DECLARE_METATYPE(dha::HeadGroups)

namespace {

// Symmetric, 1 on the diagonal, every off-diagonal value distinct (so a misplaced cell cannot go unnoticed).
dha::Matrix distinctMatrix(int heads) {
    dha::Matrix matrix(heads, heads, 1.0f);
    for (int row = 0; row < heads; ++row)
        for (int col = row + 1; col < heads; ++col)
            matrix.at(row, col) = matrix.at(col, row) = 0.01f * static_cast<float>(row * heads + col);
    return matrix;
}

QStringList tickLabels(QCPAxis* axis) {
    const auto ticker = axis->ticker().dynamicCast<QCPAxisTickerText>();
    QStringList labels;
    for (auto it = ticker->ticks().cbegin(); it != ticker->ticks().cend(); ++it) labels << it.value();
    return labels;
}

}  // namespace

class HeatmapViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsEveryCell() {
        dha::Matrix matrix(3, 4);
        for (int row = 0; row < 3; ++row)
            for (int col = 0; col < 4; ++col) matrix.at(row, col) = 0.1f * row - 0.05f * col;
        dha::ui::HeatmapView view;
        view.setMatrix(matrix);
        for (int row = 0; row < 3; ++row)
            for (int col = 0; col < 4; ++col) QCOMPARE(view.cellValue(row, col), double(matrix.at(row, col)));
        QVERIFY(std::isnan(view.cellValue(3, 0)));
        QVERIFY(std::isnan(view.cellValue(0, -1)));
    }

    void rendersOffscreen() {
        dha::Matrix matrix(8, 8, 0.5f);
        dha::ui::HeatmapView view;
        view.resize(320, 280);
        view.setMatrix(matrix);
        view.setGroups({{0, 1, 2, 3}, {4, 5, 6, 7}});
        view.setReorderByGroup(true);
        const QPixmap pixels = view.grab();
        QCOMPARE(pixels.size(), QSize(320, 280));
    }

    void toolTipNamesLayerHeadsAndValue_data() {
        QTest::addColumn<int>("layer");
        QTest::addColumn<bool>("keys");
        QTest::addColumn<int>("row");
        QTest::addColumn<int>("col");
        QTest::addColumn<float>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("value pair") << 5 << false << 2 << 7 << 0.91f << "layer 5, value heads 2 and 7: 0.91";
        QTest::newRow("key pair") << 0 << true << 7 << 2 << 0.3049f << "layer 0, key heads 7 and 2: 0.30";
        QTest::newRow("negative") << 11 << true << 1 << 0 << -0.126f << "layer 11, key heads 1 and 0: -0.13";
        QTest::newRow("diagonal") << 3 << false << 4 << 4 << 1.0f
                                  << "layer 3, value head 4 with itself: 1.00";
    }
    void toolTipNamesLayerHeadsAndValue() {
        QFETCH(int, layer);
        QFETCH(bool, keys);
        QFETCH(int, row);
        QFETCH(int, col);
        QFETCH(float, value);
        QFETCH(QString, expected);
        dha::Matrix matrix(8, 8, 0.0f);
        matrix.at(row, col) = value;
        dha::ui::HeatmapView view;
        view.setLabel(layer, keys ? dha::HeadKind::Key : dha::HeadKind::Value);
        view.setMatrix(matrix, keys ? 0.0 : -1.0, 1.0);
        QCOMPARE(view.toolTipAt(row, col), expected);
    }

    void hoverShowsTheCellsToolTipOnSquareCells() {
        dha::ui::HeatmapView view;
        view.resize(420, 380);
        view.setLabel(5, dha::HeadKind::Value);
        dha::Matrix matrix = distinctMatrix(8);
        matrix.at(2, 7) = matrix.at(7, 2) = 0.91f;
        view.setMatrix(matrix, 0.0, 1.0);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QCustomPlot* plot = view.plot();
        QTRY_VERIFY(std::abs(plot->axisRect()->width() - plot->axisRect()->height()) <= 1);
        // Row 2 (y, reversed axis: row 0 at the top) and column 7 (x), a third of a cell off its centre.
        const QPoint pos(qRound(plot->xAxis->coordToPixel(7.3)), qRound(plot->yAxis->coordToPixel(1.7)));
        QHelpEvent help(QEvent::ToolTip, pos, plot->mapToGlobal(pos));
        QApplication::sendEvent(plot, &help);
        QCOMPARE(QToolTip::text(), QStringLiteral("layer 5, value heads 2 and 7: 0.91"));
        QToolTip::hideText();
    }

    void toolTipIsEmptyOutsideTheMatrix() {
        dha::ui::HeatmapView view;
        view.setLabel(1, dha::HeadKind::Key);
        view.setMatrix(distinctMatrix(4));
        QCOMPARE(view.toolTipAt(4, 0), QString());
        QCOMPARE(view.toolTipAt(0, -1), QString());
        view.clearMatrix();
        QCOMPARE(view.toolTipAt(0, 0), QString());
        QCOMPARE(view.rowCount(), 0);
    }

    void toolTipNamesOriginalHeadsAndGroupsWhenReordered() {
        dha::ui::HeatmapView view;
        view.setLabel(2, dha::HeadKind::Value);
        const dha::Matrix matrix = distinctMatrix(6);
        view.setMatrix(matrix, 0.0, 1.0);
        view.setGroups({{0, 3}, {1, 2, 5}, {4}});
        view.setReorderByGroup(true);
        // Displayed order 0 3 1 2 5 4: displayed (1, 4) is heads 3 and 5, groups 0 and 1.
        QCOMPARE(view.toolTipAt(1, 4),
                 QStringLiteral("layer 2, value heads 3 and 5: %1\nvalue groups 0 and 1")
                     .arg(double(matrix.at(3, 5)), 0, 'f', 2));
        QCOMPARE(view.toolTipAt(0, 1),
                 QStringLiteral("layer 2, value heads 0 and 3: %1\nsame value group (0)")
                     .arg(double(matrix.at(0, 3)), 0, 'f', 2));
    }

    void reorderKeepsValues_data() {
        QTest::addColumn<dha::HeadGroups>("groups");
        QTest::addColumn<QList<int>>("order");
        QTest::newRow("three groups")
            << dha::HeadGroups{{0, 3}, {1, 2, 5}, {4}} << QList<int>{0, 3, 1, 2, 5, 4};
        QTest::newRow("groups out of order")
            << dha::HeadGroups{{5, 1}, {4, 0}, {3}, {2}} << QList<int>{5, 1, 4, 0, 3, 2};
        QTest::newRow("one group") << dha::HeadGroups{{2, 0, 1, 3, 4, 5}} << QList<int>{2, 0, 1, 3, 4, 5};
    }
    void reorderKeepsValues() {
        QFETCH(dha::HeadGroups, groups);
        QFETCH(QList<int>, order);
        const dha::Matrix matrix = distinctMatrix(6);
        dha::ui::HeatmapView view;
        view.setMatrix(matrix, 0.0, 1.0);
        view.setGroups(groups);
        view.setReorderByGroup(true);
        QVERIFY(view.hasGroups());
        for (int i = 0; i < 6; ++i) QCOMPARE(view.headAt(i), order[i]);
        QCOMPARE(view.headAt(6), -1);
        for (int row = 0; row < 6; ++row)
            for (int col = 0; col < 6; ++col)
                QCOMPARE(view.cellValue(row, col), double(matrix.at(view.headAt(row), view.headAt(col))));
        // Tick labels keep the original head numbers, in displayed order.
        QStringList expected;
        for (int head : order) expected << QString::number(head);
        QCOMPARE(tickLabels(view.plot()->xAxis), expected);
        QCOMPARE(tickLabels(view.plot()->yAxis), expected);

        // Toggling back restores head order and values.
        view.setReorderByGroup(false);
        for (int i = 0; i < 6; ++i) QCOMPARE(view.headAt(i), i);
        for (int row = 0; row < 6; ++row)
            for (int col = 0; col < 6; ++col) QCOMPARE(view.cellValue(row, col), double(matrix.at(row, col)));
        QCOMPARE(tickLabels(view.plot()->xAxis), (QStringList{"0", "1", "2", "3", "4", "5"}));
    }

    void boundariesMatchGroups_data() {
        QTest::addColumn<bool>("reorder");
        QTest::newRow("head order") << false;
        QTest::newRow("reordered by group") << true;
    }
    void boundariesMatchGroups() {
        QFETCH(bool, reorder);
        const dha::HeadGroups groups{{0, 3, 4}, {1, 2}, {5}, {7, 6}};
        dha::ui::HeatmapView view;
        view.setMatrix(distinctMatrix(8), 0.0, 1.0);
        view.setGroups(groups);
        view.setReorderByGroup(reorder);
        std::vector<int> groupOf(8);
        for (size_t g = 0; g < groups.size(); ++g)
            for (int head : groups[g]) groupOf[static_cast<size_t>(head)] = static_cast<int>(g);
        // The blocks cover exactly the displayed cells whose two heads share a group, each cell once.
        std::set<std::pair<int, int>> covered;
        for (const QRect& block : view.groupBlocks()) {
            for (int row = block.top(); row <= block.bottom(); ++row)
                for (int col = block.left(); col <= block.right(); ++col)
                    QVERIFY(covered.insert({row, col}).second);
        }
        for (int row = 0; row < 8; ++row) {
            for (int col = 0; col < 8; ++col) {
                const bool same = groupOf[static_cast<size_t>(view.headAt(row))] ==
                                  groupOf[static_cast<size_t>(view.headAt(col))];
                QCOMPARE(covered.count({row, col}) == 1, same);
            }
        }
        if (reorder) {
            // Adjacent heads: one square block per group on the diagonal.
            const QVector<QRect> expected{QRect(0, 0, 3, 3), QRect(3, 3, 2, 2), QRect(5, 5, 1, 1),
                                          QRect(6, 6, 2, 2)};
            QCOMPARE(view.groupBlocks(), expected);
        } else {
            // {0, 3, 4} are the runs [0] and [3, 4]: four blocks; {7, 6} is one run [6, 7].
            QVERIFY(view.groupBlocks().contains(QRect(3, 0, 2, 1)));
            QVERIFY(view.groupBlocks().contains(QRect(6, 6, 2, 2)));
            QCOMPARE(view.groupBlocks().size(), 4 + 1 + 1 + 1);
        }
        // Removing the groups removes the overlay and the order.
        view.setGroups({});
        QVERIFY(view.groupBlocks().isEmpty());
        QVERIFY(!view.hasGroups());
        for (int i = 0; i < 8; ++i) QCOMPARE(view.headAt(i), i);
    }

    void groupsThatDoNotPartitionTheHeadsAreIgnored_data() {
        QTest::addColumn<dha::HeadGroups>("groups");
        QTest::newRow("missing head") << dha::HeadGroups{{0, 1}, {2}};
        QTest::newRow("repeated head") << dha::HeadGroups{{0, 1}, {1, 2, 3}};
        QTest::newRow("out of range") << dha::HeadGroups{{0, 1}, {2, 4}};
        QTest::newRow("negative") << dha::HeadGroups{{0, 1, 2}, {-1, 3}};
        QTest::newRow("empty group") << dha::HeadGroups{{0, 1, 2, 3}, {}};
    }
    void groupsThatDoNotPartitionTheHeadsAreIgnored() {
        QFETCH(dha::HeadGroups, groups);
        dha::ui::HeatmapView view;
        const dha::Matrix matrix = distinctMatrix(4);
        view.setMatrix(matrix, 0.0, 1.0);
        view.setReorderByGroup(true);
        view.setGroups(groups);
        QVERIFY(!view.hasGroups());
        QVERIFY(view.groupBlocks().isEmpty());
        for (int i = 0; i < 4; ++i) QCOMPARE(view.headAt(i), i);
        QCOMPARE(view.cellValue(0, 3), double(matrix.at(0, 3)));
    }

    void groupsFollowTheMatrixSize() {
        dha::ui::HeatmapView view;
        view.setGroups({{0, 2}, {1, 3}});  // before any matrix: kept for later
        view.setReorderByGroup(true);
        QVERIFY(!view.hasGroups());
        view.setMatrix(distinctMatrix(4), 0.0, 1.0);
        QVERIFY(view.hasGroups());
        QCOMPARE(view.headAt(1), 2);
        view.setMatrix(distinctMatrix(6), 0.0, 1.0);  // another layer shape: the groups no longer fit
        QVERIFY(!view.hasGroups());
        QCOMPARE(view.headAt(1), 1);
    }

    void colourScaleIsTheCallersRange() {
        dha::ui::HeatmapView view;
        view.setMatrix(distinctMatrix(4), -1.0, 1.0);
        auto* map = qobject_cast<QCPColorMap*>(view.plot()->plottable(0));
        QVERIFY(map);
        QCOMPARE(map->dataRange(), QCPRange(-1.0, 1.0));
        QVERIFY(!map->interpolate());
        view.setMatrix(distinctMatrix(4), 0.0, 1.0);
        QCOMPARE(map->dataRange(), QCPRange(0.0, 1.0));
        view.setScaleLabel("weight CKA");
        QCOMPARE(map->colorScale()->label(), QStringLiteral("weight CKA"));
    }
};

DHA_TEST_SUITE(HeatmapViewTest)
#include "heatmap_view_test.moc"
