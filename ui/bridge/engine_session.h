// The GUI's one door to the engine: a QObject facade that owns the engine thread, runs one job at a time
// through the core job API, and delivers the job's events to the GUI thread in batches (architecture.md).
#pragma once

#include <QObject>
#include <QVector>

#include <filesystem>
#include <functional>
#include <memory>

#include "bridge/engine_types.h"

class QThread;
class QTimer;

namespace dha::ui {

class QueuedJobSink;

class EngineSession : public QObject {
    Q_OBJECT
public:
    explicit EngineSession(QObject* parent = nullptr);
    // Cancels a running job and waits for the engine thread (a conversion checkpoints before it returns).
    ~EngineSession() override;

    bool isBusy() const { return m_busy; }
    JobKind currentJob() const { return m_currentJob; }

    // Each starts a job on the engine thread and returns true, or returns false and does nothing while
    // another job runs. jobStarted, the job's events and then jobFinished (exactly once) follow.
    bool inspect(const std::filesystem::path& modelDir);
    bool analyse(const AnalyseSpec& spec);
    bool convert(const ConvertSpec& spec);
    bool exportModel(const ExportSpec& spec);

    // Thread-safe and immediate (an atomic flag, not a queued call): the job stops at its next check.
    void cancel();

    // Events wait in the sink and reach the GUI thread at most every `milliseconds` (default 50).
    void setDeliveryInterval(int milliseconds);
    int deliveryInterval() const;

Q_SIGNALS:
    void jobStarted(dha::ui::JobKind kind);
    // Events, in the order the job emitted them. Consecutive loss events arrive as one batch; consecutive
    // progress events are coalesced to the newest.
    void progressed(const dha::ProgressEvent& event);
    void logged(const dha::LogEvent& event);
    void lossBatch(const QVector<dha::LossEvent>& events);
    void validationMeasured(const dha::ValidationEvent& event);
    void checkpointWritten(const dha::CheckpointEvent& event);
    void similarityLayer(const dha::SimilarityEvent& event);
    void planChosen(const dha::Plan& plan);
    void kvSavingsChanged(const dha::KvSavingsEvent& event);
    // Results, emitted just before jobFinished when the job succeeded.
    void modelInspected(const dha::ModelInfo& info);
    void analysisFinished(const dha::SimilarityReport& report);
    void conversionFinished(const dha::ConvertReport& report);
    void exportFinished(const dha::ExportReport& report);
    // The last signal of every job, after all its events: Succeeded, Cancelled or Failed (with the error).
    void jobFinished(dha::ui::JobKind kind, dha::JobStatus status, const dha::Error& error);

private:
    template <typename Job>
    bool start(JobKind kind, Job job);
    void deliverEvents();
    void finishJob(JobKind kind, JobStatus status, const Error& error, const std::function<void()>& emitResult);

    QThread* m_thread = nullptr;
    QObject* m_worker = nullptr;  // lives in m_thread; jobs are posted to it
    QTimer* m_deliveryTimer = nullptr;
    std::shared_ptr<QueuedJobSink> m_sink;
    std::shared_ptr<CancelToken> m_cancel;
    bool m_busy = false;
    JobKind m_currentJob = JobKind::Inspect;
};

}  // namespace dha::ui
