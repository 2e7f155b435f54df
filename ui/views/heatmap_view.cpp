// HeatmapView: one QCPColorMap with a colour bar; displayed cell (row, col) is drawn at x = col, y = row and
// holds matrix(headAt(row), headAt(col)), so reordering by group never changes which value a cell means.
#include "views/heatmap_view.h"

#include <QHelpEvent>
#include <QResizeEvent>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <limits>

#include "support/plot_export.h"
#include "support/qcustomplot_include.h"

namespace dha::ui {

namespace {

const QColor kBoundaryDark(20, 20, 20);
const QColor kBoundaryLight(255, 255, 255);

// True when `groups` is a partition of {0..heads-1} into non-empty groups.
bool partitionsHeads(const HeadGroups& groups, int heads) {
    if (groups.empty() || heads <= 0) return false;
    std::vector<char> seen(static_cast<size_t>(heads), 0);
    int count = 0;
    for (const std::vector<int>& group : groups) {
        if (group.empty()) return false;
        for (int head : group) {
            if (head < 0 || head >= heads || seen[static_cast<size_t>(head)]) return false;
            seen[static_cast<size_t>(head)] = 1;
            ++count;
        }
    }
    return count == heads;
}

}  // namespace

std::vector<int> groupOrder(const HeadGroups& groups, int heads) {
    std::vector<int> order;
    if (!partitionsHeads(groups, heads)) return order;
    for (const std::vector<int>& group : groups) order.insert(order.end(), group.begin(), group.end());
    return order;
}

QCPColorGradient similarityGradient(double minimum, double maximum) {
    QCPColorGradient gradient;
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setLevelCount(256);
    QMap<double, QColor> stops;
    if (minimum < 0.0 && maximum > 0.0) {
        // ColorBrewer RdBu (reversed): negative blue, zero white, positive red; readable with
        // colour-blindness.
        stops = {{0.0, QColor("#2166AC")},
                 {0.25, QColor("#67A9CF")},
                 {0.5, QColor("#F7F7F7")},
                 {0.75, QColor("#EF8A62")},
                 {1.0, QColor("#B2182B")}};
    } else {
        // viridis: perceptually uniform, colour-blind safe, dark = dissimilar, bright = redundant.
        stops = {{0.0, QColor("#440154")},   {0.125, QColor("#472D7B")}, {0.25, QColor("#3B528B")},
                 {0.375, QColor("#2C728E")}, {0.5, QColor("#21918C")},   {0.625, QColor("#28AE80")},
                 {0.75, QColor("#5EC962")},  {0.875, QColor("#ADDC30")}, {1.0, QColor("#FDE725")}};
    }
    gradient.setColorStops(stops);
    gradient.setNanHandling(QCPColorGradient::nhNanColor);
    gradient.setNanColor(QColor(200, 200, 200));
    return gradient;
}

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    // No layout: fitSquare() places the plot so that the cells come out square.
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAutoFillBackground(true);  // the margins around the square plot look like part of it
    QPalette background = palette();
    background.setColor(QPalette::Window, Qt::white);
    setPalette(background);
    m_plot->setGeometry(rect());

    m_colorMap = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_colorMap->setInterpolate(false);  // crisp cells: one head pair per cell
    m_colorMap->setTightBoundary(false);
    m_colorScale = new QCPColorScale(m_plot);
    m_colorScale->setBarWidth(14);
    m_plot->plotLayout()->addElement(0, 1, m_colorScale);
    m_colorMap->setColorScale(m_colorScale);
    m_colorMap->setGradient(similarityGradient(m_minimum, m_maximum));
    // The colour bar spans exactly the height of the cells.
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    m_colorScale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

    m_title =
        new QCPTextElement(m_plot, QString(), QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, m_title);
    m_title->setVisible(false);

    m_plot->yAxis->setRangeReversed(true);  // row 0 at the top, as in a matrix
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        axis->grid()->setVisible(false);
        axis->setSubTicks(false);
        axis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    }
    m_plot->installEventFilter(this);
    // A queued replot may lay out new tick labels: refit when they changed the space around the cells.
    connect(m_plot, &QCustomPlot::afterReplot, this, [this] {
        if (!m_fitting && m_laidOut && squarePlotGeometry() != m_plot->geometry())
            QMetaObject::invokeMethod(this, &HeatmapView::fitSquare, Qt::QueuedConnection);
    });
    updateAxisLabels();
    rebuild();
    installSavePlotMenu(
        this, [this](const QString& path, QString* error) { return savePlot(path, error); },
        [this] {
            QString name = QStringLiteral("similarity");
            if (m_layer >= 0) name += QStringLiteral("-layer%1").arg(m_layer);
            if (m_labelled)
                name += m_heads == HeadKind::Key ? QStringLiteral("-keys") : QStringLiteral("-values");
            return name;
        });
}

bool HeatmapView::savePlot(const QString& path, QString* error) {
    // A hidden view may not have fitted its plot yet, and margins settle over replots (the colour bar's margin
    // group follows the previous layout): refit until the cells are square, as they are on screen.
    ensurePolished();
    for (int pass = 0; pass < 4 && !size().isEmpty(); ++pass) {
        m_plot->replot(QCustomPlot::rpImmediateRefresh);
        if (m_laidOut && squarePlotGeometry() == m_plot->geometry()) break;
        fitSquare();
    }
    return dha::ui::savePlot(m_plot, path, error);
}

void HeatmapView::setMatrix(const Matrix& matrix, double minimum, double maximum) {
    m_matrix = matrix;
    if (static_cast<int>(m_matrix.values.size()) != m_matrix.rows * m_matrix.cols) m_matrix = Matrix();
    m_minimum = minimum;
    m_maximum = maximum;
    m_colorMap->setGradient(similarityGradient(minimum, maximum));
    m_colorMap->setDataRange(QCPRange(minimum, maximum));
    rebuild();
}

void HeatmapView::clearMatrix() { setMatrix(Matrix(), m_minimum, m_maximum); }

void HeatmapView::setTitle(const QString& title) {
    m_title->setText(title);
    m_title->setVisible(!title.isEmpty());
    fitSquare();
}

void HeatmapView::setLabel(int layer, HeadKind heads) {
    m_layer = layer;
    m_heads = heads;
    m_labelled = true;
    updateAxisLabels();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setScaleLabel(const QString& label) {
    m_colorScale->setLabel(label);
    fitSquare();
}

void HeatmapView::setGroups(const HeadGroups& groups) {
    m_requestedGroups = groups;
    rebuild();
}

void HeatmapView::setReorderByGroup(bool reorder) {
    m_reorder = reorder;
    rebuild();
}

int HeatmapView::headAt(int index) const {
    if (index < 0 || index >= static_cast<int>(m_order.size())) return -1;
    return m_order[static_cast<size_t>(index)];
}

double HeatmapView::cellValue(int row, int col) const {
    if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols)
        return std::numeric_limits<double>::quiet_NaN();
    return m_colorMap->data()->cell(col, row);
}

QString HeatmapView::headWord(bool plural) const {
    const QString kind = m_heads == HeadKind::Key ? QStringLiteral("key") : QStringLiteral("value");
    return kind + (plural ? QStringLiteral(" heads") : QStringLiteral(" head"));
}

QString HeatmapView::toolTipAt(int row, int col) const {
    if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) return {};
    const double value = cellValue(row, col);
    // Non-square matrices have no head identity per axis; they never come from the engine, but stay readable.
    const int rowHead = m_matrix.rows == m_matrix.cols ? headAt(row) : row;
    const int colHead = m_matrix.rows == m_matrix.cols ? headAt(col) : col;
    QString text = m_layer >= 0 ? QStringLiteral("layer %1, ").arg(m_layer) : QString();
    if (rowHead == colHead)
        text += QStringLiteral("%1 %2 with itself").arg(headWord(false)).arg(rowHead);
    else
        text += QStringLiteral("%1 %2 and %3").arg(headWord(true)).arg(rowHead).arg(colHead);
    text +=
        QStringLiteral(": ") + (std::isnan(value) ? QStringLiteral("n/a") : QString::number(value, 'f', 2));
    if (!m_groupOf.empty() && rowHead != colHead) {
        const QString groupWord = m_heads == HeadKind::Key ? QStringLiteral("key") : QStringLiteral("value");
        const int a = m_groupOf[static_cast<size_t>(rowHead)];
        const int b = m_groupOf[static_cast<size_t>(colHead)];
        text += a == b ? QStringLiteral("\nsame %1 group (%2)").arg(groupWord).arg(a)
                       : QStringLiteral("\n%1 groups %2 and %3").arg(groupWord).arg(a).arg(b);
    }
    return text;
}

bool HeatmapView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_plot && event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        QString text;
        if (m_plot->axisRect()->rect().contains(help->pos())) {
            const int col = static_cast<int>(std::floor(m_plot->xAxis->pixelToCoord(help->pos().x()) + 0.5));
            const int row = static_cast<int>(std::floor(m_plot->yAxis->pixelToCoord(help->pos().y()) + 0.5));
            text = toolTipAt(row, col);
        }
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, m_plot);
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void HeatmapView::updateAxisLabels() {
    const QString what = m_labelled ? headWord(false) : QStringLiteral("head");
    const QString suffix =
        (m_reorder && !m_groups.empty())
            ? QStringLiteral(" (ordered by %1 group)")
                  .arg(m_heads == HeadKind::Key ? QStringLiteral("key") : QStringLiteral("value"))
            : QString();
    m_plot->xAxis->setLabel(what + suffix);
    m_plot->yAxis->setLabel(what + suffix);
}

void HeatmapView::rebuild() {
    const int rows = m_matrix.rows;
    const int cols = m_matrix.cols;
    const bool square = rows == cols;
    m_groups = square && partitionsHeads(m_requestedGroups, rows) ? m_requestedGroups : HeadGroups();

    m_order.resize(static_cast<size_t>(std::max(rows, cols)));
    for (size_t i = 0; i < m_order.size(); ++i) m_order[i] = static_cast<int>(i);
    m_groupOf.assign(m_groups.empty() ? 0 : static_cast<size_t>(rows), 0);
    for (size_t g = 0; g < m_groups.size(); ++g)
        for (int head : m_groups[g]) m_groupOf[static_cast<size_t>(head)] = static_cast<int>(g);
    if (m_reorder && !m_groups.empty()) m_order = groupOrder(m_groups, rows);

    QCPColorMapData* data = m_colorMap->data();
    data->setSize(cols, rows);
    data->setRange(QCPRange(0, std::max(0, cols - 1)), QCPRange(0, std::max(0, rows - 1)));
    for (int row = 0; row < rows; ++row) {
        const int rowHead = square ? m_order[static_cast<size_t>(row)] : row;
        for (int col = 0; col < cols; ++col) {
            const int colHead = square ? m_order[static_cast<size_t>(col)] : col;
            data->setCell(col, row, m_matrix.at(rowHead, colHead));
        }
    }
    m_colorMap->setVisible(rows > 0 && cols > 0);
    m_plot->xAxis->setRange(-0.5, std::max(cols, 1) - 0.5);
    m_plot->yAxis->setRange(-0.5, std::max(rows, 1) - 0.5);

    // Tick labels name the original heads; past 16 heads every other one, so labels never overlap.
    const auto setTicks = [&](QCPAxis* axis, int count) {
        auto ticker = axis->ticker().dynamicCast<QCPAxisTickerText>();
        ticker->clear();
        const int step = count > 16 ? 2 : 1;
        for (int i = 0; i < count; ++i) {
            const bool ordered = m_reorder && !m_groups.empty();
            if (!ordered && i % step != 0) continue;
            ticker->addTick(i, QString::number(square ? m_order[static_cast<size_t>(i)] : i));
        }
        QFont tickFont = font();
        if (count > 16) tickFont.setPointSizeF(tickFont.pointSizeF() * 0.8);
        axis->setTickLabelFont(tickFont);
    };
    setTicks(m_plot->xAxis, cols);
    setTicks(m_plot->yAxis, rows);

    // Group boundaries: for each group, its heads' displayed positions form runs of adjacent indices; the
    // cells where both heads are in the group are the products of those runs (one square block when
    // reordered).
    for (QCPItemRect* item : m_overlay) m_plot->removeItem(item);
    m_overlay.clear();
    m_blocks.clear();
    if (!m_groups.empty()) {
        std::vector<int> position(static_cast<size_t>(rows));
        for (int i = 0; i < rows; ++i) position[static_cast<size_t>(m_order[static_cast<size_t>(i)])] = i;
        for (const std::vector<int>& group : m_groups) {
            std::vector<int> places;
            for (int head : group) places.push_back(position[static_cast<size_t>(head)]);
            std::sort(places.begin(), places.end());
            std::vector<std::pair<int, int>> runs;  // (first, length)
            for (int place : places) {
                if (!runs.empty() && runs.back().first + runs.back().second == place)
                    ++runs.back().second;
                else
                    runs.emplace_back(place, 1);
            }
            for (const auto& rowRun : runs)
                for (const auto& colRun : runs)
                    m_blocks.append(QRect(colRun.first, rowRun.first, colRun.second, rowRun.second));
        }
        // A dark outer and a light inner stroke stay visible on every colour of the map.
        for (const QRect& block : m_blocks) {
            for (int pass = 0; pass < 2; ++pass) {
                auto* item = new QCPItemRect(m_plot);
                item->setClipToAxisRect(true);
                item->topLeft->setCoords(block.x() - 0.5, block.y() - 0.5);
                item->bottomRight->setCoords(block.x() + block.width() - 0.5,
                                             block.y() + block.height() - 0.5);
                item->setPen(pass == 0 ? QPen(kBoundaryDark, 3.5) : QPen(kBoundaryLight, 1.5));
                item->setBrush(Qt::NoBrush);
                item->setSelectable(false);
                m_overlay.push_back(item);
            }
        }
    }
    updateAxisLabels();
    fitSquare();
}

void HeatmapView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitSquare();
}

QRect HeatmapView::squarePlotGeometry() const {
    // The space around the cells (ticks, labels, colour bar, title) hardly depends on the plot's size, so the
    // last layout tells how large the plot must be for square cells.
    const QRect cells = m_plot->axisRect()->rect();
    const int extraWidth = m_laidOut ? m_plot->width() - cells.width() : 120;
    const int extraHeight = m_laidOut ? m_plot->height() - cells.height() : 80;
    const int side = std::max(20, std::min(width() - extraWidth, height() - extraHeight));
    const QSize size(std::min(width(), side + extraWidth), std::min(height(), side + extraHeight));
    // Centred across, at the top: the title stays next to the page's controls.
    return QRect(QPoint((width() - size.width()) / 2, 0), size);
}

void HeatmapView::fitSquare() {
    if (width() <= 0 || height() <= 0 || m_fitting) return;
    m_fitting = true;
    for (int pass = 0; pass < 2; ++pass) {  // the second pass absorbs margins changed by the first
        const QRect target = squarePlotGeometry();
        if (m_laidOut && target == m_plot->geometry()) break;
        m_plot->setGeometry(target);
        // Hidden widgets get their resize event late: set the viewport now so the layout uses the new size.
        m_plot->setViewport(QRect(QPoint(0, 0), target.size()));
        m_plot->replot(QCustomPlot::rpImmediateRefresh);
        m_laidOut = true;
    }
    m_fitting = false;
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace dha::ui
