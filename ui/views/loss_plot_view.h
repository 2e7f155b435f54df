// The training curves of a run on a QCustomPlot: LM loss raw (thin, light) and smoothed (thick), the fusion
// loss on a right-hand axis, held-out losses as markers, phase boundaries, and other runs (e.g. the GQA
// baseline) overlaid in their own colours. Appends live batches cheaply; saves as PNG, SVG or PDF.
#pragma once

#include <QColor>
#include <QString>
#include <QVector>
#include <QWidget>

#include <vector>

#include "dha/job.h"
#include "dha/run_history.h"
#include "models/loss_history_model.h"

class QCustomPlot;
class QCPGraph;
class QCPAbstractItem;
class QCPItemText;

namespace dha::ui {

class LossPlotView : public QWidget {
    Q_OBJECT
public:
    enum class XAxis { Steps, Tokens };

    explicit LossPlotView(QWidget* parent = nullptr);

    // The run in focus (its curves replace the previous run's; overlays stay). `name` labels the legend.
    void setHistory(const RunHistory& history, const QString& name = {});
    void clear();  // the run in focus; overlays stay
    // Live: adds the steps to the curves (addData and a queued replot, no rebuild).
    void append(const QVector<LossEvent>& events);
    // A held-out measurement of the run in focus; `model` is "source", "fused", "collapsed", ... or empty.
    void addValidation(const ValidationEvent& event, const QString& model = {});

    // Another run's smoothed LM loss and held-out losses, in the next free Okabe-Ito colour, with a legend
    // entry; a second overlay of the same name replaces the first. Returns its colour.
    QColor addOverlay(const QString& name, const RunHistory& history);
    void removeOverlay(const QString& name);
    void clearOverlays();
    QStringList overlayNames() const;

    void setXAxis(XAxis axis);
    XAxis xAxis() const { return m_xAxis; }
    void setLogScale(bool on);  // both loss axes
    bool logScale() const { return m_logScale; }
    void setShowSmoothed(bool on);
    bool showSmoothed() const { return m_showSmoothed; }
    void setSmoothingSpan(int span);
    int smoothingSpan() const { return m_smoother.span(); }

    // Render at the widget's size (or `size` when valid): savePlot() picks the format from the suffix (.png,
    // .svg, .pdf), the others write their format whatever the suffix. False with *error naming the file on
    // failure; each write is atomic (a temporary file renamed into place). See support/plot_export.h.
    bool savePlot(const QString& path, QString* error = nullptr, QSize size = {});
    bool savePng(const QString& path, QString* error = nullptr, QSize size = {});
    bool saveSvg(const QString& path, QString* error = nullptr, QSize size = {});
    bool savePdf(const QString& path, QString* error = nullptr, QSize size = {});

    // For tests and the page.
    QCustomPlot* plot() const { return m_plot; }
    QCPGraph* rawGraph() const { return m_raw; }
    QCPGraph* smoothedGraph() const { return m_smoothed; }
    QCPGraph* fusionGraph() const { return m_fusion; }
    QCPGraph* heldOutGraph() const { return m_heldOut; }
    QCPGraph* overlayGraph(const QString& name) const;
    int stepCount() const { return static_cast<int>(m_events.size()); }
    bool isEmpty() const;

private:
    struct Overlay {
        QString name;
        RunHistory history;
        QColor colour;
        QCPGraph* smoothed = nullptr;
        QCPGraph* heldOut = nullptr;
    };
    struct Bounds {
        double xMin = 0, xMax = 0, yMin = 0, yMax = 0, yMinPositive = 0;
        bool any = false;
        void add(double x, double y);
    };

    double xOf(int64_t step, int64_t tokens) const;
    void addStep(const LossEvent& event);        // curves, bounds and phase marks of one step
    void addPhaseMark(double x, const std::string& phase, bool boundary);
    void rebuild();                               // every curve from the stored events (axis or span change)
    void fillOverlay(Overlay& overlay);
    void updateRanges();
    void updateLegend();
    void updatePlaceholder();

    QCustomPlot* m_plot = nullptr;
    QCPGraph* m_raw = nullptr;
    QCPGraph* m_smoothed = nullptr;
    QCPGraph* m_fusion = nullptr;
    QCPGraph* m_heldOut = nullptr;
    QCPItemText* m_placeholder = nullptr;
    std::vector<QCPAbstractItem*> m_phaseItems;
    std::vector<Overlay> m_overlays;

    QString m_name;
    std::vector<LossEvent> m_events;
    std::vector<std::pair<ValidationEvent, QString>> m_validations;
    LossSmoother m_smoother;
    std::string m_lastPhase;
    Bounds m_loss;    // left axis: LM losses and held-out losses of every run shown
    Bounds m_fusionBounds;
    XAxis m_xAxis = XAxis::Steps;
    bool m_logScale = false;
    bool m_showSmoothed = true;
};

}  // namespace dha::ui
