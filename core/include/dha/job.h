// The job contract shared by the GUI and the CLI: a spec in, events out through a non-blocking sink, a
// cancel token checked regularly, and a result that is Succeeded, Cancelled or Failed with a dha::Error.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "dha/error.h"

namespace dha {

// Set from any thread (a signal handler, the GUI thread); read by the job between units of work.
class CancelToken {
public:
    void requestCancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> m_cancelled{false};
};

struct ProgressEvent {
    std::string phase;      // "tokenize", "evaluate", "load", ...
    int64_t done = 0;       // units finished in this phase
    int64_t total = 0;      // units in this phase; 0 when unknown
    std::string unit;       // "tokens", "tensors", ...
    double elapsedSeconds = 0;
    double fraction() const { return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0; }
};

enum class LogLevel { Info, Warning };

struct LogEvent {
    LogLevel level = LogLevel::Info;
    std::string message;
};

// Text produced by generation, one decoded piece at a time.
struct TextEvent {
    std::string text;
    int32_t tokenId = 0;
};

// Receives events on the job's thread. Implementations must return quickly (the GUI's sink queues them).
class JobSink {
public:
    virtual ~JobSink() = default;
    virtual void onProgress(const ProgressEvent&) {}
    virtual void onLog(const LogEvent&) {}
    virtual void onText(const TextEvent&) {}
};

enum class JobStatus { Succeeded, Cancelled, Failed };

template <typename Value>
struct JobResult {
    JobStatus status = JobStatus::Failed;
    std::optional<Value> value;  // present when Succeeded
    Error error;                 // meaningful when Failed (and names the cancel point when Cancelled)

    bool ok() const { return status == JobStatus::Succeeded; }
};

}  // namespace dha
