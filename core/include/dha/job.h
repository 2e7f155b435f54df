// The job contract shared by the GUI and the CLI: a spec in, events out through a non-blocking sink, a
// cancel token checked regularly, and a result that is Succeeded, Cancelled or Failed with a dha::Error.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// One optimizer step of a training job (pretraining, or a conversion's fusion and continued pretraining).
struct LossEvent {
    int64_t step = 0;  // optimizer steps done, counting the one just finished (1-based)
    int64_t totalSteps = 0;
    int64_t tokens = 0;  // training tokens seen after this step
    int64_t totalTokens = 0;
    double lmLoss = 0;             // mean next-token cross-entropy of this step's batch, nats
    double learningRate = 0;       // used by this step
    double gradNorm = 0;           // global L2 norm of the gradients before clipping
    double tokensPerSecond = 0;    // recent training throughput
    double elapsedSeconds = 0;     // training time of the whole run, across resumes
    double etaSeconds = 0;         // estimated time to the last step
    // Which training the step belongs to: "pretrain" (dha pretrain), or a conversion's "fusion" and
    // "continued" phases; steps and tokens count across the phases of a conversion.
    std::string phase = "pretrain";
    double fusionLoss = 0;  // fusion phase: the summed fusion loss before this step's update; else 0
};

// A held-out measurement during training (the protocol of `dha eval`).
struct ValidationEvent {
    int64_t step = 0;
    int64_t tokens = 0;
    double loss = 0;  // nats per token
    double perplexity = 0;
    double accuracy = 0;  // next-token argmax accuracy
    int64_t predictedTokens = 0;
};

// A complete checkpoint was published (its directory renamed into place and `latest` updated).
struct CheckpointEvent {
    int64_t step = 0;
    int64_t tokens = 0;
    std::string path;    // the checkpoint directory
    std::string reason;  // "interval", "time", "cancel" or "final"
};

// How many key and value heads one layer needs at this point of a conversion.
struct LayerHeadCount {
    int keyHeads = 0;
    int valueHeads = 0;
    friend bool operator==(const LayerHeadCount& a, const LayerHeadCount& b) {
        return a.keyHeads == b.keyHeads && a.valueHeads == b.valueHeads;
    }
    friend bool operator!=(const LayerHeadCount& a, const LayerHeadCount& b) { return !(a == b); }
};

// The KV cache a conversion's model would need now. During fusion a group counts as one head once its fusion
// loss is within the run's tolerance (it could collapse without changing the model) and as all its heads
// before; at collapse every group is one head, the plan's figure.
struct KvSavingsEvent {
    int64_t step = 0;
    std::string phase;  // "plan", "fusion" or "collapse"
    std::vector<LayerHeadCount> layers;
    int64_t sourceBytesPerToken = 0;  // K+V cache of the source at bf16, every layer
    int64_t bytesPerToken = 0;        // the same for `layers`
    double savedFraction() const {
        return sourceBytesPerToken > 0
                   ? 1.0 - static_cast<double>(bytesPerToken) / static_cast<double>(sourceBytesPerToken)
                   : 0.0;
    }
};

struct SimilarityEvent;  // dha/similarity.h
struct Plan;             // dha/plan.h

// Receives events on the job's thread. Implementations must return quickly (the GUI's sink queues them).
class JobSink {
public:
    virtual ~JobSink() = default;
    virtual void onProgress(const ProgressEvent&) {}
    virtual void onLog(const LogEvent&) {}
    virtual void onText(const TextEvent&) {}
    virtual void onLoss(const LossEvent&) {}
    virtual void onValidation(const ValidationEvent&) {}
    virtual void onCheckpoint(const CheckpointEvent&) {}
    virtual void onSimilarity(const SimilarityEvent&) {}
    virtual void onPlan(const Plan&) {}  // the plan a conversion will fuse (or pool) towards
    virtual void onKvSavings(const KvSavingsEvent&) {}
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
