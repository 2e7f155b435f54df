// run.json: writing, reading and comparing a pretraining run's settings.
#include "training/run_record.h"

#include <functional>
#include <vector>

#include "dha/error.h"
#include "dha/runtime.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/sha256.h"

namespace dha::training {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunFormat = "dha-pretrain-run";
constexpr int64_t kMaxCount = int64_t{1} << 53;

// One spec field: its JSON key, how to write it and how to read it back.
struct Field {
    const char* key;
    std::function<nlohmann::json(const PretrainSpec&)> get;
    std::function<void(PretrainSpec&, const nlohmann::json&, const std::string&)> set;
};

Field intField(const char* key, int PretrainSpec::*member, int64_t min, int64_t max) {
    return {
        key, [member](const PretrainSpec& spec) { return nlohmann::json(spec.*member); },
        [key, member, min, max](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
            spec.*member = static_cast<int>(io::jsonInteger(value, path, key, min, max));
        }};
}
Field countField(const char* key, int64_t PretrainSpec::*member) {
    return {key, [member](const PretrainSpec& spec) { return nlohmann::json(spec.*member); },
            [key, member](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
                spec.*member = io::jsonInteger(value, path, key, 0, kMaxCount);
            }};
}
Field numberField(const char* key, double PretrainSpec::*member) {
    return {key, [member](const PretrainSpec& spec) { return nlohmann::json(spec.*member); },
            [key, member](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
                spec.*member = io::jsonNumber(value, path, key);
            }};
}
Field pathField(const char* key, fs::path PretrainSpec::*member) {
    return {key, [member](const PretrainSpec& spec) { return nlohmann::json((spec.*member).string()); },
            [key, member](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
                spec.*member = io::jsonString(value, path, key);
            }};
}

const std::vector<Field>& fields() {
    static const std::vector<Field> table = {
        pathField("text", &PretrainSpec::trainText),
        pathField("validation", &PretrainSpec::validationText),
        pathField("tokenizer", &PretrainSpec::tokenizerFile),
        pathField("init", &PretrainSpec::initModelDir),
        intField("layers", &PretrainSpec::numLayers, 1, 1024),
        intField("hidden", &PretrainSpec::hiddenSize, 1, 1 << 16),
        intField("heads", &PretrainSpec::numQueryHeads, 1, 1024),
        intField("kv_heads", &PretrainSpec::numKeyValueHeads, 0, 1024),
        intField("intermediate", &PretrainSpec::intermediateSize, 0, 1 << 20),
        numberField("rope_theta", &PretrainSpec::ropeTheta),
        {"tied", [](const PretrainSpec& spec) { return nlohmann::json(spec.tieWordEmbeddings); },
         [](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
             spec.tieWordEmbeddings = io::jsonBool(value, path, "tied");
         }},
        numberField("init_std", &PretrainSpec::initStd),
        intField("context", &PretrainSpec::contextLength, 1, 1 << 20),
        intField("batch", &PretrainSpec::batchSize, 1, 1 << 16),
        countField("tokens", &PretrainSpec::trainingTokens),
        numberField("lr", &PretrainSpec::peakLearningRate),
        numberField("min_lr", &PretrainSpec::minLearningRate),
        countField("warmup", &PretrainSpec::warmupSteps),
        numberField("beta1", &PretrainSpec::beta1),
        numberField("beta2", &PretrainSpec::beta2),
        numberField("adam_eps", &PretrainSpec::adamEpsilon),
        numberField("weight_decay", &PretrainSpec::weightDecay),
        numberField("clip", &PretrainSpec::gradientClip),
        {"seed", [](const PretrainSpec& spec) { return nlohmann::json(spec.seed); },
         [](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
             spec.seed = static_cast<uint64_t>(io::jsonInteger(value, path, "seed", 0, INT64_MAX));
         }},
        {"dtype", [](const PretrainSpec& spec) { return nlohmann::json(spec.dtype); },
         [](PretrainSpec& spec, const nlohmann::json& value, const std::string& path) {
             spec.dtype = io::jsonString(value, path, "dtype");
             if (spec.dtype != "fp32" && spec.dtype != "bf16")
                 failInput(path, "dtype must be \"fp32\" or \"bf16\"");
         }},
        countField("checkpoint_steps", &PretrainSpec::checkpointEverySteps),
        numberField("checkpoint_seconds", &PretrainSpec::checkpointEverySeconds),
        intField("keep", &PretrainSpec::keepCheckpoints, 1, 1000),
        countField("val_every", &PretrainSpec::validateEverySteps),
        countField("val_tokens", &PretrainSpec::validationTokens),
    };
    return table;
}

nlohmann::json fingerprintToJson(const FileFingerprint& file) {
    if (file.sha256.empty()) return nullptr;
    return {{"path", file.path.string()}, {"bytes", file.bytes}, {"sha256", file.sha256}};
}

FileFingerprint fingerprintFromJson(const nlohmann::json& json, const std::string& path,
                                    const std::string& name) {
    FileFingerprint file;
    if (json.is_null()) return file;
    io::jsonObject(json, path, name);
    if (!json.contains("path") || !json.contains("bytes") || !json.contains("sha256")) {
        failInput(path, name + " needs path, bytes and sha256");
    }
    file.path = io::jsonString(json["path"], path, name + ".path");
    file.bytes = static_cast<uint64_t>(io::jsonInteger(json["bytes"], path, name + ".bytes", 0, kMaxCount));
    file.sha256 = io::jsonString(json["sha256"], path, name + ".sha256");
    if (file.sha256.size() != 64) failInput(path, name + ".sha256 is not a SHA-256 digest");
    return file;
}

const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& path) {
    if (!object.contains(key)) failInput(path, std::string("has no \"") + key + "\"");
    return object[key];
}

}  // namespace

FileFingerprint fingerprintFile(const fs::path& path) {
    FileFingerprint file;
    std::error_code error;
    if (path.empty() || !fs::is_regular_file(path, error))
        failInput(path.string(), "does not exist or is not a regular file");
    file.path = fs::absolute(path).lexically_normal();
    file.bytes = fs::file_size(path);
    file.sha256 = io::sha256OfFile(path);
    return file;
}

nlohmann::json specToJson(const PretrainSpec& spec) {
    nlohmann::json json = nlohmann::json::object();
    for (const Field& field : fields()) json[field.key] = field.get(spec);
    return json;
}

PretrainSpec specFromJson(const nlohmann::json& json, const std::string& pathForErrors) {
    io::jsonObject(json, pathForErrors, "spec");
    PretrainSpec spec;
    for (const Field& field : fields())
        field.set(spec, member(json, field.key, pathForErrors), pathForErrors);
    return spec;
}

fs::path runJsonPath(const fs::path& runDir) { return runDir / "run.json"; }

void writeRunRecord(const fs::path& runDir, const RunRecord& record) {
    const nlohmann::json json = {
        {"format", kRunFormat},
        {"version", 1},
        {"spec", specToJson(record.spec)},
        {"text", fingerprintToJson(record.text)},
        {"validation", fingerprintToJson(record.validation)},
        {"tokenizer", fingerprintToJson(record.tokenizer)},
        {"model_config", io::parseJsonStrict(serializeModelConfig(record.modelConfig), "model config")},
        {"total_steps", record.totalSteps},
        {"tokens_per_step", record.tokensPerStep},
        {"parameters", record.parameterCount},
        {"versions", {{"dha", DHA_VERSION}, {"runtime", runtimeDescription()}}},
    };
    io::writeFileAtomically(runJsonPath(runDir), json.dump(2) + "\n");
}

RunRecord readRunRecord(const fs::path& runDir) {
    const fs::path file = runJsonPath(runDir);
    const std::string path = file.string();
    std::error_code error;
    if (!fs::exists(file, error)) {
        failInput(runDir.string(), "is not a pretraining run directory (it has no run.json)");
    }
    const nlohmann::json json = io::parseJsonStrict(io::readSmallFile(file, 16 << 20), path);
    io::jsonObject(json, path, "run");
    if (!json.contains("format") || !json["format"].is_string() || json["format"] != kRunFormat) {
        failInput(path,
                  std::string("is not a pretraining run (\"format\": \"") + kRunFormat + "\" expected)");
    }
    RunRecord record;
    record.spec = specFromJson(member(json, "spec", path), path);
    record.spec.runDir = runDir;
    record.spec.resume = true;
    record.text = fingerprintFromJson(member(json, "text", path), path, "text");
    record.validation = fingerprintFromJson(member(json, "validation", path), path, "validation");
    record.tokenizer = fingerprintFromJson(member(json, "tokenizer", path), path, "tokenizer");
    if (record.text.sha256.empty() || record.tokenizer.sha256.empty())
        failInput(path, "records no text or tokenizer");
    record.modelConfig =
        parseModelConfig(io::jsonObject(member(json, "model_config", path), path, "model_config").dump(),
                         path + " (model_config)");
    record.totalSteps = io::jsonInteger(member(json, "total_steps", path), path, "total_steps", 1, kMaxCount);
    record.tokensPerStep =
        io::jsonInteger(member(json, "tokens_per_step", path), path, "tokens_per_step", 1, kMaxCount);
    record.parameterCount =
        io::jsonInteger(member(json, "parameters", path), path, "parameters", 0, kMaxCount);
    return record;
}

void checkSameTraining(const PretrainSpec& given, const RunRecord& recorded, const fs::path& runJson) {
    const nlohmann::json now = specToJson(given);
    const nlohmann::json then = specToJson(recorded.spec);
    std::vector<std::string> compared = {"context", "batch", "lr",        "min_lr",       "warmup",
                                         "beta1",   "beta2", "adam_eps",  "weight_decay", "clip",
                                         "seed",    "dtype", "val_tokens"};
    if (recorded.spec.initModelDir.empty()) {
        for (const char* key :
             {"layers", "hidden", "heads", "kv_heads", "intermediate", "rope_theta", "tied", "init_std"}) {
            compared.emplace_back(key);
        }
    }
    for (const std::string& key : compared) {
        if (now[key] == then[key]) continue;
        if ((key == "kv_heads" || key == "intermediate" || key == "warmup") && now[key] == 0) continue;
        std::string flag = "--" + key;
        for (char& c : flag) c = c == '_' ? '-' : c;
        std::string message = flag + " " + now[key].dump() + " differs from " + then[key].dump() +
                              ", the value this run was started with";
        if (key == "tied")
            message = std::string("--untied ") + (given.tieWordEmbeddings ? "is absent" : "is given") +
                      ", but this run was started " + (recorded.spec.tieWordEmbeddings ? "without" : "with") +
                      " it";
        failInput(runJson.string(), message,
                  "resume with the run's settings (only --tokens may change), or start a new run");
    }
    const auto normalised = [](const fs::path& path) {
        return path.empty() ? path : fs::absolute(path).lexically_normal();
    };
    if (normalised(given.initModelDir) != normalised(recorded.spec.initModelDir)) {
        failInput(runJson.string(), "--init '" + given.initModelDir.string() + "' differs from '" +
                                        recorded.spec.initModelDir.string() +
                                        "', the model this run was started from");
    }
}

void checkSameFile(const fs::path& given, const FileFingerprint& recorded, const char* what) {
    if (given.empty() != recorded.sha256.empty()) {
        failInput(
            given.empty() ? recorded.path.string() : given.string(),
            std::string("this run was started ") + (given.empty() ? "with" : "without") + " this " + what,
            "resume with the run's settings");
    }
    if (given.empty()) return;
    const FileFingerprint now = fingerprintFile(given);
    if (now.sha256 != recorded.sha256) {
        failInput(given.string(),
                  std::string("the ") + what + " differs from the one this run was started with (SHA-256 " +
                      now.sha256.substr(0, 12) + "..., run.json records " + recorded.sha256.substr(0, 12) +
                      "...)",
                  "resume with the original file, or start a new run");
    }
}

}  // namespace dha::training
