// RedundancyChart: two QCPBars in a QCPBarsGroup, x = layer; a click anywhere in a layer's column selects it
// (bars can be short, so the whole column is the target).
#include "views/redundancy_chart.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/similarity_model.h"
#include "support/plot_export.h"
#include "support/qcustomplot_include.h"
#include "support/palette.h"

namespace dha::ui {

namespace {

const QColor kKeyColor = palette::key();
const QColor kValueColor = palette::value();

}  // namespace

RedundancyChart::RedundancyChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);

    auto* group = new QCPBarsGroup(m_plot);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(1);
    m_keyBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_valueBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    const std::pair<QCPBars*, QColor> styles[] = {{m_keyBars, kKeyColor}, {m_valueBars, kValueColor}};
    for (const auto& [bars, colour] : styles) {
        bars->setWidth(0.38);
        bars->setPen(Qt::NoPen);
        bars->setBrush(colour);
        bars->setBarsGroup(group);
        bars->setSelectable(QCP::stNone);
    }
    m_keyBars->setName(tr("key heads"));
    m_valueBars->setName(tr("value heads"));

    m_selection = new QCPItemRect(m_plot);
    m_selection->setLayer(QStringLiteral("grid"));  // behind the bars
    m_selection->setPen(Qt::NoPen);
    m_selection->setBrush(QColor(0, 0, 0, 28));
    m_selection->setClipToAxisRect(true);
    m_selection->setVisible(false);
    m_selection->setSelectable(false);
    // x in layers, y from the top to the bottom of the axis rect whatever the value range.
    m_selection->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_selection->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);

    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setSubTicks(false);
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->xAxis->setLabel(tr("layer"));
    m_plot->yAxis->grid()->setSubGridVisible(false);

    // The legend sits in its own row above the axes, so it never hides a bar.
    m_plot->legend->setVisible(true);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_plot->legend->setMargins(QMargins(0, 0, 0, 0));
    m_plot->plotLayout()->insertRow(0);
    auto* legendRow = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 0, legendRow);
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    legendRow->addElement(0, 0, m_plot->legend);
    legendRow->addElement(0, 1, new QCPLayoutElement(m_plot));  // takes the rest: the legend stays compact
    legendRow->setColumnStretchFactor(0, 0.001);
    legendRow->setMargins(QMargins(0, 4, 0, 0));
    m_plot->plotLayout()->setRowStretchFactor(0, 0.001);

    m_plot->installEventFilter(this);
    m_plot->setCursor(Qt::PointingHandCursor);
    installSavePlotMenu(
        this, [this](const QString& path, QString* error) { return savePlot(path, error); },
        QStringLiteral("head-redundancy"));
    refresh();
}

bool RedundancyChart::savePlot(const QString& path, QString* error) {
    return dha::ui::savePlot(m_plot, path, error);
}

void RedundancyChart::clear() {
    m_layers.clear();
    m_numLayers = 0;
    m_selectedLayer = -1;
    refresh();
}

void RedundancyChart::beginAnalysis(SimilarityMetric metric, int numLayers) {
    m_layers.clear();
    m_metric = metric;
    m_numLayers = std::max(0, numLayers);
    refresh();
}

void RedundancyChart::addLayer(const LayerSimilarity& layer) {
    m_layers[layer.layer] = {layer.keySummary.meanOffDiagonal, layer.valueSummary.meanOffDiagonal};
    refresh();
}

void RedundancyChart::setReport(const SimilarityReport& report) {
    m_layers.clear();
    m_metric = report.metric;
    m_numLayers = static_cast<int>(report.layers.size());
    for (const LayerSimilarity& layer : report.layers)
        m_layers[layer.layer] = {layer.keySummary.meanOffDiagonal, layer.valueSummary.meanOffDiagonal};
    refresh();
}

void RedundancyChart::setSelectedLayer(int layer) {
    m_selectedLayer = layer;
    refresh();
}

double RedundancyChart::keyBar(int layer) const {
    const auto found = m_layers.find(layer);
    return found == m_layers.end() ? std::numeric_limits<double>::quiet_NaN() : found->second.first;
}

double RedundancyChart::valueBar(int layer) const {
    const auto found = m_layers.find(layer);
    return found == m_layers.end() ? std::numeric_limits<double>::quiet_NaN() : found->second.second;
}

int RedundancyChart::layerAtPixel(const QPoint& pos) const {
    if (!m_plot->axisRect()->rect().contains(pos)) return -1;
    const int layer = static_cast<int>(std::floor(m_plot->xAxis->pixelToCoord(pos.x()) + 0.5));
    return m_layers.count(layer) ? layer : -1;
}

QPoint RedundancyChart::layerCentre(int layer) const {
    const QRect rect = m_plot->axisRect()->rect();
    return QPoint(static_cast<int>(std::lround(m_plot->xAxis->coordToPixel(layer))), rect.center().y());
}

bool RedundancyChart::eventFilter(QObject* watched, QEvent* event) {
    // QCustomPlot replots on every resize, also to an empty size (a hidden page's splitter squeezes this chart
    // to 0 pixels high until it is shown), and that replot paints into a null buffer with a warning per layer.
    // Skip it: the viewport keeps its last size and the next real resize replots.
    if (watched == m_plot && event->type() == QEvent::Resize && static_cast<QResizeEvent*>(event)->size().isEmpty())
        return true;
    if (watched == m_plot && event->type() == QEvent::MouseButtonPress) {
        auto* mouse = static_cast<QMouseEvent*>(event);
        const int layer = mouse->button() == Qt::LeftButton ? layerAtPixel(mouse->position().toPoint()) : -1;
        if (layer >= 0) Q_EMIT layerClicked(layer);
    } else if (watched == m_plot && event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int layer = layerAtPixel(help->pos());
        if (layer < 0) {
            QToolTip::hideText();
        } else {
            const auto& [key, value] = m_layers.at(layer);
            QToolTip::showText(
                help->globalPos(),
                tr("layer %1: mean similarity of key heads %2, of value heads %3\nclick to show "
                   "its heatmaps")
                    .arg(layer)
                    .arg(key, 0, 'f', 2)
                    .arg(value, 0, 'f', 2),
                m_plot);
        }
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void RedundancyChart::refresh() {
    QVector<double> layers;
    QVector<double> keys;
    QVector<double> values;
    double lowest = 0.0;
    double highest = 0.0;
    for (const auto& [layer, means] : m_layers) {
        layers.append(layer);
        keys.append(means.first);
        values.append(means.second);
        lowest = std::min({lowest, means.first, means.second});
        highest = std::max({highest, means.first, means.second});
    }
    m_keyBars->setData(layers, keys, true);
    m_valueBars->setData(layers, values, true);

    const int lastLayer = std::max(m_numLayers, m_layers.empty() ? 0 : m_layers.rbegin()->first + 1);
    m_plot->xAxis->setRange(-0.6, std::max(lastLayer, 1) - 0.4);
    // CKA lies in [0, 1]: a fixed axis compares reports. Cosine can be negative and is usually small, so its
    // axis follows the data (always including 0).
    const auto [minimum, maximum] = similarityRange(m_metric);
    if (minimum >= 0.0) {
        m_plot->yAxis->setRange(minimum, maximum);
    } else {
        const double pad = 0.08 * std::max(0.1, highest - lowest);
        m_plot->yAxis->setRange(std::max(minimum, lowest - (lowest < 0 ? pad : 0.0)),
                                std::min(maximum, highest + pad));
    }
    m_plot->yAxis->setLabel(tr("mean off-diagonal %1").arg(similarityMetricLabel(m_metric)));

    m_selection->setVisible(m_selectedLayer >= 0 && m_layers.count(m_selectedLayer));
    m_selection->topLeft->setCoords(m_selectedLayer - 0.5, 0.0);
    m_selection->bottomRight->setCoords(m_selectedLayer + 0.5, 1.0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace dha::ui
