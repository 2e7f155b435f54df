// PlanTableModel: one row per layer over PlanEditor; pinned counts are bold on a tinted background.
#include "models/plan_table_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QLocale>
#include <QStringList>

#include "models/plan_editor.h"

namespace dha::ui {
namespace {

// Light tints of the app's key (blue) and value (orange) colours, readable behind black text.
const QColor kPinnedKeyTint(0xd6, 0xe9, 0xf8);
const QColor kPinnedValueTint(0xfb, 0xea, 0xc8);
const QColor kLockedText(0x70, 0x70, 0x70);

HeadKind kindOfColumn(int column) {
    return column == PlanTableModel::KeyHeadsColumn ? HeadKind::Key : HeadKind::Value;
}

bool isCountColumn(int column) {
    return column == PlanTableModel::KeyHeadsColumn || column == PlanTableModel::ValueHeadsColumn;
}

}  // namespace

PlanTableModel::PlanTableModel(PlanEditor* editor, QObject* parent)
    : QAbstractTableModel(parent), m_editor(editor), m_rows(editor->plan().numLayers()) {
    connect(m_editor, &PlanEditor::planChanged, this, &PlanTableModel::onPlanChanged);
}

int PlanTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : m_rows; }

int PlanTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString PlanTableModel::groupsText(const std::vector<std::vector<int>>& groups) {
    QStringList parts;
    for (const auto& group : groups) {
        QStringList heads;
        for (const int head : group) heads << QString::number(head);
        parts << heads.join(QLatin1Char(','));
    }
    return parts.join(QStringLiteral(" | "));
}

QVariant PlanTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::ParentIsInvalid)) return {};
    const int layer = index.row();
    const int column = index.column();
    if (layer >= m_editor->plan().numLayers()) return {};
    const LayerPlan& layerPlan = m_editor->plan().layers[static_cast<size_t>(layer)];
    const bool locked = m_editor->isLayerLocked(layer);
    const bool pinned = isCountColumn(column) && m_editor->isFixed(layer, kindOfColumn(column));

    switch (role) {
        case Qt::DisplayRole:
        case Qt::EditRole:
            switch (column) {
                case LayerColumn:
                    return layer;
                case KeyHeadsColumn:
                    return layerPlan.numKeyHeads();
                case ValueHeadsColumn:
                    return layerPlan.numValueHeads();
                case LockedColumn:
                    return role == Qt::DisplayRole ? QVariant(locked ? tr("all heads") : QString())
                                                   : QVariant();
                case KvBytesColumn: {
                    const auto& layers = m_editor->accounting().layers;
                    if (layer >= static_cast<int>(layers.size())) return {};
                    const qlonglong bytes = layers[static_cast<size_t>(layer)].bytesPerToken;
                    return role == Qt::DisplayRole ? QVariant(QLocale(QLocale::English).toString(bytes))
                                                   : QVariant(bytes);
                }
                case KeyGroupsColumn:
                    return groupsText(layerPlan.keyGroups);
                case ValueGroupsColumn:
                    return groupsText(layerPlan.valueGroups);
                default:
                    return {};
            }
        case Qt::CheckStateRole:
            if (column == LockedColumn) return locked ? Qt::Checked : Qt::Unchecked;
            return {};
        case Qt::FontRole:
            if (pinned) {
                QFont font;
                font.setBold(true);
                return font;
            }
            return {};
        case Qt::BackgroundRole:
            if (pinned)
                return QBrush(kindOfColumn(column) == HeadKind::Key ? kPinnedKeyTint : kPinnedValueTint);
            return {};
        case Qt::ForegroundRole:
            if (locked && (isCountColumn(column) || column == KeyGroupsColumn || column == ValueGroupsColumn))
                return QBrush(kLockedText);
            return {};
        case Qt::TextAlignmentRole:
            if (column == KeyGroupsColumn || column == ValueGroupsColumn || column == LockedColumn)
                return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        case Qt::ToolTipRole:
            if (isCountColumn(column)) {
                const QString kind = kindOfColumn(column) == HeadKind::Key ? tr("key") : tr("value");
                if (locked)
                    return tr("Layer %1 is locked: it keeps all %2 %3 heads.")
                        .arg(layer)
                        .arg(m_editor->numHeads())
                        .arg(kind);
                return pinned
                           ? tr("Pinned by you: the planner keeps exactly this many %1 heads here.").arg(kind)
                           : tr("Chosen by the planner. Edit to pin this count; the budget stays, other "
                                "layers adapt.");
            }
            if (column == KeyGroupsColumn || column == ValueGroupsColumn) {
                const auto& groups = column == KeyGroupsColumn ? layerPlan.keyGroups : layerPlan.valueGroups;
                const QString kind = column == KeyGroupsColumn ? tr("key") : tr("value");
                QStringList lines;
                for (size_t g = 0; g < groups.size(); ++g) {
                    QStringList heads;
                    for (const int head : groups[g]) heads << QString::number(head);
                    lines << tr("%1 head %2: query heads %3")
                                 .arg(kind)
                                 .arg(g)
                                 .arg(heads.join(QStringLiteral(", ")));
                }
                return lines.join(QLatin1Char('\n'));
            }
            if (column == LockedColumn)
                return tr("Locked layers keep every key and value head (an MHA layer).");
            return {};
        case PinnedRole:
            return pinned;
        default:
            return {};
    }
}

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) {
        return role == Qt::DisplayRole ? QVariant(section) : QVariant();
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
            case LayerColumn:
                return tr("Layer");
            case KeyHeadsColumn:
                return tr("Key heads");
            case ValueHeadsColumn:
                return tr("Value heads");
            case LockedColumn:
                return tr("Locked");
            case KvBytesColumn:
                return tr("KV bytes/token");
            case KeyGroupsColumn:
                return tr("Key groups (query heads)");
            case ValueGroupsColumn:
                return tr("Value groups (query heads)");
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
            case KeyHeadsColumn:
            case ValueHeadsColumn:
                return tr("Heads kept in the layer; edit a count to pin it (pinned counts are bold).");
            case LockedColumn:
                return tr("Keep every key and value head of the layer.");
            case KvBytesColumn:
                return tr("KV cache bytes per token of the layer at 16-bit (2 bytes per element).");
            case KeyGroupsColumn:
            case ValueGroupsColumn:
                return tr("Query heads sharing each kept head, separated by |.");
            default:
                return {};
        }
    }
    return {};
}

Qt::ItemFlags PlanTableModel::flags(const QModelIndex& index) const {
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::ParentIsInvalid)) return Qt::NoItemFlags;
    Qt::ItemFlags flags = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    const bool editable = m_editor->hasSimilarity();
    if (editable && isCountColumn(index.column()) && !m_editor->isLayerLocked(index.row()))
        flags |= Qt::ItemIsEditable;
    if (index.column() == LockedColumn) {
        flags |= Qt::ItemIsUserCheckable;
        if (!editable) flags &= ~Qt::ItemIsEnabled;
    }
    return flags;
}

bool PlanTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::ParentIsInvalid)) return false;
    const int layer = index.row();
    if (isCountColumn(index.column()) && role == Qt::EditRole) {
        bool ok = false;
        const int heads = value.toInt(&ok);
        if (!ok) {
            Q_EMIT m_editor->editRefused(tr("'%1' is not a head count.").arg(value.toString()));
            return false;
        }
        return m_editor->setCount(layer, kindOfColumn(index.column()), heads);
    }
    if (index.column() == LockedColumn && role == Qt::CheckStateRole) {
        const bool locked = value.toInt() == Qt::Checked;
        return m_editor->setLayerLocked(layer, locked);
    }
    return false;
}

void PlanTableModel::onPlanChanged() {
    const int rows = m_editor->plan().numLayers();
    if (rows != m_rows) {
        beginResetModel();
        m_rows = rows;
        endResetModel();
        return;
    }
    if (m_rows > 0) Q_EMIT dataChanged(index(0, 0), index(m_rows - 1, ColumnCount - 1));
}

}  // namespace dha::ui
