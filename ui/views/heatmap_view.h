// A QCustomPlot colour map of one head-similarity matrix, with a fixed colour scale and crisp cells.
#pragma once

#include <QWidget>

#include "dha/matrix.h"

class QCustomPlot;
class QCPColorMap;

namespace dha::ui {

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);

    // Shows `matrix` with the colour scale fixed to [minimum, maximum] so views of different layers compare.
    void setMatrix(const Matrix& matrix, double minimum = -1.0, double maximum = 1.0);
    void setTitle(const QString& title);

    // Value drawn in cell (row, col); NaN when outside the matrix. Lets tests check what is on screen.
    double cellValue(int row, int col) const;
    QCustomPlot* plot() const { return m_plot; }

private:
    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_colorMap = nullptr;
    int m_rows = 0;
    int m_cols = 0;
};

}  // namespace dha::ui
