// SimilarityModel: the per-layer redundancy summary of a similarity analysis as a table (one row per layer),
// growing as layers arrive from the engine.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <utility>
#include <vector>

#include "dha/similarity.h"

namespace dha::ui {

// "weight CKA", "weight cosine", "activation CKA", "activation cosine": the metric's name in UI text.
QString similarityMetricLabel(SimilarityMetric metric);
// The fixed colour-scale range of a metric: [0, 1] for CKA, [-1, 1] for cosine.
std::pair<double, double> similarityRange(SimilarityMetric metric);

class SimilarityModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        LayerColumn,
        KeyMeanColumn,
        KeyMaxColumn,
        KeyHeads90Column,
        ValueMeanColumn,
        ValueMaxColumn,
        ValueHeads90Column,
        ColumnCount
    };
    // The number behind a cell (Display shows it formatted): int for layer and head counts, double otherwise.
    static constexpr int RawValueRole = Qt::UserRole + 1;

    explicit SimilarityModel(QObject* parent = nullptr);

    // Adds one analysed layer in layer order; a layer already present is replaced in place.
    void addLayer(const LayerSimilarity& layer);
    void setReport(const SimilarityReport& report);  // resets
    void clear();

    int rowOfLayer(int layer) const;  // -1 when absent
    int layerAt(int row) const;       // -1 outside

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        int layer = 0;
        int keyHeads = 0;
        int valueHeads = 0;
        RedundancySummary key;
        RedundancySummary value;
    };
    static Row rowFrom(const LayerSimilarity& layer);
    std::vector<Row> m_rows;  // sorted by layer
};

}  // namespace dha::ui
