// LossPlotView: curves, phase marks, overlays, incremental ranges and vector/bitmap export.
#include "views/loss_plot_view.h"

#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "support/plot_export.h"
#include "support/qcustomplot_include.h"

namespace dha::ui {
namespace {

const QColor kBlue("#0072B2");
const QColor kSkyBlue("#56B4E9");
const QColor kVermillion("#D55E00");
const QColor kGreen("#009E73");
// Overlay colours, in order: distinct from the run in focus (blue) and its fusion loss (vermillion); purple
// first, because orange next to vermillion reads as the fusion loss.
const QColor kOverlayColours[] = {QColor("#CC79A7"), QColor("#000000"), QColor("#E69F00"), QColor("#F0E442")};

// "60k", "1.5M": tick labels for token counts.
class CountTicker : public QCPAxisTicker {
protected:
    QString getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) override {
        const double size = std::abs(tick);
        if (size >= 1e9) return QString::number(tick / 1e9, 'g', 3) + "G";
        if (size >= 1e6) return QString::number(tick / 1e6, 'g', 3) + "M";
        if (size >= 1e3) return QString::number(tick / 1e3, 'g', 3) + "k";
        return QCPAxisTicker::getTickLabel(tick, locale, formatChar, precision);
    }
};

QString phaseTitle(const std::string& phase) {
    if (phase == "continued") return QObject::tr("continued pretraining");
    return QString::fromStdString(phase);
}

}  // namespace

void LossPlotView::Bounds::add(double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    if (!any) {
        xMin = xMax = x;
        yMin = yMax = y;
        yMinPositive = y > 0 ? y : 0;
        any = true;
        return;
    }
    xMin = std::min(xMin, x);
    xMax = std::max(xMax, x);
    yMin = std::min(yMin, y);
    yMax = std::max(yMax, y);
    if (y > 0 && (yMinPositive <= 0 || y < yMinPositive)) yMinPositive = y;
}

LossPlotView::LossPlotView(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    setMinimumSize(320, 220);

    QFont labelFont = font();
    labelFont.setPointSizeF(labelFont.pointSizeF() + 0.5);
    m_plot->xAxis->setLabelFont(labelFont);
    m_plot->yAxis->setLabelFont(labelFont);
    m_plot->yAxis2->setLabelFont(labelFont);
    m_plot->yAxis->setLabel(tr("LM loss (nats per token)"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setLabel(tr("fusion loss"));
    for (QCPAxis* axis : {m_plot->yAxis2}) {
        axis->setLabelColor(kVermillion);
        axis->setTickLabelColor(kVermillion);
        axis->setBasePen(QPen(kVermillion));
        axis->setTickPen(QPen(kVermillion));
        axis->setSubTickPen(QPen(kVermillion));
    }
    m_plot->xAxis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::DotLine));
    m_plot->yAxis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::DotLine));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

    m_raw = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    QColor light = kSkyBlue;
    light.setAlpha(150);
    m_raw->setPen(QPen(light, 1.0));
    m_smoothed = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    m_smoothed->setPen(QPen(kBlue, 2.5));
    m_fusion = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    m_fusion->setPen(QPen(kVermillion, 1.8));
    m_heldOut = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    m_heldOut->setLineStyle(QCPGraph::lsNone);
    m_heldOut->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kGreen, 1.5), QBrush(kGreen), 10));
    for (QCPGraph* graph : {m_raw, m_smoothed, m_fusion, m_heldOut}) graph->setAdaptiveSampling(true);

    m_plot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(std::max(7.0, legendFont.pointSizeF() - 0.5));
    m_plot->legend->setFont(legendFont);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setBorderPen(Qt::NoPen);
    // Below the axes, in columns: inside the axis rect it would hide the curves it explains.
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* legendRow = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(1, 0, legendRow);
    legendRow->setMargins(QMargins(8, 0, 8, 4));
    legendRow->addElement(0, 0, m_plot->legend);
    // A grid column is capped at the smallest maximum width in it, and a legend's maximum is its contents:
    // alone, a one-entry (or empty) legend would squeeze the axis rect above it to its own width. The
    // spacer beside it has no maximum, so the row, and with it the axis rect, can use the whole width.
    legendRow->addElement(0, 1, new QCPLayoutElement(m_plot));
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_plot->legend->setWrap(3);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);

    m_placeholder = new QCPItemText(m_plot);
    m_placeholder->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_placeholder->position->setCoords(0.5, 0.45);
    m_placeholder->setText(tr("No run yet.\nStart a conversion, or select a run in the list to see its curves."));
    m_placeholder->setColor(QColor(90, 90, 90));
    m_placeholder->setTextAlignment(Qt::AlignCenter);
    m_placeholder->setClipToAxisRect(false);

    setXAxis(XAxis::Steps);
    updateLegend();
    updatePlaceholder();
    installSavePlotMenu(
        this, [this](const QString& path, QString* error) { return savePlot(path, error); },
        [this] {
            return m_name.isEmpty() ? QStringLiteral("training-curves") : m_name + QStringLiteral("-loss");
        });
    m_plot->replot();
}

bool LossPlotView::isEmpty() const {
    if (!m_events.empty() || !m_validations.empty()) return false;
    return m_overlays.empty();
}

double LossPlotView::xOf(int64_t step, int64_t tokens) const {
    return static_cast<double>(m_xAxis == XAxis::Steps ? step : tokens);
}

void LossPlotView::addPhaseMark(double x, const std::string& phase, bool boundary) {
    if (boundary) {
        auto* line = new QCPItemStraightLine(m_plot);
        line->point1->setCoords(x, 0);
        line->point2->setCoords(x, 1);
        line->setPen(QPen(QColor(0, 0, 0, 90), 1, Qt::DashLine));
        m_phaseItems.push_back(line);
    }
    auto* label = new QCPItemText(m_plot);
    label->position->setTypeX(QCPItemPosition::ptPlotCoords);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(x, 0.0);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setPadding(QMargins(4, 3, 4, 2));
    label->setText(phaseTitle(phase));
    label->setColor(QColor(70, 70, 70));
    QFont small = font();
    small.setPointSizeF(std::max(7.0, small.pointSizeF() - 1));
    small.setItalic(true);
    label->setFont(small);
    m_phaseItems.push_back(label);
}

void LossPlotView::addStep(const LossEvent& event) {
    const double x = xOf(event.step, event.tokens);
    if (event.phase != m_lastPhase) {
        // The boundary sits where the previous phase ended (its last step), so each label starts its phase.
        const bool boundary = !m_events.empty();
        const double at = boundary ? xOf(m_events.back().step, m_events.back().tokens) : x;
        addPhaseMark(at, event.phase, boundary);
        m_lastPhase = event.phase;
    }
    m_events.push_back(event);
    const double smoothed = m_smoother.add(event.phase, event.lmLoss);
    m_raw->addData(x, event.lmLoss);
    m_smoothed->addData(x, smoothed);
    m_loss.add(x, event.lmLoss);
    if (event.phase == "fusion") {
        m_fusion->addData(x, event.fusionLoss);
        m_fusionBounds.add(x, event.fusionLoss);
    }
}

void LossPlotView::append(const QVector<LossEvent>& events) {
    if (events.isEmpty()) return;
    for (const LossEvent& event : events) addStep(event);
    updateRanges();
    updateLegend();  // a handful of items; the first fusion step adds the fusion loss entry
    updatePlaceholder();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlotView::addValidation(const ValidationEvent& event, const QString& model) {
    m_validations.emplace_back(event, model);
    const double x = xOf(event.step, event.tokens);
    m_heldOut->addData(x, event.loss);
    m_loss.add(x, event.loss);
    updateRanges();
    updateLegend();
    updatePlaceholder();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlotView::setHistory(const RunHistory& history, const QString& name) {
    m_name = name;
    m_events = history.losses;
    m_validations.clear();
    for (size_t i = 0; i < history.validations.size(); ++i) {
        const QString model = i < history.validationModels.size()
                                  ? QString::fromStdString(history.validationModels[i]) : QString();
        m_validations.emplace_back(history.validations[i], model);
    }
    rebuild();
}

void LossPlotView::clear() { setHistory({}, {}); }

QColor LossPlotView::addOverlay(const QString& name, const RunHistory& history) {
    removeOverlay(name);
    QColor colour = kOverlayColours[0];
    for (const QColor& candidate : kOverlayColours) {
        const bool used = std::any_of(m_overlays.begin(), m_overlays.end(),
                                      [&](const Overlay& overlay) { return overlay.colour == candidate; });
        if (!used) {
            colour = candidate;
            break;
        }
    }
    Overlay overlay{name, history, colour};
    overlay.smoothed = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    overlay.smoothed->setPen(QPen(colour, 2.2));
    overlay.smoothed->setName(name);
    overlay.smoothed->setAdaptiveSampling(true);
    overlay.heldOut = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    overlay.heldOut->setLineStyle(QCPGraph::lsNone);
    overlay.heldOut->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(colour, 1.5), QBrush(Qt::white), 9));
    overlay.heldOut->removeFromLegend();
    m_overlays.push_back(std::move(overlay));
    rebuild();
    return colour;
}

void LossPlotView::removeOverlay(const QString& name) {
    const auto it = std::find_if(m_overlays.begin(), m_overlays.end(),
                                 [&](const Overlay& overlay) { return overlay.name == name; });
    if (it == m_overlays.end()) return;
    m_plot->removeGraph(it->smoothed);
    m_plot->removeGraph(it->heldOut);
    m_overlays.erase(it);
    rebuild();
}

void LossPlotView::clearOverlays() {
    for (const Overlay& overlay : m_overlays) {
        m_plot->removeGraph(overlay.smoothed);
        m_plot->removeGraph(overlay.heldOut);
    }
    m_overlays.clear();
    rebuild();
}

QStringList LossPlotView::overlayNames() const {
    QStringList names;
    for (const Overlay& overlay : m_overlays) names << overlay.name;
    return names;
}

QCPGraph* LossPlotView::overlayGraph(const QString& name) const {
    for (const Overlay& overlay : m_overlays)
        if (overlay.name == name) return overlay.smoothed;
    return nullptr;
}

void LossPlotView::fillOverlay(Overlay& overlay) {
    LossSmoother smoother(m_smoother.span());
    QVector<double> xs, ys;
    xs.reserve(static_cast<int>(overlay.history.losses.size()));
    ys.reserve(xs.capacity());
    for (const LossEvent& event : overlay.history.losses) {
        const double x = xOf(event.step, event.tokens);
        xs << x;
        ys << smoother.add(event.phase, event.lmLoss);
        m_loss.add(x, ys.back());
    }
    overlay.smoothed->setData(xs, ys, /*alreadySorted=*/true);
    overlay.heldOut->data()->clear();
    for (const ValidationEvent& event : overlay.history.validations) {
        const double x = xOf(event.step, event.tokens);
        overlay.heldOut->addData(x, event.loss);
        m_loss.add(x, event.loss);
    }
}

void LossPlotView::rebuild() {
    for (QCPAbstractItem* item : m_phaseItems) m_plot->removeItem(item);
    m_phaseItems.clear();
    for (QCPGraph* graph : {m_raw, m_smoothed, m_fusion, m_heldOut}) graph->data()->clear();
    m_loss = {};
    m_fusionBounds = {};
    m_smoother.reset();
    m_lastPhase.clear();
    const std::vector<LossEvent> events = std::move(m_events);
    m_events.clear();
    m_events.reserve(events.size());
    for (const LossEvent& event : events) addStep(event);
    for (const auto& [event, model] : m_validations) {
        const double x = xOf(event.step, event.tokens);
        m_heldOut->addData(x, event.loss);
        m_loss.add(x, event.loss);
    }
    for (Overlay& overlay : m_overlays) fillOverlay(overlay);
    updateRanges();
    updateLegend();
    updatePlaceholder();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlotView::updateRanges() {
    // Bounds are kept as data arrives, so a live append never scans the curves.
    const auto span = [&](const Bounds& bounds, QCPAxis* axis) {
        if (!bounds.any) {
            axis->setRange(m_logScale ? QCPRange(0.1, 10) : QCPRange(0, 1));
            return;
        }
        if (m_logScale) {
            const double low = bounds.yMinPositive > 0 ? bounds.yMinPositive : 1e-3;
            const double high = std::max(bounds.yMax, low * 10);
            axis->setRange(low / 1.15, high * 1.15);
        } else {
            const double pad = std::max(1e-9, (bounds.yMax - bounds.yMin) * 0.06);
            // Losses are never negative: don't pad below 0.
            const double low = bounds.yMin >= 0 ? std::max(0.0, bounds.yMin - pad) : bounds.yMin - pad;
            axis->setRange(low, bounds.yMax + pad);
        }
    };
    span(m_loss, m_plot->yAxis);
    span(m_fusionBounds, m_plot->yAxis2);
    Bounds x = m_loss;
    if (m_fusionBounds.any) x.add(m_fusionBounds.xMax, m_fusionBounds.yMax);
    if (x.any) {
        const double width = std::max(1.0, x.xMax - std::min(0.0, x.xMin));
        // A little room on both sides, so markers at the first and last step are drawn whole.
        m_plot->xAxis->setRange(std::min(0.0, x.xMin) - width * 0.015, x.xMax + width * 0.02);
    } else {
        m_plot->xAxis->setRange(0, m_xAxis == XAxis::Steps ? 100 : 100000);
    }
}

void LossPlotView::updateLegend() {
    const QString prefix = m_name.isEmpty() ? QString() : m_name + ": ";
    m_raw->setName(prefix + tr("LM loss"));
    m_smoothed->setName(prefix + tr("LM loss, moving average of %1 steps").arg(m_smoother.span()));
    m_fusion->setName(tr("fusion loss (right axis)"));
    m_heldOut->setName(tr("held-out loss"));
    m_smoothed->setVisible(m_showSmoothed);
    // Only the curves that have data get a legend entry.
    const auto show = [](QCPGraph* graph, bool on) {
        if (on) graph->addToLegend();
        else graph->removeFromLegend();
    };
    show(m_raw, !m_events.empty());
    show(m_smoothed, !m_events.empty() && m_showSmoothed);
    show(m_fusion, m_fusionBounds.any);
    show(m_heldOut, !m_validations.empty());
    for (const Overlay& overlay : m_overlays) {
        overlay.smoothed->setName(overlay.name);
        show(overlay.smoothed, true);
        overlay.heldOut->removeFromLegend();
    }
    m_plot->legend->setVisible(m_plot->legend->itemCount() > 0);
}

void LossPlotView::updatePlaceholder() {
    const bool empty = isEmpty();
    m_placeholder->setVisible(empty);
    m_plot->yAxis2->setVisible(!empty && m_fusionBounds.any);
}

void LossPlotView::setXAxis(XAxis axis) {
    m_xAxis = axis;
    if (axis == XAxis::Steps) {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        m_plot->xAxis->setLabel(tr("optimizer step"));
    } else {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new CountTicker));
        m_plot->xAxis->setLabel(tr("training tokens"));
    }
    rebuild();
}

void LossPlotView::setLogScale(bool on) {
    m_logScale = on;
    for (QCPAxis* axis : {m_plot->yAxis, m_plot->yAxis2}) {
        axis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (on) {
            axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
            axis->setNumberFormat("gb");
            axis->setNumberPrecision(2);
        } else {
            axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
            axis->setNumberFormat("g");
            axis->setNumberPrecision(6);
        }
    }
    updateRanges();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlotView::setShowSmoothed(bool on) {
    m_showSmoothed = on;
    updateLegend();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlotView::setSmoothingSpan(int span) {
    m_smoother.setSpan(span);
    rebuild();
}

bool LossPlotView::savePlot(const QString& path, QString* error, QSize size) {
    return dha::ui::savePlot(m_plot, path, error, size);
}

bool LossPlotView::savePng(const QString& path, QString* error, QSize size) {
    return savePlotAs(m_plot, PlotFormat::Png, path, error, size);
}

bool LossPlotView::saveSvg(const QString& path, QString* error, QSize size) {
    return savePlotAs(m_plot, PlotFormat::Svg, path, error, size);
}

bool LossPlotView::savePdf(const QString& path, QString* error, QSize size) {
    return savePlotAs(m_plot, PlotFormat::Pdf, path, error, size);
}

}  // namespace dha::ui
