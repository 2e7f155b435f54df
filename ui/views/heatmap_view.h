// A QCustomPlot colour map of one head-similarity matrix, with a fixed colour scale, crisp cells, hover
// tooltips and an optional overlay of the plan's key or value groups (heads reordered by group).
#pragma once

#include <QRect>
#include <QVector>
#include <QWidget>

#include <vector>

#include "dha/budget.h"  // HeadKind
#include "dha/matrix.h"
#include "dha/plan.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPColorGradient;
class QCPTextElement;
class QCPItemRect;

namespace dha::ui {

// The colour map every similarity view uses: sequential (viridis) for a range starting at 0 or above (CKA),
// diverging (blue - white - red) for a signed range (cosine). One function so heatmaps and the overview
// agree.
QCPColorGradient similarityGradient(double minimum, double maximum);

// The heads of `groups` concatenated (the display order of "reorder by group"), or empty when `groups` is not
// a partition of {0..heads-1} into non-empty groups.
std::vector<int> groupOrder(const HeadGroups& groups, int heads);

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);

    // Shows `matrix` with the colour scale fixed to [minimum, maximum] so views of different layers compare.
    // Groups set earlier stay when they still partition the new matrix's heads, and are dropped otherwise.
    void setMatrix(const Matrix& matrix, double minimum = -1.0, double maximum = 1.0);
    // Removes the matrix (and groups): an empty plot, e.g. while a layer is still being analysed.
    void clearMatrix();
    void setTitle(const QString& title);
    // What the matrix is about, for the axis labels and tooltips ("layer 5, value heads 2 and 7: 0.91");
    // layer < 0 leaves the layer out.
    void setLabel(int layer, HeadKind heads);
    // Label of the colour bar, e.g. "weight CKA".
    void setScaleLabel(const QString& label);

    // The plan's key (or value) groups of this layer: a partition of the matrix's heads. Boundaries are drawn
    // around the cells whose two heads share a group; an empty list (or one that does not partition the
    // heads) removes the overlay.
    void setGroups(const HeadGroups& groups);
    // Reorders rows and columns so each group's heads are adjacent (groups in the given order); tick labels
    // keep the original head numbers. Without valid groups the order stays the identity.
    void setReorderByGroup(bool reorder);
    bool reorderByGroup() const { return m_reorder; }
    bool hasGroups() const { return !m_groups.empty(); }

    int rowCount() const { return m_matrix.rows; }
    int columnCount() const { return m_matrix.cols; }
    // Head shown at displayed row/column `index` (the identity unless reordered); -1 outside the matrix.
    int headAt(int index) const;
    // Value drawn in displayed cell (row, col), i.e. matrix(headAt(row), headAt(col)); NaN outside the
    // matrix.
    double cellValue(int row, int col) const;
    // Tooltip of displayed cell (row, col); empty outside the matrix.
    QString toolTipAt(int row, int col) const;
    // Group boundaries as drawn, in displayed cells: x = first column, y = first row, width/height in cells.
    QVector<QRect> groupBlocks() const { return m_blocks; }
    QCustomPlot* plot() const { return m_plot; }

    // The plot (cells, ticks, colour bar, title) as .png, .svg or .pdf by the suffix of `path`, at its size on
    // screen; false with *error naming the file. Also offered by the right-click menu.
    bool savePlot(const QString& path, QString* error = nullptr);

    QSize sizeHint() const override { return QSize(420, 440); }
    QSize minimumSizeHint() const override { return QSize(200, 200); }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    // Sizes the plot inside this widget so the cells are square (a similarity matrix has no long axis).
    void fitSquare();
    QRect squarePlotGeometry() const;
    void rebuild();  // colour map, ticks and overlay from m_matrix, m_groups, m_reorder
    void updateAxisLabels();
    QString headWord(bool plural) const;

    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_colorMap = nullptr;
    QCPColorScale* m_colorScale = nullptr;
    QCPTextElement* m_title = nullptr;
    std::vector<QCPItemRect*> m_overlay;
    Matrix m_matrix;
    double m_minimum = -1.0;
    double m_maximum = 1.0;
    int m_layer = -1;
    HeadKind m_heads = HeadKind::Key;
    bool m_labelled = false;
    HeadGroups m_requestedGroups;  // as given to setGroups()
    HeadGroups m_groups;           // m_requestedGroups when they partition m_matrix's heads, else empty
    std::vector<int> m_order;      // displayed index -> head
    std::vector<int> m_groupOf;    // head -> group index (empty without groups)
    QVector<QRect> m_blocks;
    bool m_reorder = false;
    bool m_laidOut = false;
    bool m_fitting = false;
};

}  // namespace dha::ui
