// The run directories of a runs folder as a table (name, method, budget, state, steps, last loss), for
// picking a run to reopen, resume or overlay.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <filesystem>
#include <vector>

#include "dha/run_history.h"

namespace dha::ui {

class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Method, Budget, State, Steps, LastLoss, ColumnCount };

    explicit RunsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setFolder(const QString& folder);  // and refresh()
    QString folder() const { return m_folder; }
    // Re-reads the folder (run.json, checkpoints/latest and the ends of metrics.jsonl of each run).
    void refresh();

    std::filesystem::path runDir(int row) const;  // empty outside the rows
    const RunSummary& summary(int row) const { return m_runs[static_cast<size_t>(row)]; }
    int rowOf(const std::filesystem::path& runDir) const;  // -1 when not listed

private:
    QString m_folder;
    std::vector<RunSummary> m_runs;
};

}  // namespace dha::ui
