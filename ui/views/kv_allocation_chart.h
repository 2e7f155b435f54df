// KvAllocationChart: per layer, the key heads (blue) and value heads (orange) a plan keeps, side by side,
// with a dashed line at the uniform GQA count of the same KV cost (like the paper's Figure 5).
#pragma once

#include <QVector>
#include <QWidget>

#include "dha/plan.h"

class QCustomPlot;
class QCPBars;
class QCPGraph;

namespace dha::ui {

class KvAllocationChart : public QWidget {
    Q_OBJECT
public:
    explicit KvAllocationChart(QWidget* parent = nullptr);

    // Bars of `plan`; gqaGroups > 0 draws the uniform GQA line at that many heads per layer.
    void setPlan(const Plan& plan, int gqaGroups);
    void clear();

    // What is on screen, for tests: -1 when the layer has no bar; gqaLevel() 0 when no line is drawn.
    int keyHeads(int layer) const;
    int valueHeads(int layer) const;
    int gqaLevel() const { return m_gqaGroups; }
    QCustomPlot* plot() const { return m_plot; }

    // The chart as .png, .svg or .pdf by the suffix of `path`, at its size on screen; false with *error
    // naming the file. Also offered by the right-click menu.
    bool savePlot(const QString& path, QString* error = nullptr);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    static int barValue(const QCPBars* bars, int layer);
    void fitLegend();

    QCustomPlot* m_plot = nullptr;
    QCPBars* m_keyBars = nullptr;
    QCPBars* m_valueBars = nullptr;
    QCPGraph* m_gqaLine = nullptr;
    QVector<double> m_keyCounts;
    QVector<double> m_valueCounts;
    int m_gqaGroups = 0;
};

}  // namespace dha::ui
