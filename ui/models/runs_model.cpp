// RunsModel: listRuns() of a folder as table rows.
#include "models/runs_model.h"

#include <QBrush>
#include <QColor>

#include "support/format_units.h"

namespace dha::ui {

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

int RunsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
    const RunSummary& run = m_runs[static_cast<size_t>(index.row())];
    if (role == Qt::ToolTipRole) {
        if (!run.error.empty()) return QString::fromStdString(run.error);
        QString tip = QString::fromStdString(run.runDir.string());
        if (run.sourceHeldOut) tip += tr("\nheld-out loss of the source: %1").arg(*run.sourceHeldOut, 0, 'f', 4);
        if (run.finalHeldOut) tip += tr("\nheld-out loss at the end: %1").arg(*run.finalHeldOut, 0, 'f', 4);
        if (run.checkpointStep > 0) tip += tr("\nlatest checkpoint: step %1").arg(run.checkpointStep);
        return tip;
    }
    if (role == Qt::ForegroundRole && index.column() == State && run.state == "unreadable")
        return QBrush(QColor("#D55E00"));
    if (role == Qt::TextAlignmentRole && (index.column() == Steps || index.column() == LastLoss))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case Name: return QString::fromStdString(run.name);
        case Method: return QString::fromStdString(run.method);
        case Budget: return QString::fromStdString(run.budget);
        case State: return QString::fromStdString(run.state);
        case Steps:
            if (run.state == "unreadable") return QString();
            return run.totalSteps > 0 ? QStringLiteral("%1 / %2").arg(run.stepsDone).arg(run.totalSteps)
                                      : QString::number(run.stepsDone);
        case LastLoss:
            if (run.finalHeldOut) return QString::number(*run.finalHeldOut, 'f', 4);
            return run.lastLmLoss ? QString::number(*run.lastLmLoss, 'f', 4) : QString();
        default: return {};
    }
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::ToolTipRole && section == LastLoss)
        return tr("Held-out loss of a finished run, else the LM loss of its last step (nats per token)");
    if (role != Qt::DisplayRole) return {};
    switch (section) {
        case Name: return tr("Run");
        case Method: return tr("Method");
        case Budget: return tr("Budget");
        case State: return tr("State");
        case Steps: return tr("Steps");
        case LastLoss: return tr("Loss");
        default: return {};
    }
}

void RunsModel::setFolder(const QString& folder) {
    m_folder = folder;
    refresh();
}

void RunsModel::refresh() {
    beginResetModel();
    m_runs = m_folder.isEmpty() ? std::vector<RunSummary>{} : listRuns(m_folder.toStdString());
    endResetModel();
}

std::filesystem::path RunsModel::runDir(int row) const {
    if (row < 0 || row >= rowCount()) return {};
    return m_runs[static_cast<size_t>(row)].runDir;
}

int RunsModel::rowOf(const std::filesystem::path& runDir) const {
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].runDir == runDir) return static_cast<int>(i);
    return -1;
}

}  // namespace dha::ui
