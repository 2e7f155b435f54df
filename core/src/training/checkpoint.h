// Checkpoints of a pretraining run: checkpoints/step-NNNNNN/ (model.safetensors + config.json,
// optimizer.safetensors, state.json) built in a temporary directory and renamed into place, then named by
// checkpoints/latest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "dha/model_config.h"
#include "model/transformer.h"
#include "training/adamw.h"

namespace dha::training {

// Where training stands after `step` optimizer steps: everything besides weights and optimizer moments that a
// resumed run needs. The data order is a pure function of (seed, step), so the step is the data cursor.
struct TrainingState {
    int64_t step = 0;
    int64_t tokensSeen = 0;
    int64_t totalSteps = 0;  // of the schedule in force when the checkpoint was written
    int64_t warmupSteps = 0;
    double peakLearningRate = 0;
    double minLearningRate = 0;
    double learningRate = 0;  // used by the last step
    uint64_t seed = 0;
    int64_t dataTokens = 0;     // tokens in the training stream
    double elapsedSeconds = 0;  // training time of the run so far, across resumes
    double lastLoss = 0;        // training loss of the last step
    std::optional<double> bestValidationLoss;
    int64_t bestValidationStep = 0;
};

// "step-000120" (six digits at least).
std::string checkpointName(int64_t step);
std::filesystem::path checkpointsDirectory(const std::filesystem::path& runDir);

// Publishes checkpoints/step-N of any run: `write` fills a fresh staging directory (checkpoints/.step-N.tmp-*),
// which is then renamed to checkpoints/step-N (replacing a stale directory of that name that `latest` does not
// name); checkpoints/latest is replaced atomically, then all but the `keep` newest complete checkpoints up to
// `step` are deleted. A crash at any point leaves `latest` naming a complete checkpoint.
std::filesystem::path publishCheckpointDirectory(const std::filesystem::path& runDir, int64_t step,
                                                 const std::function<void(const std::filesystem::path&)>& write,
                                                 int keep);

// Publishes the pretraining checkpoint of state.step: writes it into checkpoints/.step-N.tmp-*, renames that to
// checkpoints/step-N (replacing a stale directory of that name that `latest` does not name), replaces
// checkpoints/latest atomically, then deletes all but the `keep` newest complete checkpoints. A crash at any
// point leaves `latest` naming a complete checkpoint. Returns the checkpoint directory.
std::filesystem::path publishCheckpoint(const std::filesystem::path& runDir, const ModelConfig& config,
                                        model::Transformer& model, const AdamW& optimizer,
                                        const TrainingState& state, int keep);

// The checkpoint named by checkpoints/latest, or nullopt when there is none yet; a malformed `latest` or one
// naming a missing directory is an InvalidInput error naming the file.
std::optional<std::filesystem::path> latestCheckpoint(const std::filesystem::path& runDir);

// Loads weights, optimizer moments and state from a checkpoint directory into `model` and `optimizer` (both
// built for the run's config); every file is checked and errors name it.
TrainingState restoreCheckpoint(const std::filesystem::path& checkpointDir, model::Transformer& model,
                                AdamW& optimizer);

// Removes temporary directories left by a crash while a checkpoint was being written.
void removeIncompleteCheckpoints(const std::filesystem::path& runDir);

}  // namespace dha::training
