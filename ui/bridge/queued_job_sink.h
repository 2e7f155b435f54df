// A JobSink for the engine thread that only queues: events wait under a mutex until the GUI thread takes them
// in one batch, so a job never waits for the GUI and the GUI is not flooded with one signal per event.
#pragma once

#include <mutex>
#include <variant>
#include <vector>

#include "dha/job.h"
#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha::ui {

using QueuedEvent = std::variant<ProgressEvent, LogEvent, LossEvent, ValidationEvent, CheckpointEvent,
                                 SimilarityEvent, Plan, KvSavingsEvent>;

class QueuedJobSink final : public JobSink {
public:
    void onProgress(const ProgressEvent& event) override { push(event); }
    void onLog(const LogEvent& event) override { push(event); }
    void onLoss(const LossEvent& event) override { push(event); }
    void onValidation(const ValidationEvent& event) override { push(event); }
    void onCheckpoint(const CheckpointEvent& event) override { push(event); }
    void onSimilarity(const SimilarityEvent& event) override { push(event); }
    void onPlan(const Plan& plan) override { push(plan); }
    void onKvSavings(const KvSavingsEvent& event) override { push(event); }

    // Everything queued so far, oldest first; the queue is empty afterwards.
    std::vector<QueuedEvent> take() {
        std::vector<QueuedEvent> taken;
        std::lock_guard<std::mutex> lock(m_mutex);
        taken.swap(m_events);
        return taken;
    }

private:
    void push(QueuedEvent event) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_events.push_back(std::move(event));
    }

    std::mutex m_mutex;
    std::vector<QueuedEvent> m_events;
};

}  // namespace dha::ui
