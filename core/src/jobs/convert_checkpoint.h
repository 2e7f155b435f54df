// Checkpoints of a conversion run (architecture.md, run directory): where the run stands (state.json) plus,
// in the fusion phase, the whole fusion stage (model, fusion weights, multipliers, both optimizers), and in
// the continued phase the compact model and its optimizer. The data cursor is the step: batches are a pure
// function of (seed, step).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "model/transformer.h"
#include "training/adamw.h"
#include "training/fusion_stage.h"
#include "training/search_stage.h"

namespace dha::jobs {

enum class ConvertPhase { Search, Fusion, Continued };

// Everything besides tensors that a resumed conversion needs to carry on and to report what came before.
struct ConvertProgress {
    ConvertPhase phase = ConvertPhase::Fusion;
    int64_t step = 0;             // optimizer steps done across the phases
    int64_t searchStepsDone = 0;  // steps of the search phase (all of `step` while searching)
    int64_t fusionStepsDone = 0;  // steps of the fusion phase
    double elapsedSeconds = 0;    // training time so far, across resumes
    int64_t metricsLines = 0;     // lines of metrics.jsonl written before this checkpoint
    double finalFusionLoss = 0;   // continued phase: the fusion loss at collapse
    bool fusionConverged = false;
    std::optional<double> heldOutSource;
    std::optional<double> heldOutBeforeCollapse;
    std::optional<double> heldOutAfterCollapse;
};

// Publishes checkpoints/step-N for a search-phase state (progress.phase must be Search).
std::filesystem::path publishSearchCheckpoint(const std::filesystem::path& runDir,
                                              const training::SearchStageState& state,
                                              const ConvertProgress& progress, int keep);
// Publishes checkpoints/step-N for a fusion-phase state (progress.phase must be Fusion).
std::filesystem::path publishFusionCheckpoint(const std::filesystem::path& runDir,
                                              const training::FusionStageState& state,
                                              const ConvertProgress& progress, int keep);
// Publishes checkpoints/step-N for the compact model in continued pretraining (progress.phase Continued).
std::filesystem::path publishContinuedCheckpoint(const std::filesystem::path& runDir,
                                                 const model::Transformer& compact,
                                                 const training::AdamW& optimizer,
                                                 const ConvertProgress& progress, int keep);

// state.json of a checkpoint directory; checks its format and that its step matches the directory's name.
ConvertProgress readConvertProgress(const std::filesystem::path& checkpointDir);

// The compact model of a continued-phase checkpoint (fp32, CPU); every file is checked and errors name it.
model::Transformer loadCompactModel(const std::filesystem::path& checkpointDir);

}  // namespace dha::jobs
