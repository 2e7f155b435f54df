// KvAllocationChart: two QCPBars in one QCPBarsGroup (keys left, values right of each layer's tick) and a
// dashed QCPGraph for the uniform GQA count; the legend sits in its own row above the axes so bars at H never
// hide under it.
#include "views/kv_allocation_chart.h"

#include <QVBoxLayout>

#include "support/plot_export.h"
#include "support/qcustomplot_include.h"
#include "support/palette.h"

namespace dha::ui {
namespace {

// Okabe-Ito: keys blue, values orange (the app's K/V colours), the GQA reference in near-black.
const QColor kKeyColour = palette::key();
const QColor kValueColour = palette::value();
const QColor kGqaColour(0x33, 0x33, 0x33);
constexpr int kLegendIndent = 40;  // roughly the y axis' width, so the legend starts over the plot

QSharedPointer<QCPAxisTickerFixed> integerTicker() {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);  // 1, 2, 5, 10 ... as layers grow
    return ticker;
}

QCPBars* makeBars(QCustomPlot* plot, const QColor& colour, const QString& name) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(name);
    bars->setPen(QPen(colour.darker(130), 1.0));
    bars->setBrush(colour);
    bars->setWidth(0.38);
    return bars;
}

}  // namespace

KvAllocationChart::KvAllocationChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    setMinimumSize(360, 220);

    QFont font = m_plot->font();
    font.setPointSizeF(9.5);
    m_plot->setFont(font);
    m_plot->xAxis->setLabelFont(font);
    m_plot->yAxis->setLabelFont(font);
    m_plot->xAxis->setTickLabelFont(font);
    m_plot->yAxis->setTickLabelFont(font);
    m_plot->xAxis->setLabel(tr("layer"));
    m_plot->yAxis->setLabel(tr("heads kept"));
    m_plot->xAxis->setTicker(integerTicker());
    m_plot->yAxis->setTicker(integerTicker());
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 1.0, Qt::SolidLine));

    m_keyBars = makeBars(m_plot, kKeyColour, tr("key heads"));
    m_valueBars = makeBars(m_plot, kValueColour, tr("value heads"));
    auto* group = new QCPBarsGroup(m_plot);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(1.0);
    m_keyBars->setBarsGroup(group);
    m_valueBars->setBarsGroup(group);

    m_gqaLine = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    m_gqaLine->setPen(QPen(kGqaColour, 1.6, Qt::DashLine));
    m_gqaLine->setName(tr("uniform GQA baseline"));

    // Legend in a row of its own above the axis rect, laid out in one line.
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_plot->legend->setWrap(4);
    // A near-zero stretch keeps the legend's column at its natural width, left-aligned, the spacer taking the
    // rest.
    m_plot->plotLayout()->insertRow(0);
    auto* legendRow = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 0, legendRow);
    legendRow->addElement(0, 0, m_plot->legend);
    legendRow->addElement(0, 1, new QCPLayoutElement(m_plot));
    legendRow->setColumnStretchFactor(0, 0.001);
    legendRow->setMargins(QMargins(kLegendIndent, 0, 0, 0));
    m_plot->plotLayout()->setRowStretchFactor(0, 0.001);
    m_plot->legend->setMargins(QMargins(4, 2, 4, 0));

    installSavePlotMenu(
        this, [this](const QString& path, QString* error) { return savePlot(path, error); },
        QStringLiteral("kv-allocation"));
    clear();
}

bool KvAllocationChart::savePlot(const QString& path, QString* error) {
    if (!isVisible()) layout()->activate();  // a hidden chart's plot gets its size on the next layout pass
    fitLegend();
    return dha::ui::savePlot(m_plot, path, error);
}

void KvAllocationChart::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitLegend();
}

// The legend on one line when it fits above the axes, else on two: a squeezed legend clips its texts, on
// screen and in saved plots alike.
void KvAllocationChart::fitLegend() {
    QCPLegend* legend = m_plot->legend;
    int needed = kLegendIndent + legend->margins().left() + legend->margins().right();
    bool first = true;
    for (int i = 0; i < legend->itemCount(); ++i) {  // counts the grid's cells, empty ones included
        if (QCPAbstractLegendItem* item = legend->item(i)) {
            needed += item->minimumOuterSizeHint().width() + (first ? 0 : legend->columnSpacing());
            first = false;
        }
    }
    // Too wide: key and value heads stacked in the first column, the GQA entry beside them.
    const bool oneLine = needed <= m_plot->width();
    const auto order = oneLine ? QCPLayoutGrid::foColumnsFirst : QCPLayoutGrid::foRowsFirst;
    const int wrap = oneLine ? 4 : 2;
    if (legend->wrap() == wrap && legend->fillOrder() == order) return;
    legend->setWrap(wrap);
    legend->setFillOrder(order, /*rearrange=*/true);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void KvAllocationChart::clear() {
    m_keyCounts.clear();
    m_valueCounts.clear();
    m_gqaGroups = 0;
    m_keyBars->data()->clear();
    m_valueBars->data()->clear();
    m_gqaLine->data()->clear();
    m_gqaLine->removeFromLegend();
    fitLegend();
    m_plot->xAxis->setRange(-0.5, 0.5);
    m_plot->yAxis->setRange(0, 1);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void KvAllocationChart::setPlan(const Plan& plan, int gqaGroups) {
    const int layers = plan.numLayers();
    if (layers == 0) {
        clear();
        return;
    }
    QVector<double> positions;
    m_keyCounts.clear();
    m_valueCounts.clear();
    for (int layer = 0; layer < layers; ++layer) {
        positions << layer;
        m_keyCounts << plan.layers[static_cast<size_t>(layer)].numKeyHeads();
        m_valueCounts << plan.layers[static_cast<size_t>(layer)].numValueHeads();
    }
    m_keyBars->setData(positions, m_keyCounts, true);
    m_valueBars->setData(positions, m_valueCounts, true);

    m_gqaGroups = gqaGroups;
    m_gqaLine->data()->clear();
    if (gqaGroups > 0) {
        m_gqaLine->setData({-0.5, layers - 0.5}, {double(gqaGroups), double(gqaGroups)}, true);
        m_gqaLine->setName(tr("uniform GQA baseline: %1 key + %1 value heads per layer").arg(gqaGroups));
        m_gqaLine->addToLegend();
    } else {
        m_gqaLine->removeFromLegend();
    }
    fitLegend();

    m_plot->xAxis->setRange(-0.6, layers - 0.4);
    // 0..H with a sliver of headroom so a full-height bar's outline is not cut by the axis rect.
    m_plot->yAxis->setRange(0, plan.sourceHeads + 0.25);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int KvAllocationChart::keyHeads(int layer) const { return barValue(m_keyBars, layer); }

int KvAllocationChart::valueHeads(int layer) const { return barValue(m_valueBars, layer); }

// Reads the bar container itself, so tests check what is drawn rather than what was asked for.
int KvAllocationChart::barValue(const QCPBars* bars, int layer) {
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
        if (static_cast<int>(it->key) == layer) return static_cast<int>(it->value);
    }
    return -1;
}

}  // namespace dha::ui
