// Run directories read back: summaries from run.json, checkpoints/latest and metrics.jsonl, and the loss history.
#include "dha/run_history.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <system_error>

#include <nlohmann/json.hpp>

#include "dha/conversion.h"
#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int64_t kMaxCount = int64_t{1} << 53;
constexpr size_t kMaxLineBytes = size_t{1} << 20;   // metrics lines are a few hundred bytes
constexpr int64_t kSummaryTailBytes = 256 << 10;    // the last events of a run, for its summary
constexpr int64_t kSummaryHeadBytes = 64 << 10;     // the source's held-out loss is among the first lines

// Where a line of metrics.jsonl is, for error messages: its number when reading from the start.
struct LineRef {
    int64_t number = 0;        // 1-based; 0 when the read started mid-file
    int64_t byteOffset = 0;
    std::string describe() const {
        return number > 0 ? "line " + std::to_string(number) : "the line at byte " + std::to_string(byteOffset);
    }
};

// Calls `onLine` for each complete line of `file` from byte `begin` (skipping the partial line it may land in)
// up to byte `end`, in bounded chunks; `onLine` returns false to stop. The text after the last newline is a
// torn write and is ignored. A line longer than kMaxLineBytes is malformed.
void forEachLine(const fs::path& file, int64_t begin, int64_t end,
                 const std::function<bool(const std::string&, const LineRef&)>& onLine) {
    std::ifstream stream(file, std::ios::binary);
    if (!stream) fail(ErrorCode::Io, file.string(), "cannot open for reading");
    bool skipPartial = false;
    if (begin > 0) {
        // Start one byte early: if that byte is a newline, `begin` is the start of a whole line.
        stream.seekg(begin - 1);
        skipPartial = true;
    }
    LineRef ref{begin == 0 ? 1 : 0, begin > 0 ? begin - 1 : 0};
    int64_t position = ref.byteOffset;
    std::string line;
    std::vector<char> chunk(64 << 10);
    while (position < end) {
        const auto want = static_cast<std::streamsize>(std::min<int64_t>(chunk.size(), end - position));
        stream.read(chunk.data(), want);
        const std::streamsize got = stream.gcount();
        if (got <= 0) break;
        for (std::streamsize i = 0; i < got; ++i) {
            const char c = chunk[static_cast<size_t>(i)];
            ++position;
            if (c != '\n') {
                if (line.size() >= kMaxLineBytes && !skipPartial)
                    failInput(file.string(), ref.describe() + " is longer than 1 MiB; metrics lines are short");
                if (!skipPartial) line.push_back(c);
                continue;
            }
            if (skipPartial) {
                skipPartial = false;
            } else {
                if (!onLine(line, ref)) return;
                if (ref.number > 0) ++ref.number;
            }
            line.clear();
            ref.byteOffset = position;
        }
    }
}

int64_t count(const Json& event, const char* key, const std::string& path, const std::string& where) {
    if (!event.contains(key)) failInput(path, where + " has no \"" + key + "\"");
    return io::jsonInteger(event[key], path, where + " \"" + key + "\"", 0, kMaxCount);
}

// A loss or rate; a diverged run writes NaN or infinity, which JSON records as null.
double number(const Json& event, const char* key, const std::string& path, const std::string& where,
              bool required) {
    if (!event.contains(key)) {
        if (required) failInput(path, where + " has no \"" + key + "\"");
        return 0;
    }
    if (event[key].is_null()) return std::numeric_limits<double>::quiet_NaN();
    return io::jsonNumber(event[key], path, where + " \"" + key + "\"");
}

std::string text(const Json& event, const char* key, const std::string& path, const std::string& where,
                 const std::string& fallback) {
    if (!event.contains(key)) return fallback;
    return io::jsonString(event[key], path, where + " \"" + key + "\"");
}

// Adds one line's event to `history`; throws InvalidInput naming the file and the line when it is malformed.
void addEvent(const std::string& line, const LineRef& ref, const std::string& path, RunHistory& history) {
    const std::string where = ref.describe();
    const Json event = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object())
        failInput(path, where + " is not a JSON object: '" + io::printableExcerpt(line) + "'");
    if (!event.contains("type") || !event["type"].is_string()) failInput(path, where + " has no string \"type\"");
    const std::string& type = event["type"].get_ref<const std::string&>();
    if (type == "loss") {
        LossEvent loss;
        loss.step = count(event, "step", path, where);
        loss.tokens = count(event, "tokens", path, where);
        loss.lmLoss = number(event, "lm_loss", path, where, true);
        loss.learningRate = number(event, "lr", path, where, false);
        loss.gradNorm = number(event, "grad_norm", path, where, false);
        loss.fusionLoss = number(event, "fusion_loss", path, where, false);
        loss.tokensPerSecond = number(event, "tokens_per_second", path, where, false);
        loss.elapsedSeconds = number(event, "time_s", path, where, false);
        loss.phase = text(event, "phase", path, where, "pretrain");
        history.losses.push_back(std::move(loss));
    } else if (type == "validation") {
        ValidationEvent validation;
        validation.step = count(event, "step", path, where);
        validation.tokens = count(event, "tokens", path, where);
        validation.loss = number(event, "loss", path, where, true);
        validation.perplexity = number(event, "perplexity", path, where, false);
        validation.accuracy = number(event, "accuracy", path, where, false);
        if (event.contains("predicted_tokens"))
            validation.predictedTokens = count(event, "predicted_tokens", path, where);
        history.validations.push_back(validation);
        history.validationModels.push_back(text(event, "model", path, where, ""));
    } else if (type == "checkpoint") {
        CheckpointEvent checkpoint;
        checkpoint.step = count(event, "step", path, where);
        if (event.contains("tokens")) checkpoint.tokens = count(event, "tokens", path, where);
        checkpoint.path = text(event, "path", path, where, "");
        checkpoint.reason = text(event, "reason", path, where, "");
        history.checkpoints.push_back(std::move(checkpoint));
    } else if (type == "export") {
        history.exported = true;
    }
}

int64_t fileSize(const fs::path& file) {
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error) fail(ErrorCode::Io, file.string(), "cannot read its size: " + error.message());
    return static_cast<int64_t>(size);
}

// checkpoints/latest: the step of the checkpoint it names, or nullopt when there is none. Mirrors
// training::latestCheckpoint, whose header needs torch.
std::optional<int64_t> latestCheckpointStep(const fs::path& runDir) {
    const fs::path latest = runDir / "checkpoints" / "latest";
    std::error_code error;
    if (!fs::exists(latest, error)) return std::nullopt;
    std::string name = io::readSmallFile(latest, 4096);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    const bool wellFormed = name.size() >= 11 && name.size() <= 20 && name.compare(0, 5, "step-") == 0 &&
                            std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!wellFormed)
        failInput(latest.string(), "does not name a checkpoint (expected step-NNNNNN, found '" +
                                       io::printableExcerpt(name) + "')");
    if (!fs::is_directory(runDir / "checkpoints" / name, error))
        failInput(latest.string(), "names " + name + ", which does not exist");
    return std::stoll(name.substr(5));
}

const Json& member(const Json& json, const char* key, const std::string& path) {
    if (!json.contains(key)) failInput(path, std::string("has no \"") + key + "\"");
    return json[key];
}

void readRunJson(const fs::path& runDir, RunSummary& summary) {
    const fs::path file = runDir / "run.json";
    const std::string path = file.string();
    const Json json = io::parseJsonStrict(io::readSmallFile(file, 16 << 20), path);
    io::jsonObject(json, path, "run.json");
    const std::string format =
        json.contains("format") && json["format"].is_string() ? json["format"].get<std::string>() : "";
    if (format == "dha-convert-run") {
        const ConvertSpec spec = loadConvertSpec(runDir);
        summary.kind = "convert";
        summary.method = convertMethodName(spec.method);
        summary.budget = spec.budget ? spec.budget->describe() : "plan";
        for (const char* key : {"search_steps", "fusion_steps", "continued_steps"}) {
            // Runs recorded before the search existed have no search_steps: they ran without one.
            if (std::string(key) == "search_steps" && !json.contains(key)) continue;
            summary.totalSteps += io::jsonInteger(member(json, key, path), path, key, 0, kMaxCount);
        }
    } else if (format == "dha-pretrain-run") {
        summary.kind = "pretrain";
        summary.method = "pretrain";
        summary.totalSteps = io::jsonInteger(member(json, "total_steps", path), path, "total_steps", 0, kMaxCount);
    } else {
        failInput(path, "is not the run.json of a conversion or a pretraining run (\"format\": \"dha-convert-run\" "
                        "or \"dha-pretrain-run\" expected)");
    }
}

}  // namespace

RunHistory loadRunHistory(const fs::path& runDir) {
    RunHistory history;
    const fs::path file = runDir / "metrics.jsonl";
    std::error_code error;
    if (!fs::exists(file, error)) return history;
    const std::string path = file.string();
    forEachLine(file, 0, fileSize(file), [&](const std::string& line, const LineRef& ref) {
        addEvent(line, ref, path, history);
        return true;
    });
    return history;
}

RunSummary summariseRun(const fs::path& runDir) {
    RunSummary summary;
    summary.runDir = runDir;
    summary.name = runDir.filename().string();
    try {
        readRunJson(runDir, summary);
        summary.checkpointStep = latestCheckpointStep(runDir).value_or(0);
        const fs::path metrics = runDir / "metrics.jsonl";
        RunHistory head;
        RunHistory tail;
        std::error_code error;
        if (fs::exists(metrics, error)) {
            const std::string path = metrics.string();
            const int64_t size = fileSize(metrics);
            forEachLine(metrics, 0, std::min(size, kSummaryHeadBytes), [&](const std::string& line, const LineRef& ref) {
                addEvent(line, ref, path, head);
                return head.losses.empty();  // the source is measured before the first step
            });
            forEachLine(metrics, std::max<int64_t>(0, size - kSummaryTailBytes), size,
                        [&](const std::string& line, const LineRef& ref) {
                            addEvent(line, ref, path, tail);
                            return true;
                        });
        }
        for (size_t i = 0; i < head.validations.size(); ++i)
            if (head.validationModels[i] == "source") summary.sourceHeldOut = head.validations[i].loss;
        if (!tail.losses.empty()) {
            const LossEvent& last = tail.losses.back();
            summary.stepsDone = last.step;
            summary.tokensDone = last.tokens;
            summary.phase = last.phase;
            summary.lastLmLoss = last.lmLoss;
        }
        if (fs::exists(runDir / "export", error)) {
            summary.state = "finished";
            summary.totalSteps = summary.stepsDone;  // a fusion that converged early ends the run sooner
            if (!tail.validations.empty() && tail.validationModels.back() != "source")
                summary.finalHeldOut = tail.validations.back().loss;
        } else {
            summary.state = summary.checkpointStep > 0 ? "resumable" : "new";
        }
    } catch (const Exception& exception) {
        summary.state = "unreadable";
        summary.error = exception.error().describe();
    } catch (const std::exception& exception) {
        summary.state = "unreadable";
        summary.error = runDir.string() + ": " + exception.what();
    }
    return summary;
}

std::vector<RunSummary> listRuns(const fs::path& folder) {
    std::vector<fs::path> directories;
    std::error_code error;
    for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        std::error_code entryError;
        if (it->is_directory(entryError) && fs::is_regular_file(it->path() / "run.json", entryError))
            directories.push_back(it->path());
    }
    std::sort(directories.begin(), directories.end());
    std::vector<RunSummary> runs;
    runs.reserve(directories.size());
    for (const fs::path& directory : directories) runs.push_back(summariseRun(directory));
    return runs;
}

}  // namespace dha
