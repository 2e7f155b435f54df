// Writing and reading conversion checkpoints: state.json beside the fusion stage or the compact model.
#include "jobs/convert_checkpoint.h"

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "training/checkpoint.h"

namespace dha::jobs {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kStateFormat = "dha-convert-state";
constexpr const char* kStateFile = "state.json";
constexpr int64_t kMaxCount = int64_t{1} << 53;

const char* phaseName(ConvertPhase phase) {
    switch (phase) {
        case ConvertPhase::Search: return "search";
        case ConvertPhase::Fusion: return "fusion";
        case ConvertPhase::Continued: return "continued";
    }
    return "continued";
}

Json optionalNumber(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

void writeProgress(const fs::path& dir, const ConvertProgress& progress) {
    const Json json = {
        {"format", kStateFormat},
        {"version", 1},
        {"phase", phaseName(progress.phase)},
        {"step", progress.step},
        {"search_steps", progress.searchStepsDone},
        {"fusion_steps", progress.fusionStepsDone},
        {"elapsed_s", progress.elapsedSeconds},
        {"metrics_lines", progress.metricsLines},
        {"final_fusion_loss", progress.finalFusionLoss},
        {"fusion_converged", progress.fusionConverged},
        {"held_out",
         {{"source", optionalNumber(progress.heldOutSource)},
          {"before_collapse", optionalNumber(progress.heldOutBeforeCollapse)},
          {"after_collapse", optionalNumber(progress.heldOutAfterCollapse)}}},
    };
    io::writeFileAtomically(dir / kStateFile, json.dump(2) + "\n");
}

// A checkpoint of the phase: what `saveState` writes, then the conversion's progress beside it.
template <typename SaveState>
fs::path publishWithProgress(const fs::path& runDir, const ConvertProgress& progress, int keep,
                             const SaveState& saveState) {
    return training::publishCheckpointDirectory(
        runDir, progress.step,
        [&](const fs::path& staging) {
            saveState(staging);
            writeProgress(staging, progress);
        },
        keep);
}

}  // namespace

fs::path publishSearchCheckpoint(const fs::path& runDir, const training::SearchStageState& state,
                                 const ConvertProgress& progress, int keep) {
    if (progress.phase != ConvertPhase::Search || progress.step != state.step())
        fail(ErrorCode::Internal, runDir.string(), "search checkpoint of a step the search stage is not at");
    return publishWithProgress(runDir, progress, keep, [&](const fs::path& staging) { state.save(staging); });
}

fs::path publishFusionCheckpoint(const fs::path& runDir, const training::FusionStageState& state,
                                 const ConvertProgress& progress, int keep) {
    if (progress.phase != ConvertPhase::Fusion || progress.step != progress.searchStepsDone + state.step())
        fail(ErrorCode::Internal, runDir.string(), "fusion checkpoint of a step the fusion stage is not at");
    return publishWithProgress(runDir, progress, keep, [&](const fs::path& staging) { state.save(staging); });
}

fs::path publishContinuedCheckpoint(const fs::path& runDir, const model::Transformer& compact,
                                    const training::AdamW& optimizer, const ConvertProgress& progress,
                                    int keep) {
    if (progress.phase != ConvertPhase::Continued)
        fail(ErrorCode::Internal, runDir.string(), "continued checkpoint written outside the continued phase");
    return publishWithProgress(runDir, progress, keep, [&](const fs::path& staging) {
        model::Transformer net = compact;
        model::saveModel(staging, net->config(), net, io::DType::F32);
        optimizer.save(staging / "optimizer.safetensors");
    });
}

ConvertProgress readConvertProgress(const fs::path& checkpointDir) {
    const fs::path file = checkpointDir / kStateFile;
    const std::string path = file.string();
    const Json json = io::parseJsonStrict(io::readSmallFile(file, 1 << 20), path);
    io::jsonObject(json, path, "state");
    const auto field = [&](const Json& object, const char* key) -> const Json& {
        if (!object.contains(key)) failInput(path, std::string("has no \"") + key + "\"");
        return object[key];
    };
    if (io::jsonString(field(json, "format"), path, "format") != kStateFormat)
        failInput(path, std::string("is not a conversion state (\"format\": \"") + kStateFormat + "\" expected)");
    ConvertProgress progress;
    const std::string& phase = io::jsonString(field(json, "phase"), path, "phase");
    if (phase == "search")
        progress.phase = ConvertPhase::Search;
    else if (phase == "fusion")
        progress.phase = ConvertPhase::Fusion;
    else if (phase == "continued")
        progress.phase = ConvertPhase::Continued;
    else
        failInput(path, "phase '" + io::printableExcerpt(phase) + "' is not search, fusion or continued");
    progress.step = io::jsonInteger(field(json, "step"), path, "step", 0, kMaxCount);
    progress.searchStepsDone = io::jsonInteger(field(json, "search_steps"), path, "search_steps", 0, kMaxCount);
    progress.fusionStepsDone = io::jsonInteger(field(json, "fusion_steps"), path, "fusion_steps", 0, kMaxCount);
    const int64_t before = progress.searchStepsDone + progress.fusionStepsDone;
    const bool consistent =
        progress.phase == ConvertPhase::Search ? progress.searchStepsDone == progress.step && progress.fusionStepsDone == 0
        : progress.phase == ConvertPhase::Fusion ? before == progress.step
                                                 : before <= progress.step;
    if (!consistent) failInput(path, "search_steps and fusion_steps do not agree with step and phase");
    progress.elapsedSeconds = io::jsonNumber(field(json, "elapsed_s"), path, "elapsed_s");
    progress.metricsLines = io::jsonInteger(field(json, "metrics_lines"), path, "metrics_lines", 0, kMaxCount);
    progress.finalFusionLoss = io::jsonNumber(field(json, "final_fusion_loss"), path, "final_fusion_loss");
    progress.fusionConverged = io::jsonBool(field(json, "fusion_converged"), path, "fusion_converged");
    const Json& heldOut = io::jsonObject(field(json, "held_out"), path, "held_out");
    const auto loss = [&](const char* key) -> std::optional<double> {
        const Json& value = field(heldOut, key);
        if (value.is_null()) return std::nullopt;
        return io::jsonNumber(value, path, std::string("held_out.") + key);
    };
    progress.heldOutSource = loss("source");
    progress.heldOutBeforeCollapse = loss("before_collapse");
    progress.heldOutAfterCollapse = loss("after_collapse");
    if (checkpointDir.filename().string() != training::checkpointName(progress.step)) {
        failInput(path, "records step " + std::to_string(progress.step) + " but the directory is " +
                            checkpointDir.filename().string());
    }
    return progress;
}

model::Transformer loadCompactModel(const fs::path& checkpointDir) {
    return model::loadModel(checkpointDir, {}).model;  // fp32 on the CPU, as the run trains it
}

}  // namespace dha::jobs
