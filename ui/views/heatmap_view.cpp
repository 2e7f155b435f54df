// HeatmapView: one QCPColorMap with a colour bar; cell (row, col) is drawn at x = col, y = row.
#include "views/heatmap_view.h"

#include <QVBoxLayout>

#include <cmath>
#include <limits>

#include "support/qcustomplot_include.h"

namespace dha::ui {

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);

    m_colorMap = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_colorMap->setInterpolate(false);  // crisp cells: one head pair per cell
    m_colorMap->setTightBoundary(false);
    m_colorMap->setGradient(QCPColorGradient::gpThermal);
    auto* colorScale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, colorScale);
    m_colorMap->setColorScale(colorScale);
    m_plot->yAxis->setRangeReversed(true);  // row 0 at the top, as in a matrix
}

void HeatmapView::setMatrix(const Matrix& matrix, double minimum, double maximum) {
    m_rows = matrix.rows;
    m_cols = matrix.cols;
    m_colorMap->data()->setSize(matrix.cols, matrix.rows);
    m_colorMap->data()->setRange(QCPRange(0, std::max(0, matrix.cols - 1)), QCPRange(0, std::max(0, matrix.rows - 1)));
    for (int row = 0; row < matrix.rows; ++row) {
        for (int col = 0; col < matrix.cols; ++col) m_colorMap->data()->setCell(col, row, matrix.at(row, col));
    }
    m_colorMap->setDataRange(QCPRange(minimum, maximum));
    m_plot->xAxis->setRange(-0.5, matrix.cols - 0.5);
    m_plot->yAxis->setRange(-0.5, matrix.rows - 0.5);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setTitle(const QString& title) {
    // The top axis only carries the title: no ticks of its own, which would disagree with the cell axis.
    m_plot->xAxis2->setLabel(title);
    m_plot->xAxis2->setTicks(false);
    m_plot->xAxis2->setTickLabels(false);
    m_plot->xAxis2->setVisible(!title.isEmpty());
}

double HeatmapView::cellValue(int row, int col) const {
    if (row < 0 || col < 0 || row >= m_rows || col >= m_cols) return std::numeric_limits<double>::quiet_NaN();
    return m_colorMap->data()->cell(col, row);
}

}  // namespace dha::ui
