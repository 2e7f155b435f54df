// Writing, publishing, pruning and restoring pretraining checkpoints.
#include "training/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "model/model_loader.h"
#include "model/model_writer.h"

namespace dha::training {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateFormat = "dha-pretrain-state";
constexpr int64_t kMaxCount = int64_t{1} << 53;

// The rename of a directory is durable only once its parent directory is flushed.
void syncDirectory(const fs::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// The step of a "step-NNNNNN" name; nullopt for anything else.
std::optional<int64_t> stepOfName(const std::string& name) {
    if (name.size() < 11 || name.compare(0, 5, "step-") != 0 || name.size() > 5 + 15) return std::nullopt;
    int64_t step = 0;
    for (size_t i = 5; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        step = step * 10 + (name[i] - '0');
    }
    return step;
}

nlohmann::json stateToJson(const TrainingState& state) {
    nlohmann::json json = {
        {"format", kStateFormat},
        {"version", 1},
        {"step", state.step},
        {"tokens", state.tokensSeen},
        {"elapsed_s", state.elapsedSeconds},
        {"last_loss", state.lastLoss},
        {"schedule",
         {{"peak_lr", state.peakLearningRate},
          {"min_lr", state.minLearningRate},
          {"warmup_steps", state.warmupSteps},
          {"total_steps", state.totalSteps},
          {"lr", state.learningRate}}},
        {"data",
         {{"sampler", "random-windows-v1"},
          {"seed", state.seed},
          {"next_step", state.step + 1},
          {"stream_tokens", state.dataTokens}}},
    };
    json["best_validation"] = state.bestValidationLoss ? nlohmann::json{{"step", state.bestValidationStep},
                                                                        {"loss", *state.bestValidationLoss}}
                                                       : nlohmann::json(nullptr);
    return json;
}

TrainingState stateFromJson(const fs::path& file) {
    const std::string path = file.string();
    const nlohmann::json json = io::parseJsonStrict(io::readSmallFile(file, 1 << 20), path);
    io::jsonObject(json, path, "state");
    if (!json.contains("format") || io::jsonString(json["format"], path, "format") != kStateFormat) {
        failInput(path,
                  std::string("is not a pretraining state (\"format\": \"") + kStateFormat + "\" expected)");
    }
    const auto field = [&](const nlohmann::json& object, const char* key) -> const nlohmann::json& {
        if (!object.contains(key)) failInput(path, std::string("has no \"") + key + "\"");
        return object[key];
    };
    TrainingState state;
    state.step = io::jsonInteger(field(json, "step"), path, "step", 0, kMaxCount);
    state.tokensSeen = io::jsonInteger(field(json, "tokens"), path, "tokens", 0, kMaxCount);
    state.elapsedSeconds = io::jsonNumber(field(json, "elapsed_s"), path, "elapsed_s");
    state.lastLoss = io::jsonNumber(field(json, "last_loss"), path, "last_loss");
    const nlohmann::json& schedule = io::jsonObject(field(json, "schedule"), path, "schedule");
    state.peakLearningRate = io::jsonNumber(field(schedule, "peak_lr"), path, "schedule.peak_lr");
    state.minLearningRate = io::jsonNumber(field(schedule, "min_lr"), path, "schedule.min_lr");
    state.warmupSteps =
        io::jsonInteger(field(schedule, "warmup_steps"), path, "schedule.warmup_steps", 0, kMaxCount);
    state.totalSteps =
        io::jsonInteger(field(schedule, "total_steps"), path, "schedule.total_steps", 1, kMaxCount);
    state.learningRate = io::jsonNumber(field(schedule, "lr"), path, "schedule.lr");
    const nlohmann::json& data = io::jsonObject(field(json, "data"), path, "data");
    if (io::jsonString(field(data, "sampler"), path, "data.sampler") != "random-windows-v1") {
        failInput(path, "data.sampler is not \"random-windows-v1\", the only sampler this version knows");
    }
    state.seed = static_cast<uint64_t>(io::jsonInteger(field(data, "seed"), path, "data.seed", 0, INT64_MAX));
    state.dataTokens =
        io::jsonInteger(field(data, "stream_tokens"), path, "data.stream_tokens", 0, kMaxCount);
    if (io::jsonInteger(field(data, "next_step"), path, "data.next_step", 1, kMaxCount) != state.step + 1) {
        failInput(path, "data.next_step does not follow step");
    }
    const nlohmann::json& best = field(json, "best_validation");
    if (!best.is_null()) {
        io::jsonObject(best, path, "best_validation");
        state.bestValidationStep =
            io::jsonInteger(field(best, "step"), path, "best_validation.step", 0, kMaxCount);
        state.bestValidationLoss = io::jsonNumber(field(best, "loss"), path, "best_validation.loss");
    }
    return state;
}

std::vector<std::pair<int64_t, fs::path>> completeCheckpoints(const fs::path& directory) {
    std::vector<std::pair<int64_t, fs::path>> found;
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
        const auto step = stepOfName(entry.path().filename().string());
        if (step && entry.is_directory(error)) found.emplace_back(*step, entry.path());
    }
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace

std::string checkpointName(int64_t step) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "step-%06" PRId64, step);
    return buffer;
}

fs::path checkpointsDirectory(const fs::path& runDir) { return runDir / "checkpoints"; }

fs::path publishCheckpointDirectory(const fs::path& runDir, int64_t step,
                                   const std::function<void(const fs::path&)>& write, int keep) {
    const fs::path directory = checkpointsDirectory(runDir);
    fs::create_directories(directory);
    const std::string name = checkpointName(step);
    const fs::path target = directory / name;
    const fs::path staging = directory / ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(std::random_device{}()));
    std::error_code error;
    try {
        fs::create_directory(staging);
        write(staging);
        // A directory of this name that `latest` does not name is left from an abandoned timeline (a crash
        // between its rename and the update of `latest`): replace it.
        if (fs::exists(target)) fs::remove_all(target);
        fs::rename(staging, target);
    } catch (...) {
        fs::remove_all(staging, error);
        throw;
    }
    syncDirectory(directory);
    io::writeFileAtomically(directory / "latest", name + "\n");

    // Keep the newest `keep` checkpoints up to this one; later ones belong to an abandoned timeline.
    const auto checkpoints = completeCheckpoints(directory);
    int kept = 0;
    for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
        if (it->first <= step && kept < std::max(keep, 1)) {
            ++kept;
            continue;
        }
        fs::remove_all(it->second, error);
    }
    return target;
}

fs::path publishCheckpoint(const fs::path& runDir, const ModelConfig& config, model::Transformer& model,
                           const AdamW& optimizer, const TrainingState& state, int keep) {
    return publishCheckpointDirectory(
        runDir, state.step,
        [&](const fs::path& staging) {
            model::saveModel(staging, config, model, io::DType::F32);
            optimizer.save(staging / "optimizer.safetensors");
            io::writeFileAtomically(staging / "state.json", stateToJson(state).dump(2) + "\n");
        },
        keep);
}

std::optional<fs::path> latestCheckpoint(const fs::path& runDir) {
    const fs::path latest = checkpointsDirectory(runDir) / "latest";
    std::error_code error;
    if (!fs::exists(latest, error)) return std::nullopt;
    std::string name = io::readSmallFile(latest, 4096);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (!stepOfName(name)) {
        failInput(latest.string(), "does not name a checkpoint (expected step-NNNNNN, found '" +
                                       io::printableExcerpt(name) + "')");
    }
    const fs::path directory = checkpointsDirectory(runDir) / name;
    if (!fs::is_directory(directory, error)) {
        failInput(latest.string(), "names " + name + ", which does not exist",
                  "the run directory was modified by hand");
    }
    return directory;
}

TrainingState restoreCheckpoint(const fs::path& checkpointDir, model::Transformer& model, AdamW& optimizer) {
    const TrainingState state = stateFromJson(checkpointDir / "state.json");
    const auto namedStep = stepOfName(checkpointDir.filename().string());
    if (!namedStep || *namedStep != state.step) {
        failInput((checkpointDir / "state.json").string(), "records step " + std::to_string(state.step) +
                                                               " but the directory is " +
                                                               checkpointDir.filename().string());
    }
    model::loadWeights(model, io::SafetensorsCheckpoint::open(checkpointDir), checkpointDir);
    optimizer.load(checkpointDir / "optimizer.safetensors");
    if (optimizer.stepCount() != state.step) {
        failInput((checkpointDir / "optimizer.safetensors").string(),
                  "records " + std::to_string(optimizer.stepCount()) + " steps; state.json says " +
                      std::to_string(state.step));
    }
    return state;
}

void removeIncompleteCheckpoints(const fs::path& runDir) {
    std::error_code error;
    const fs::path directory = checkpointsDirectory(runDir);
    if (!fs::is_directory(directory, error)) return;
    std::vector<fs::path> stale;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
        const std::string name = entry.path().filename().string();
        if (name.compare(0, 6, ".step-") == 0 && name.find(".tmp-") != std::string::npos)
            stale.push_back(entry.path());
    }
    for (const fs::path& path : stale) fs::remove_all(path, error);
}

}  // namespace dha::training
