// Reading finished, interrupted and running run directories back: a one-line summary per run for run lists,
// and a run's whole loss and held-out history from its metrics.jsonl (for plots, CSV and comparisons).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dha/job.h"

namespace dha {

// What a run directory holds, read without loading any weights. Never throws for a broken run: its state is
// "unreadable" and `error` says why (the described dha::Error, naming the file).
struct RunSummary {
    std::filesystem::path runDir;
    std::string name;    // the directory's name
    std::string kind;    // "convert" or "pretrain"
    std::string method;  // "dha", "gqa", "cka-gqa", "dha-uniform", "dha-meanpool"; "pretrain" for pretraining
    std::string budget;  // "25%", "96 heads", "plan" (a plan file); empty for pretraining
    // "finished" (export/ exists), "resumable" (a checkpoint to continue from), "new" (started, nothing
    // checkpointed yet: a resume starts over) or "unreadable" (see error).
    std::string state;
    int64_t stepsDone = 0;       // the last optimizer step metrics.jsonl records
    int64_t totalSteps = 0;      // planned steps (a fusion that stops early makes a finished run shorter)
    int64_t tokensDone = 0;      // training tokens after stepsDone
    int64_t checkpointStep = 0;  // the step of checkpoints/latest; 0 when there is none
    std::string phase;           // the phase of the last loss event ("search", "fusion", "continued", "pretrain")
    std::optional<double> lastLmLoss;    // the LM loss of the last step
    std::optional<double> sourceHeldOut;  // held-out loss of the source model (conversions with validation text)
    std::optional<double> finalHeldOut;   // held-out loss of the finished run's last measurement
    std::string error;                    // why the run is unreadable; empty otherwise
};

// Every subdirectory of `folder` holding a run.json, sorted by name; a missing folder has none. Other
// subdirectories and files are skipped.
std::vector<RunSummary> listRuns(const std::filesystem::path& folder);
// One run directory; reads run.json, checkpoints/latest and the tail of metrics.jsonl.
RunSummary summariseRun(const std::filesystem::path& runDir);

// metrics.jsonl as events, in file order. Loss events carry step, tokens, phase, LM loss, learning rate,
// gradient norm, the fusion loss and, where the run recorded them, throughput and elapsed time (totals and
// ETAs are not recorded and stay 0).
struct RunHistory {
    std::vector<LossEvent> losses;
    std::vector<ValidationEvent> validations;
    // validationModels[i] names what validations[i] measured: "source", "fused", "collapsed", "continued"
    // for conversions, empty for pretraining.
    std::vector<std::string> validationModels;
    std::vector<CheckpointEvent> checkpoints;  // path is empty where the run did not record it
    bool exported = false;                     // an "export" event was written
};

// Reads runDir/metrics.jsonl line by line (never the whole file at once; a line over 1 MiB is malformed).
// A torn last line (no newline: the process was killed while writing it) is ignored; any other line that is
// not a JSON object with the fields its "type" needs is an InvalidInput error naming the file and the line
// number. Unknown event types are skipped. A missing metrics.jsonl is an empty history.
RunHistory loadRunHistory(const std::filesystem::path& runDir);

}  // namespace dha
