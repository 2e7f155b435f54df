// The loss history of one run as a table, one row per optimizer step: step, tokens, phase, LM loss (raw and
// smoothed), fusion loss, learning rate and throughput. Live batches append rows; CSV export writes it out.
#pragma once

#include <QAbstractTableModel>
#include <QVector>

#include <vector>

#include "dha/job.h"
#include "dha/run_history.h"

namespace dha::ui {

// Exponential moving average with alpha = 2 / (span + 1), restarted at every phase change (the collapse
// makes the LM loss jump, and an average across it would draw a curve no model had). NaN losses are skipped.
class LossSmoother {
public:
    explicit LossSmoother(int span = 10) { setSpan(span); }
    void setSpan(int span);
    int span() const { return m_span; }
    void reset() { m_started = false; }
    double add(const std::string& phase, double value);  // the smoothed value after `value`

private:
    int m_span = 20;
    double m_alpha = 0;
    bool m_started = false;
    std::string m_phase;
    double m_value = 0;
};

class LossHistoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Step, Tokens, Phase, LmLoss, LmLossSmoothed, FusionLoss, LearningRate, TokensPerSecond, ColumnCount };
    // The unformatted value of a cell (qint64 for step and tokens, QString for the phase, double otherwise;
    // an empty QVariant where the step has none, e.g. the fusion loss outside the fusion phase).
    static constexpr int RawRole = Qt::UserRole + 1;

    explicit LossHistoryModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Appends the steps (rows inserted, never a reset, so views keep their scroll position).
    void append(const QVector<LossEvent>& events);
    void setHistory(const RunHistory& history);  // replaces everything (a reset)
    void clear();

    // The span of the smoothed column (at least 1; 1 = no smoothing); recomputes it.
    void setSmoothingSpan(int span);
    int smoothingSpan() const { return m_smoother.span(); }

    const LossEvent& event(int row) const { return m_events[static_cast<size_t>(row)]; }
    double smoothedLoss(int row) const { return m_smoothed[static_cast<size_t>(row)]; }

    // Writes the table as CSV with a header line, atomically (QSaveFile). False with *error set on failure.
    bool writeCsv(const QString& path, QString* error = nullptr) const;
    static QStringList csvHeader();

private:
    std::vector<LossEvent> m_events;
    std::vector<double> m_smoothed;
    LossSmoother m_smoother;
};

}  // namespace dha::ui
