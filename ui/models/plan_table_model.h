// PlanTableModel: the plan as a per-layer table (key/value head counts to edit or pin, locked layers, KV
// bytes per token, key and value groups), every edit going through a PlanEditor.
#pragma once

#include <QAbstractTableModel>

#include <vector>

namespace dha::ui {

class PlanEditor;

class PlanTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        LayerColumn,
        KeyHeadsColumn,
        ValueHeadsColumn,
        LockedColumn,
        KvBytesColumn,
        KeyGroupsColumn,
        ValueGroupsColumn,
        ColumnCount
    };
    // Qt::UserRole on a count cell: whether the user pinned it (bool).
    static constexpr int PinnedRole = Qt::UserRole + 1;

    explicit PlanTableModel(PlanEditor* editor, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    // Counts (EditRole) pin the cell through the editor; Locked (CheckStateRole) locks the layer. Returns
    // false when the editor refuses (it says why through editRefused).
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    // "0,3 | 1,2 | 4": one group per key (value) head, query heads by index.
    static QString groupsText(const std::vector<std::vector<int>>& groups);

private:
    void onPlanChanged();

    PlanEditor* m_editor = nullptr;
    int m_rows = 0;  // the row count the views were last told about
};

}  // namespace dha::ui
