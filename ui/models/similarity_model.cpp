// SimilarityModel: rows stay sorted by layer so a view's row order is the model's layer order, whatever order
// the engine's events arrive in.
#include "models/similarity_model.h"
#include "support/palette.h"

#include <QColor>

#include <algorithm>

namespace dha::ui {

namespace {

// Header text colours: keys blue-ish, values orange-ish (darker Okabe-Ito shades, readable as text).
const QColor kKeyText = palette::key();
const QColor kValueText = palette::valueText();

bool isKeyColumn(int column) {
    return column >= SimilarityModel::KeyMeanColumn && column <= SimilarityModel::KeyHeads90Column;
}
bool isValueColumn(int column) {
    return column >= SimilarityModel::ValueMeanColumn && column <= SimilarityModel::ValueHeads90Column;
}

}  // namespace

QString similarityMetricLabel(SimilarityMetric metric) {
    switch (metric) {
        case SimilarityMetric::WeightCka:
            return QStringLiteral("weight CKA");
        case SimilarityMetric::WeightCosine:
            return QStringLiteral("weight cosine");
        case SimilarityMetric::ActivationCka:
            return QStringLiteral("activation CKA");
        case SimilarityMetric::ActivationCosine:
            return QStringLiteral("activation cosine");
    }
    return QStringLiteral("similarity");
}

std::pair<double, double> similarityRange(SimilarityMetric metric) {
    const bool cosine =
        metric == SimilarityMetric::WeightCosine || metric == SimilarityMetric::ActivationCosine;
    return cosine ? std::make_pair(-1.0, 1.0) : std::make_pair(0.0, 1.0);
}

SimilarityModel::SimilarityModel(QObject* parent) : QAbstractTableModel(parent) {}

SimilarityModel::Row SimilarityModel::rowFrom(const LayerSimilarity& layer) {
    return Row{layer.layer, layer.key.rows, layer.value.rows, layer.keySummary, layer.valueSummary};
}

void SimilarityModel::addLayer(const LayerSimilarity& layer) {
    const auto place = std::lower_bound(m_rows.begin(), m_rows.end(), layer.layer,
                                        [](const Row& row, int value) { return row.layer < value; });
    const int row = static_cast<int>(place - m_rows.begin());
    if (place != m_rows.end() && place->layer == layer.layer) {
        *place = rowFrom(layer);
        Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
        return;
    }
    beginInsertRows(QModelIndex(), row, row);
    m_rows.insert(place, rowFrom(layer));
    endInsertRows();
}

void SimilarityModel::setReport(const SimilarityReport& report) {
    beginResetModel();
    m_rows.clear();
    for (const LayerSimilarity& layer : report.layers) m_rows.push_back(rowFrom(layer));
    std::stable_sort(m_rows.begin(), m_rows.end(),
                     [](const Row& a, const Row& b) { return a.layer < b.layer; });
    // A report never repeats a layer; if one did, keep the last, as addLayer would.
    std::vector<Row> unique;
    for (const Row& row : m_rows) {
        if (!unique.empty() && unique.back().layer == row.layer)
            unique.back() = row;
        else
            unique.push_back(row);
    }
    m_rows = std::move(unique);
    endResetModel();
}

void SimilarityModel::clear() {
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int SimilarityModel::rowOfLayer(int layer) const {
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].layer == layer) return static_cast<int>(i);
    return -1;
}

int SimilarityModel::layerAt(int row) const {
    return row >= 0 && row < rowCount() ? m_rows[static_cast<size_t>(row)].layer : -1;
}

int SimilarityModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int SimilarityModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SimilarityModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& row = m_rows[static_cast<size_t>(index.row())];
    const int column = index.column();
    const RedundancySummary& summary = isKeyColumn(column) ? row.key : row.value;
    const int heads = isKeyColumn(column) ? row.keyHeads : row.valueHeads;
    switch (role) {
        case RawValueRole:
            switch (column) {
                case LayerColumn:
                    return row.layer;
                case KeyMeanColumn:
                case ValueMeanColumn:
                    return summary.meanOffDiagonal;
                case KeyMaxColumn:
                case ValueMaxColumn:
                    return summary.maxOffDiagonal;
                case KeyHeads90Column:
                case ValueHeads90Column:
                    return summary.headsFor90Percent;
                default:
                    return {};
            }
        case Qt::DisplayRole:
            switch (column) {
                case LayerColumn:
                    return QString::number(row.layer);
                case KeyMeanColumn:
                case ValueMeanColumn:
                    return QString::number(summary.meanOffDiagonal, 'f', 3);
                case KeyMaxColumn:
                case ValueMaxColumn:
                    return QString::number(summary.maxOffDiagonal, 'f', 3);
                case KeyHeads90Column:
                case ValueHeads90Column:
                    return QStringLiteral("%1 / %2").arg(summary.headsFor90Percent).arg(heads);
                default:
                    return {};
            }
        case Qt::TextAlignmentRole:
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        case Qt::ToolTipRole:
            if (column == KeyHeads90Column || column == ValueHeads90Column)
                return tr("%1 of the %2 %3 heads hold 90% of the similarity matrix's trace (fewer = more "
                          "redundant)")
                    .arg(summary.headsFor90Percent)
                    .arg(heads)
                    .arg(isKeyColumn(column) ? tr("key") : tr("value"));
            return {};
        default:
            return {};
    }
}

QVariant SimilarityModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
            // Two lines each, so the table fits beside the plots.
            case LayerColumn:
                return tr("Layer");
            case KeyMeanColumn:
                return tr("Key\nmean");
            case KeyMaxColumn:
                return tr("Key\nmax");
            case KeyHeads90Column:
                return tr("Key\nheads 90%");
            case ValueMeanColumn:
                return tr("Value\nmean");
            case ValueMaxColumn:
                return tr("Value\nmax");
            case ValueHeads90Column:
                return tr("Value\nheads 90%");
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        if (section == LayerColumn) return tr("Layer index (0 = first layer)");
        const QString kind = isKeyColumn(section) ? tr("key") : tr("value");
        if (section == KeyMeanColumn || section == ValueMeanColumn)
            return tr("Mean similarity between different %1 heads of the layer").arg(kind);
        if (section == KeyMaxColumn || section == ValueMaxColumn)
            return tr("Highest similarity between two different %1 heads of the layer").arg(kind);
        return tr("Fewest %1 heads whose directions hold 90% of the similarity matrix's trace").arg(kind);
    }
    if (role == Qt::ForegroundRole) {
        if (isKeyColumn(section)) return kKeyText;
        if (isValueColumn(section)) return kValueText;
    }
    return {};
}

}  // namespace dha::ui
