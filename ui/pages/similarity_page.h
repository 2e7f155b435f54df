// SimilarityPage: how similar each layer's key heads and value heads are (heatmaps of the selected layer,
// small multiples of all layers, a redundancy bar chart and table), with the plan's groups drawn over them.
#pragma once

#include <QWidget>

#include "dha/plan.h"
#include "dha/similarity.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace dha::ui {

class HeatmapView;
class RedundancyChart;
class SimilarityModel;
class SimilarityOverview;

class SimilarityPage : public QWidget {
    Q_OBJECT
public:
    explicit SimilarityPage(QWidget* parent = nullptr);

    void clear();  // no model: placeholder text
    void beginAnalysis(SimilarityMetric metric, int numLayers);
    // Heatmaps appear as layers arrive. An event before any beginAnalysis() starts one; an event of another
    // metric than the running analysis (a late event of a cancelled one) is ignored.
    void addLayer(const SimilarityEvent& event);
    void setReport(const SimilarityReport& report);  // the finished analysis (replaces everything)
    void setPlan(const Plan& plan);                  // groups for the overlay; an empty Plan = none

    int selectedLayer() const { return m_selectedLayer; }
    void selectLayer(int layer);  // ignored for a layer that has not been analysed
    SimilarityMetric metric() const { return m_report.metric; }
    const SimilarityReport& report() const { return m_report; }
    SimilarityModel* model() { return m_model; }
    HeatmapView* keyView() { return m_keyView; }
    HeatmapView* valueView() { return m_valueView; }
    SimilarityOverview* overview() { return m_overview; }
    RedundancyChart* redundancyChart() { return m_chart; }
    bool showsPlaceholder() const;

Q_SIGNALS:
    void metricRequested(dha::SimilarityMetric metric);  // user picked another metric
    void layerSelected(int layer);

private:
    void onMetricIndexChanged(int index);
    void showMetric(SimilarityMetric metric);  // combo without emitting
    void refreshHeatmaps();
    void refreshLayerRange();
    void refreshStatus();
    void syncSelectionWidgets();
    const LayerSimilarity* findLayer(int layer) const;

    SimilarityReport m_report;
    Plan m_plan;
    int m_numLayers = 0;  // announced by beginAnalysis
    int m_selectedLayer = -1;
    bool m_active = false;     // an analysis was begun or a report set
    bool m_analysing = false;  // begun and not finished

    QComboBox* m_metricCombo = nullptr;
    QSpinBox* m_layerSpin = nullptr;
    QLabel* m_layerCountLabel = nullptr;
    QCheckBox* m_showGroups = nullptr;
    QLabel* m_statusLabel = nullptr;
    QStackedWidget* m_stack = nullptr;
    QLabel* m_placeholder = nullptr;
    HeatmapView* m_keyView = nullptr;
    HeatmapView* m_valueView = nullptr;
    SimilarityOverview* m_overview = nullptr;
    RedundancyChart* m_chart = nullptr;
    SimilarityModel* m_model = nullptr;
    QTableView* m_table = nullptr;
};

}  // namespace dha::ui
