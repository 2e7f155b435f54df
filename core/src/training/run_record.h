// run.json of a pretraining run (the spec with resolved defaults, data and tokenizer fingerprints, the model
// config, versions) and the checks that decide whether a resume may continue it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "dha/model_config.h"
#include "dha/pretraining.h"

namespace dha::training {

struct FileFingerprint {
    std::filesystem::path path;  // absolute
    uint64_t bytes = 0;
    std::string sha256;  // empty when there is no file
};

// Hashes the file (errors name it).
FileFingerprint fingerprintFile(const std::filesystem::path& path);

struct RunRecord {
    PretrainSpec spec;  // absolute paths; kv heads, intermediate size and warm-up resolved (never 0)
    FileFingerprint text;
    FileFingerprint validation;
    FileFingerprint tokenizer;
    ModelConfig modelConfig;
    int64_t totalSteps = 0;
    int64_t tokensPerStep = 0;  // batch x context
    int64_t parameterCount = 0;
};

// The spec as a JSON object whose keys are the `dha pretrain` option names with '_' for '-' ("kv_heads",
// "min_lr", ...), and back (errors name pathForErrors).
nlohmann::json specToJson(const PretrainSpec& spec);
PretrainSpec specFromJson(const nlohmann::json& json, const std::string& pathForErrors);

std::filesystem::path runJsonPath(const std::filesystem::path& runDir);
void writeRunRecord(const std::filesystem::path& runDir, const RunRecord& record);
RunRecord readRunRecord(const std::filesystem::path& runDir);

// Refuses (InvalidInput) a resume whose settings differ from the recorded run: the message names the option,
// both values and run.json. kv heads, intermediate size and warm-up given as 0 mean "as recorded"; with an
// initial model the shape is the model's and is not compared; operational settings (checkpoint and validation
// intervals, keep) and the token budget may differ.
void checkSameTraining(const PretrainSpec& given, const RunRecord& recorded,
                       const std::filesystem::path& runJson);

// Refuses a file whose content differs from its fingerprint, naming the file ("what": "training text", ...).
void checkSameFile(const std::filesystem::path& given, const FileFingerprint& recorded, const char* what);

}  // namespace dha::training
