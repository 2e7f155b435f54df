// Exit codes, signal handling, terminal progress and number formatting for the `dha` command.
#include "cli_support.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace dha::cli {
namespace {

CancelToken g_cancel;
volatile std::sig_atomic_t g_signalCount = 0;

void onSignal(int signalNumber) {
    g_cancel.requestCancel();
    if (++g_signalCount >= 2) {  // the user insists: stop now, with the conventional status
        std::signal(signalNumber, SIG_DFL);
        std::raise(signalNumber);
    }
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

}  // namespace

CancelToken& installCancelOnSignals() {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    return g_cancel;
}

TerminalSink::TerminalSink(bool quiet) : m_quiet(quiet), m_isTerminal(::isatty(STDERR_FILENO) == 1) {}

TerminalSink::~TerminalSink() { finishLine(); }

void TerminalSink::finishLine() {
    if (m_barOpen) std::cerr << '\n' << std::flush;
    m_barOpen = false;
}

void TerminalSink::onProgress(const ProgressEvent& event) {
    if (m_quiet) return;
    if (event.phase != m_lastPhase) {
        finishLine();
        m_lastPhase = event.phase;
        m_lastDecile = -1;
    }
    const double fraction = event.fraction();
    const bool done = event.total > 0 && event.done >= event.total;
    std::string line = event.phase + " " + formatCount(static_cast<double>(event.done));
    if (event.total > 0) line += "/" + formatCount(static_cast<double>(event.total));
    line += " " + event.unit;
    if (event.elapsedSeconds > 0 && event.done > 0) {
        line += ", " + formatCount(event.done / event.elapsedSeconds) + " " + event.unit + "/s";
        if (event.total > 0 && !done) {
            line += ", ETA " + formatDuration(event.elapsedSeconds * (1.0 / std::max(fraction, 1e-9) - 1.0));
        }
    }
    if (m_isTerminal) {
        const auto now = std::chrono::steady_clock::now();
        if (!done && now - m_lastDraw < std::chrono::milliseconds(100)) return;  // no flicker, no slowdown
        m_lastDraw = now;
        std::string bar;
        if (event.total > 0) {
            const int filled = static_cast<int>(fraction * 30.0);
            bar = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(30 - filled), '.') +
                  "] " + fixed(100.0 * fraction, 0) + "% ";
        }
        std::cerr << "\r\033[K" << bar << line << std::flush;
        m_barOpen = true;
        if (done) finishLine();
    } else {
        const int decile = static_cast<int>(fraction * 10.0);
        if (decile == m_lastDecile && !done) return;
        m_lastDecile = decile;
        std::cerr << line << '\n' << std::flush;
    }
}

void TerminalSink::onLog(const LogEvent& event) {
    finishLine();
    std::cerr << (event.level == LogLevel::Warning ? "warning: " : "") << event.message << '\n' << std::flush;
}

void TerminalSink::onText(const TextEvent& event) { std::cout << event.text << std::flush; }

void TerminalSink::onLoss(const LossEvent& event) {
    if (m_quiet) return;
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    const bool last = event.step >= event.totalSteps;
    const bool conversion = event.phase != "pretrain";
    const bool phaseChanged = event.phase != m_lastLossPhase;
    m_lastLossPhase = event.phase;
    if (conversion && !m_isTerminal) {
        // Logs are read later: a line per 5% of the steps, so their number does not depend on the speed.
        const int64_t every = std::max<int64_t>(1, event.totalSteps / 20);
        if (!last && !phaseChanged && event.step % every != 0) return;
    } else {
        const auto interval = m_isTerminal ? std::chrono::milliseconds(100) : std::chrono::milliseconds(30000);
        const bool recent = m_lastLossLine != Clock::time_point{} && now - m_lastLossLine < interval;
        if (!last && !phaseChanged && recent) return;
    }
    m_lastLossLine = now;
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2e", event.learningRate);
    const double fraction =
        event.totalSteps > 0 ? static_cast<double>(event.step) / static_cast<double>(event.totalSteps) : 0.0;
    std::string line = conversion ? event.phase + " " : std::string();
    line += "step " + std::to_string(event.step) + "/" + std::to_string(event.totalSteps) + " (" +
            fixed(100.0 * fraction, 1) + "%), " + formatCount(static_cast<double>(event.tokens)) +
            " tokens, loss " + fixed(event.lmLoss, 4);
    if (event.phase == "fusion") {
        char fusion[32];
        std::snprintf(fusion, sizeof fusion, "%.3e", event.fusionLoss);
        line += std::string(", fusion ") + fusion;
    }
    if (event.phase == "fusion" && m_kvTarget) {
        // Until a group's fusion loss reaches the tolerance, all its heads still count.
        line += ", KV saved " + fixed(100.0 * m_kvSaved.value_or(0.0), 1) + "% of " +
                fixed(100.0 * *m_kvTarget, 1) + "%";
    } else if (conversion && m_kvSaved) {
        line += ", KV saved " + fixed(100.0 * *m_kvSaved, 1) + "%";
    }
    line += std::string(", lr ") + rate + ", " + formatCount(std::round(event.tokensPerSecond)) + " tokens/s";
    if (!last) line += ", ETA " + formatDuration(event.etaSeconds);
    if (m_isTerminal) {
        if (phaseChanged) finishLine();
        std::cerr << "\r\033[K" << line << std::flush;
        m_barOpen = true;
        m_lastPhase = "train";
        if (last) finishLine();
    } else {
        std::cerr << line << '\n' << std::flush;
    }
}

void TerminalSink::onKvSavings(const KvSavingsEvent& event) {
    (event.phase == "plan" ? m_kvTarget : m_kvSaved) = event.savedFraction();
    if (m_quiet || (event.phase != "plan" && event.phase != "collapse")) return;
    finishLine();
    std::cerr << (event.phase == "plan" ? "KV cache planned: " : "KV cache after collapse: ")
              << formatBytes(static_cast<double>(event.bytesPerToken)) << "/token vs "
              << formatBytes(static_cast<double>(event.sourceBytesPerToken))
              << "/token for the source (bf16), "
              << fixed(100.0 * event.savedFraction(), 1) << "% saved\n"
              << std::flush;
}

void TerminalSink::onValidation(const ValidationEvent& event) {
    finishLine();
    std::cerr << "validation at step " << event.step << ": loss " << fixed(event.loss, 4) << ", perplexity "
              << fixed(event.perplexity, 2) << ", accuracy " << fixed(100.0 * event.accuracy, 2) << "% ("
              << event.predictedTokens << " tokens)\n"
              << std::flush;
}

void TerminalSink::onCheckpoint(const CheckpointEvent& event) {
    if (m_quiet) return;
    finishLine();
    std::cerr << "checkpoint " << event.path << " (" << event.reason << ")\n" << std::flush;
}

int reportError(const std::string& command, JobStatus status, const Error& error) {
    if (status == JobStatus::Cancelled) {
        std::cerr << command << ": " << error.describe() << '\n';
        return kExitCancelled;
    }
    std::cerr << command << ": " << error.describe() << '\n';
    if (!error.hint.empty()) std::cerr << "hint: " << error.hint << '\n';
    return error.code == ErrorCode::Usage ? kExitUsage : kExitFailure;
}

std::string formatBytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    return unit == 0 ? fixed(bytes, 0) + " B" : fixed(bytes, bytes < 10 ? 2 : 1) + " " + units[unit];
}

std::string formatCount(double count) {
    if (count >= 1e9) return fixed(count / 1e9, 2) + "G";
    if (count >= 1e6) return fixed(count / 1e6, 2) + "M";
    if (count >= 1e4) return fixed(count / 1e3, 1) + "k";
    return fixed(count, count == static_cast<double>(static_cast<int64_t>(count)) ? 0 : 1);
}

std::string formatDuration(double seconds) {
    const auto total = static_cast<int64_t>(seconds + 0.5);
    if (total < 60) return std::to_string(total) + " s";
    if (total < 3600) return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
    return std::to_string(total / 3600) + " h " + std::to_string(total / 60 % 60) + " min";
}

}  // namespace dha::cli
