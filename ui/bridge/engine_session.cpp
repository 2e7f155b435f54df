// EngineSession: jobs run one at a time on a long-lived engine thread; their events are queued by a
// QueuedJobSink and handed to the GUI thread by a timer, so neither side ever waits for the other.
#include "bridge/engine_session.h"

#include <QThread>
#include <QTimer>

#include <exception>
#include <functional>
#include <type_traits>

#include "bridge/queued_job_sink.h"
#include "dha/runtime.h"

namespace dha::ui {
namespace {

constexpr int kDefaultDeliveryMs = 50;

template <typename Result>
struct JobValue;
template <typename Value>
struct JobValue<JobResult<Value>> {
    using type = Value;
};

// Jobs catch their own errors; this is the last line, so a bug in one never leaves the GUI waiting forever.
template <typename Value, typename Job>
JobResult<Value> runCaught(Job& job, JobSink& sink, const CancelToken& cancel) {
    try {
        return job(sink, cancel);
    } catch (const Exception& e) {
        JobResult<Value> result;
        result.error = e.error();
        return result;
    } catch (const std::exception& e) {
        JobResult<Value> result;
        result.error = Error{ErrorCode::Internal, {}, e.what(), {}};
        return result;
    }
}

}  // namespace

EngineSession::EngineSession(QObject* parent)
    : QObject(parent), m_thread(new QThread(this)), m_worker(new QObject), m_deliveryTimer(new QTimer(this)) {
    registerEngineTypes();
    m_thread->setObjectName(QStringLiteral("dha-engine"));
    m_worker->moveToThread(m_thread);
    m_thread->start();
    // OpenMP thread counts are per thread: set LibTorch's up on the thread that will run every job.
    QMetaObject::invokeMethod(m_worker, [] { dha::initRuntime(); }, Qt::QueuedConnection);
    m_deliveryTimer->setInterval(kDefaultDeliveryMs);
    connect(m_deliveryTimer, &QTimer::timeout, this, &EngineSession::deliverEvents);
}

EngineSession::~EngineSession() {
    cancel();
    m_thread->quit();
    m_thread->wait();
    delete m_worker;
}

void EngineSession::cancel() {
    if (m_cancel) m_cancel->requestCancel();
}

void EngineSession::setDeliveryInterval(int milliseconds) { m_deliveryTimer->setInterval(milliseconds); }

int EngineSession::deliveryInterval() const { return m_deliveryTimer->interval(); }

template <typename Job>
bool EngineSession::start(JobKind kind, Job job) {
    if (m_busy) return false;
    using Value = typename JobValue<std::invoke_result_t<Job&, JobSink&, const CancelToken&>>::type;
    m_busy = true;
    m_currentJob = kind;
    m_cancel = std::make_shared<CancelToken>();
    m_sink = std::make_shared<QueuedJobSink>();
    Q_EMIT jobStarted(kind);
    m_deliveryTimer->start();
    auto sink = m_sink;
    auto cancelToken = m_cancel;
    QMetaObject::invokeMethod(
        m_worker,
        [this, kind, sink, cancelToken, job]() mutable {
            JobResult<Value> result = runCaught<Value>(job, *sink, *cancelToken);
            // Back on the GUI thread, after every event the job queued (they are drained first).
            QMetaObject::invokeMethod(
                this,
                [this, kind, result = std::move(result)]() {
                    std::function<void()> emitResult;
                    if (result.ok() && result.value) {
                        const Value& value = *result.value;
                        if constexpr (std::is_same_v<Value, ModelInfo>)
                            emitResult = [this, value] { Q_EMIT modelInspected(value); };
                        else if constexpr (std::is_same_v<Value, SimilarityReport>)
                            emitResult = [this, value] { Q_EMIT analysisFinished(value); };
                        else if constexpr (std::is_same_v<Value, ConvertReport>)
                            emitResult = [this, value] { Q_EMIT conversionFinished(value); };
                        else if constexpr (std::is_same_v<Value, ExportReport>)
                            emitResult = [this, value] { Q_EMIT exportFinished(value); };
                    }
                    finishJob(kind, result.status, result.error, emitResult);
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
    return true;
}

bool EngineSession::inspect(const std::filesystem::path& modelDir) {
    return start(JobKind::Inspect,
                 [modelDir](JobSink& sink, const CancelToken&) { return runInspectJob(modelDir, sink); });
}

bool EngineSession::analyse(const AnalyseSpec& spec) {
    return start(JobKind::Analyse,
                 [spec](JobSink& sink, const CancelToken& cancel) { return runAnalyseJob(spec, sink, cancel); });
}

bool EngineSession::convert(const ConvertSpec& spec) {
    return start(JobKind::Convert,
                 [spec](JobSink& sink, const CancelToken& cancel) { return runConvertJob(spec, sink, cancel); });
}

bool EngineSession::exportModel(const ExportSpec& spec) {
    return start(JobKind::Export,
                 [spec](JobSink& sink, const CancelToken& cancel) { return runExportJob(spec, sink, cancel); });
}

void EngineSession::finishJob(JobKind kind, JobStatus status, const Error& error,
                              const std::function<void()>& emitResult) {
    deliverEvents();
    m_deliveryTimer->stop();
    m_busy = false;  // before the signals, so a slot may start the next job right away
    if (emitResult) emitResult();
    Q_EMIT jobFinished(kind, status, error);
}

void EngineSession::deliverEvents() {
    if (!m_sink) return;
    std::vector<QueuedEvent> events = m_sink->take();
    QVector<LossEvent> losses;
    auto flushLosses = [&] {
        if (losses.isEmpty()) return;
        Q_EMIT lossBatch(losses);
        losses.clear();
    };
    for (size_t i = 0; i < events.size(); ++i) {
        QueuedEvent& event = events[i];
        if (auto* loss = std::get_if<LossEvent>(&event)) {
            losses.push_back(std::move(*loss));
            continue;
        }
        flushLosses();
        if (auto* progress = std::get_if<ProgressEvent>(&event)) {
            // Only the newest of a run of progress events matters to a progress bar.
            const bool supersededByNext = i + 1 < events.size() && std::holds_alternative<ProgressEvent>(events[i + 1]);
            if (!supersededByNext) Q_EMIT progressed(*progress);
        } else if (auto* log = std::get_if<LogEvent>(&event)) {
            Q_EMIT logged(*log);
        } else if (auto* validation = std::get_if<ValidationEvent>(&event)) {
            Q_EMIT validationMeasured(*validation);
        } else if (auto* checkpoint = std::get_if<CheckpointEvent>(&event)) {
            Q_EMIT checkpointWritten(*checkpoint);
        } else if (auto* similarity = std::get_if<SimilarityEvent>(&event)) {
            Q_EMIT similarityLayer(*similarity);
        } else if (auto* plan = std::get_if<Plan>(&event)) {
            Q_EMIT planChosen(*plan);
        } else if (auto* savings = std::get_if<KvSavingsEvent>(&event)) {
            Q_EMIT kvSavingsChanged(*savings);
        }
    }
    flushLosses();
}

}  // namespace dha::ui
