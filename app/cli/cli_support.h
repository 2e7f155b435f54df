// What every `dha` subcommand shares: exit codes, Ctrl-C handling, the terminal job sink, and reporting a
// failed job.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dha/job.h"

namespace dha::cli {

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2, kExitCancelled = 130 };

// The token that SIGINT/SIGTERM set; a second Ctrl-C ends the process at once.
CancelToken& installCancelOnSignals();

// Prints progress to stderr: a redrawn bar on a terminal, a line every 10% otherwise (or nothing with
// quiet). Training steps show as one redrawn status line on a terminal; otherwise a line every 30 s for
// pretraining and every 5% of the steps (and at each phase change) for a conversion's phases, which also show
// the phase, the fusion loss and the KV saving (nothing with quiet); validations and checkpoints as lines. Logs go to stderr, generated text to stdout, unbuffered.
class TerminalSink : public JobSink {
public:
    explicit TerminalSink(bool quiet = false);
    ~TerminalSink() override;
    void onProgress(const ProgressEvent& event) override;
    void onLog(const LogEvent& event) override;
    void onText(const TextEvent& event) override;
    void onLoss(const LossEvent& event) override;
    void onValidation(const ValidationEvent& event) override;
    void onCheckpoint(const CheckpointEvent& event) override;
    // Remembers the KV saving for the training status line (during fusion: so far, of the plan's); prints the
    // plan's and the collapse's.
    void onKvSavings(const KvSavingsEvent& event) override;
    void finishLine();  // ends a bar that is being redrawn

private:
    bool m_quiet;
    bool m_isTerminal;
    bool m_barOpen = false;
    int m_lastDecile = -1;
    std::string m_lastPhase;
    std::string m_lastLossPhase;
    std::optional<double> m_kvSaved;   // the latest fusion or collapse KvSavingsEvent's saved fraction
    std::optional<double> m_kvTarget;  // the plan's
    std::chrono::steady_clock::time_point m_lastDraw{};
    std::chrono::steady_clock::time_point m_lastLossLine{};
};

// Prints "dha <command>: <path>: <message>" (+ hint) to stderr and returns the exit code for the status.
template <typename Value>
int reportFailure(const std::string& command, const JobResult<Value>& result);
int reportError(const std::string& command, JobStatus status, const Error& error);

template <typename Value>
int reportFailure(const std::string& command, const JobResult<Value>& result) {
    return reportError(command, result.status, result.error);
}

// 1536 -> "1.5 KiB"; exact byte counts stay available in --json output.
std::string formatBytes(double bytes);
// 1234567 -> "1.23M"
std::string formatCount(double count);
std::string formatDuration(double seconds);

}  // namespace dha::cli
