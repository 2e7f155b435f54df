// LossHistoryModel: rows of loss events, an incremental moving average, and CSV export.
#include "models/loss_history_model.h"

#include <QSaveFile>

#include <algorithm>
#include <cmath>

#include "support/format_units.h"

namespace dha::ui {

void LossSmoother::setSpan(int span) {
    m_span = std::max(1, span);
    m_alpha = 2.0 / (static_cast<double>(m_span) + 1.0);
    m_started = false;
}

double LossSmoother::add(const std::string& phase, double value) {
    if (!m_started || phase != m_phase) {
        m_phase = phase;
        m_started = false;
    }
    if (!std::isfinite(value)) return m_started ? m_value : value;
    m_value = m_started ? m_alpha * value + (1.0 - m_alpha) * m_value : value;
    m_started = true;
    return m_value;
}

LossHistoryModel::LossHistoryModel(QObject* parent) : QAbstractTableModel(parent) {}

int LossHistoryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_events.size());
}

int LossHistoryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

namespace {

QVariant rawValue(const LossEvent& event, double smoothed, int column) {
    switch (column) {
        case LossHistoryModel::Step: return QVariant::fromValue<qint64>(event.step);
        case LossHistoryModel::Tokens: return QVariant::fromValue<qint64>(event.tokens);
        case LossHistoryModel::Phase: return QString::fromStdString(event.phase);
        case LossHistoryModel::LmLoss: return event.lmLoss;
        case LossHistoryModel::LmLossSmoothed: return smoothed;
        case LossHistoryModel::FusionLoss: return event.phase == "fusion" ? QVariant(event.fusionLoss) : QVariant();
        case LossHistoryModel::LearningRate: return event.learningRate;
        case LossHistoryModel::TokensPerSecond:
            return event.tokensPerSecond > 0 ? QVariant(event.tokensPerSecond) : QVariant();
        default: return {};
    }
}

// RFC 4180 quoting for a text field.
QString csvField(QString text) {
    if (!text.contains(',') && !text.contains('"') && !text.contains('\n') && !text.contains('\r')) return text;
    return '"' + text.replace('"', "\"\"") + '"';
}

}  // namespace

QVariant LossHistoryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
    const auto row = static_cast<size_t>(index.row());
    const QVariant raw = rawValue(m_events[row], m_smoothed[row], index.column());
    if (role == RawRole) return raw;
    if (role == Qt::TextAlignmentRole)
        return index.column() == Phase ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                       : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role != Qt::DisplayRole || !raw.isValid()) return {};
    switch (index.column()) {
        case Step: return QString::number(raw.toLongLong());
        case Tokens: return formatCount(static_cast<double>(raw.toLongLong()));
        case Phase: return raw;
        case LearningRate: return QString::number(raw.toDouble(), 'g', 3);
        case TokensPerSecond: return formatCount(raw.toDouble());
        default: return QString::number(raw.toDouble(), 'f', 4);
    }
}

QVariant LossHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::ToolTipRole) {
        switch (section) {
            case LmLoss: return tr("Mean next-token cross-entropy of the step's batch, nats per token");
            case LmLossSmoothed:
                return tr("Exponential moving average over %1 steps, restarted at each phase").arg(smoothingSpan());
            case FusionLoss: return tr("Summed fusion loss of the fused groups (fusion phase only)");
            default: return {};
        }
    }
    if (role != Qt::DisplayRole) return {};
    switch (section) {
        case Step: return tr("Step");
        case Tokens: return tr("Tokens");
        case Phase: return tr("Phase");
        case LmLoss: return tr("LM loss");
        case LmLossSmoothed: return tr("LM loss (EMA %1)").arg(smoothingSpan());
        case FusionLoss: return tr("Fusion loss");
        case LearningRate: return tr("Learning rate");
        case TokensPerSecond: return tr("Tokens/s");
        default: return {};
    }
}

void LossHistoryModel::append(const QVector<LossEvent>& events) {
    if (events.isEmpty()) return;
    const int first = rowCount();
    beginInsertRows({}, first, first + static_cast<int>(events.size()) - 1);
    for (const LossEvent& event : events) {
        m_events.push_back(event);
        m_smoothed.push_back(m_smoother.add(event.phase, event.lmLoss));
    }
    endInsertRows();
}

void LossHistoryModel::setHistory(const RunHistory& history) {
    beginResetModel();
    m_events = history.losses;
    m_smoothed.clear();
    m_smoother.reset();
    for (const LossEvent& event : m_events) m_smoothed.push_back(m_smoother.add(event.phase, event.lmLoss));
    endResetModel();
}

void LossHistoryModel::clear() {
    beginResetModel();
    m_events.clear();
    m_smoothed.clear();
    m_smoother.reset();
    endResetModel();
}

void LossHistoryModel::setSmoothingSpan(int span) {
    m_smoother.setSpan(span);
    for (size_t i = 0; i < m_events.size(); ++i) m_smoothed[i] = m_smoother.add(m_events[i].phase, m_events[i].lmLoss);
    Q_EMIT headerDataChanged(Qt::Horizontal, LmLossSmoothed, LmLossSmoothed);
    if (!m_events.empty()) Q_EMIT dataChanged(index(0, LmLossSmoothed), index(rowCount() - 1, LmLossSmoothed));
}

QStringList LossHistoryModel::csvHeader() {
    return {"step", "tokens", "phase", "lm_loss", "lm_loss_smoothed", "fusion_loss", "learning_rate",
            "tokens_per_second"};
}

bool LossHistoryModel::writeCsv(const QString& path, QString* error) const {
    QSaveFile file(path);
    const auto failWith = [&](const QString& why) {
        if (error) *error = path + ": " + why;
        return false;
    };
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) return failWith(file.errorString());
    const auto number = [](double value) { return std::isfinite(value) ? QString::number(value, 'g', 17) : QString(); };
    QByteArray text = csvHeader().join(',').toUtf8() + '\n';
    for (size_t i = 0; i < m_events.size(); ++i) {
        const LossEvent& event = m_events[i];
        const QStringList fields = {
            QString::number(event.step),
            QString::number(event.tokens),
            csvField(QString::fromStdString(event.phase)),  // read from an untrusted metrics.jsonl
            number(event.lmLoss),
            number(m_smoothed[i]),
            event.phase == "fusion" ? number(event.fusionLoss) : QString(),
            number(event.learningRate),
            event.tokensPerSecond > 0 ? number(event.tokensPerSecond) : QString(),
        };
        text += fields.join(',').toUtf8() + '\n';
        if (text.size() > (1 << 20)) {
            if (file.write(text) != text.size()) return failWith(file.errorString());
            text.clear();
        }
    }
    if (file.write(text) != text.size()) return failWith(file.errorString());
    if (!file.commit()) return failWith(file.errorString());
    return true;
}

}  // namespace dha::ui
