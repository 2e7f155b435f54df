// SimilarityOverview: small multiples, every layer's key and value similarity matrices as mini heatmaps on
// one shared colour scale; clicking one selects that layer.
#pragma once

#include <QImage>
#include <QWidget>

#include <map>
#include <vector>

#include "dha/plan.h"
#include "dha/similarity.h"
#include "views/heatmap_view.h"

namespace dha::ui {

class SimilarityOverview : public QWidget {
    Q_OBJECT
public:
    explicit SimilarityOverview(QWidget* parent = nullptr);

    void clear();
    // numLayers reserves a slot per layer (drawn empty until the layer arrives) so the grid does not jump.
    void beginAnalysis(SimilarityMetric metric, int numLayers);
    void addLayer(const LayerSimilarity& layer);
    void setReport(const SimilarityReport& report);  // replaces everything
    void setSelectedLayer(int layer);
    // With groups shown, each mini heatmap orders its heads by the plan's groups of that layer (as the large
    // heatmaps do); an empty plan, or one that does not fit a layer, leaves that layer in head order.
    void setPlan(const Plan& plan);
    void setShowGroups(bool show);

    int layerSlots() const;  // layers with a slot (arrived or announced)
    bool hasLayer(int layer) const { return m_layers.count(layer) > 0; }
    // Where a layer's key or value tile is drawn (empty when the layer has no slot), and the reverse.
    QRect tileRect(int layer, HeadKind heads) const;
    int layerAt(const QPoint& pos) const;
    // The colour drawn for displayed cell (row, col) of a tile (for tests); invalid when absent.
    QColor cellColor(int layer, HeadKind heads, int row, int col) const;

    // The overview as .png, .svg or .pdf by the suffix of `path`, at its size on screen; false with *error
    // naming the file. Also offered by the right-click menu.
    bool savePlot(const QString& path, QString* error = nullptr);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void layerClicked(int layer);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    struct Tiles {
        LayerSimilarity similarity;
        QImage key;
        QImage value;
    };
    struct Geometry {
        int bands = 1;
        int columns = 1;
        int tile = 0;
        int left = 0;
    };
    Geometry geometry() const;
    void renderImages(Tiles& tiles) const;
    void renderAll();
    std::vector<int> orderFor(int layer, HeadKind heads, int size) const;

    std::map<int, Tiles> m_layers;
    SimilarityMetric m_metric = SimilarityMetric::WeightCka;
    int m_numLayers = 0;
    int m_selectedLayer = -1;
    Plan m_plan;
    bool m_showGroups = false;
};

}  // namespace dha::ui
