// RedundancyChart: per layer, the mean similarity between different key heads (blue) and value heads (orange)
// as grouped bars; clicking a layer selects it.
#pragma once

#include <QWidget>

#include <map>

#include "dha/similarity.h"

class QCustomPlot;
class QCPBars;
class QCPItemRect;

namespace dha::ui {

class RedundancyChart : public QWidget {
    Q_OBJECT
public:
    explicit RedundancyChart(QWidget* parent = nullptr);

    void clear();
    // The metric names the axis; numLayers fixes the x range while layers are still arriving.
    void beginAnalysis(SimilarityMetric metric, int numLayers);
    void addLayer(const LayerSimilarity& layer);
    void setReport(const SimilarityReport& report);  // replaces everything
    void setSelectedLayer(int layer);                // shaded band; -1 = none

    // Bar heights as drawn (NaN when the layer has no bar), for tests.
    double keyBar(int layer) const;
    double valueBar(int layer) const;
    int layerCount() const { return static_cast<int>(m_layers.size()); }
    // The layer whose column contains widget pixel `pos`; -1 when none.
    int layerAtPixel(const QPoint& pos) const;
    // Centre of a layer's column in widget pixels (for tests clicking on it).
    QPoint layerCentre(int layer) const;
    QCustomPlot* plot() const { return m_plot; }

    // The chart as .png, .svg or .pdf by the suffix of `path`, at its size on screen; false with *error
    // naming the file. Also offered by the right-click menu.
    bool savePlot(const QString& path, QString* error = nullptr);

Q_SIGNALS:
    void layerClicked(int layer);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void refresh();

    QCustomPlot* m_plot = nullptr;
    QCPBars* m_keyBars = nullptr;
    QCPBars* m_valueBars = nullptr;
    QCPItemRect* m_selection = nullptr;
    SimilarityMetric m_metric = SimilarityMetric::WeightCka;
    int m_numLayers = 0;
    int m_selectedLayer = -1;
    std::map<int, std::pair<double, double>> m_layers;  // layer -> (key mean, value mean)
};

}  // namespace dha::ui
