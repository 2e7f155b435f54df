// HeatmapView shows exactly the matrix it is given, and renders offscreen.
#include <QTest>

#include <cmath>

#include "test_registry.h"
#include "views/heatmap_view.h"

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
        const QPixmap pixels = view.grab();
        QCOMPARE(pixels.size(), QSize(320, 280));
    }
};

DHA_TEST_SUITE(HeatmapViewTest)
#include "heatmap_view_test.moc"
