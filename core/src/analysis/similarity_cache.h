// <runDir>/analysis/<metric>.json: a finished analysis, reused when the model and the settings match.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dha/model_config.h"
#include "dha/similarity.h"
#include "io/safetensors.h"

namespace dha::analysis {

// What a cached report must match to be reused.
struct SimilarityCacheKey {
    SimilarityMetric metric = SimilarityMetric::WeightCka;
    std::string modelFingerprint;
    nlohmann::json settings = nlohmann::json::object();  // everything else that changes the matrices
    // The weight files' names, sizes and modification times: the fingerprint covers shapes, not data, so
    // this is what notices a model retrained (or edited) in place.
    nlohmann::json weightFiles = nlohmann::json::array();
};

// Name, size and modification time (ns) of each weight file of the checkpoint.
nlohmann::json weightFilesStamp(const io::SafetensorsCheckpoint& checkpoint);

std::filesystem::path similarityCachePath(const std::filesystem::path& runDir, SimilarityMetric metric);

// Writes the report's matrices (not its summaries, which are recomputed) atomically, creating the directory.
void writeSimilarityCache(const std::filesystem::path& path, const SimilarityCacheKey& key,
                          const SimilarityReport& report);

// The cached report (matrices, calibration tokens, key RoPE setting; summaries and seconds left empty), or
// nullopt when there is no file or it was written for another model or other settings (then *staleReason
// says which). The file is untrusted: anything malformed (syntax, types, sizes that do not match `config`'s
// layers, values outside the metric's range, a matrix that is not symmetric with a unit diagonal) throws
// InvalidInput naming the file.
std::optional<SimilarityReport> readSimilarityCache(const std::filesystem::path& path,
                                                    const SimilarityCacheKey& key, const ModelConfig& config,
                                                    std::string* staleReason);

}  // namespace dha::analysis
