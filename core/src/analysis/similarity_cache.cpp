// The analysis cache: JSON written atomically, read back strictly (it is a file the user can edit or break).
#include "analysis/similarity_cache.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"

namespace dha::analysis {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kFormatVersion = 1;

Json matrixToJson(const Matrix& matrix) {
    Json rows = Json::array();
    for (int i = 0; i < matrix.rows; ++i) {
        Json row = Json::array();
        for (int j = 0; j < matrix.cols; ++j) row.push_back(static_cast<double>(matrix.at(i, j)));
        rows.push_back(std::move(row));
    }
    return rows;
}

// A size x size similarity matrix in [low, 1], symmetric, with a unit diagonal.
Matrix matrixFromJson(const Json& json, int size, float low, const std::string& path,
                      const std::string& name) {
    const Json& rows = io::jsonArray(json, path, name);
    if (rows.size() != static_cast<size_t>(size)) {
        failInput(path,
                  name + " has " + std::to_string(rows.size()) + " rows, expected " + std::to_string(size));
    }
    Matrix matrix(size, size);
    for (int i = 0; i < size; ++i) {
        const std::string rowName = name + "[" + std::to_string(i) + "]";
        const Json& row = io::jsonArray(rows[static_cast<size_t>(i)], path, rowName);
        if (row.size() != static_cast<size_t>(size)) {
            failInput(path, rowName + " has " + std::to_string(row.size()) + " values, expected " +
                                std::to_string(size));
        }
        for (int j = 0; j < size; ++j) {
            const std::string valueName = rowName + "[" + std::to_string(j) + "]";
            const double value = io::jsonNumber(row[static_cast<size_t>(j)], path, valueName);
            if (value < low || value > 1.0) {
                failInput(path, valueName + " is " + std::to_string(value) + ", outside [" +
                                    std::to_string(low) + ", 1]");
            }
            matrix.at(i, j) = static_cast<float>(value);
        }
    }
    for (int i = 0; i < size; ++i) {
        if (matrix.at(i, i) != 1.0f)
            failInput(path,
                      name + " has " + std::to_string(matrix.at(i, i)) + " on its diagonal, expected 1");
        for (int j = 0; j < i; ++j) {
            if (matrix.at(i, j) != matrix.at(j, i)) failInput(path, name + " is not symmetric");
        }
    }
    return matrix;
}

const Json& member(const Json& object, const char* name, const std::string& path) {
    const auto it = object.find(name);
    if (it == object.end()) failInput(path, std::string("missing \"") + name + "\"");
    return *it;
}

// Each value of a matrix is written as a double of up to ~24 characters plus separators.
size_t maxCacheBytes(const ModelConfig& config) {
    size_t values = 0;
    for (const HeadLayout& layout : config.layers) {
        values += static_cast<size_t>(layout.numKeyHeads) * layout.numKeyHeads +
                  static_cast<size_t>(layout.numValueHeads) * layout.numValueHeads;
    }
    return values * 32 + (size_t{1} << 16) + config.layers.size() * 256;
}

}  // namespace

Json weightFilesStamp(const io::SafetensorsCheckpoint& checkpoint) {
    Json files = Json::array();
    for (const auto& file : checkpoint.files()) {
        struct stat info {};
        if (::stat(file->path().c_str(), &info) != 0) {
            const int error = errno;
            fail(ErrorCode::Io, file->path().string(), std::string("cannot stat: ") + std::strerror(error));
        }
        const int64_t modifiedNs =
            static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
        files.push_back({{"name", file->path().filename().string()},
                         {"bytes", static_cast<int64_t>(info.st_size)},
                         {"modified_ns", modifiedNs}});
    }
    return files;
}

fs::path similarityCachePath(const fs::path& runDir, SimilarityMetric metric) {
    return runDir / "analysis" / (std::string(similarityMetricName(metric)) + ".json");
}

void writeSimilarityCache(const fs::path& path, const SimilarityCacheKey& key,
                          const SimilarityReport& report) {
    Json layers = Json::array();
    for (const LayerSimilarity& layer : report.layers) {
        layers.push_back(
            {{"layer", layer.layer}, {"key", matrixToJson(layer.key)}, {"value", matrixToJson(layer.value)}});
    }
    const Json json = {{"format_version", kFormatVersion},
                       {"metric", similarityMetricName(key.metric)},
                       {"model_fingerprint", key.modelFingerprint},
                       {"settings", key.settings},
                       {"weight_files", key.weightFiles},
                       {"pre_rope_keys", report.preRopeKeys},
                       {"calibration_tokens", report.calibrationTokens},
                       {"layers", std::move(layers)}};
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error)
        fail(ErrorCode::Io, path.parent_path().string(), "cannot create directory: " + error.message());
    io::writeFileAtomically(path, json.dump() + "\n");
}

std::optional<SimilarityReport> readSimilarityCache(const fs::path& path, const SimilarityCacheKey& key,
                                                    const ModelConfig& config, std::string* staleReason) {
    std::error_code error;
    if (!fs::exists(path, error)) return std::nullopt;
    const std::string file = path.string();
    const Json json = io::parseJsonStrict(io::readSmallFile(path, maxCacheBytes(config)), file);
    io::jsonObject(json, file, "the file");
    const auto stale = [&](const std::string& reason) {
        if (staleReason) *staleReason = reason;
        return std::nullopt;
    };
    if (io::jsonInteger(member(json, "format_version", file), file, "format_version", 0, 1 << 20) !=
        kFormatVersion) {
        return stale("it has another format version");
    }
    if (io::jsonString(member(json, "metric", file), file, "metric") != similarityMetricName(key.metric)) {
        return stale("it holds another metric");
    }
    if (io::jsonString(member(json, "model_fingerprint", file), file, "model_fingerprint") !=
        key.modelFingerprint) {
        return stale("it was computed for another model");
    }
    if (io::jsonObject(member(json, "settings", file), file, "settings") != key.settings) {
        return stale("it was computed with other settings");
    }
    if (io::jsonArray(member(json, "weight_files", file), file, "weight_files") != key.weightFiles) {
        return stale("the weight files have changed since");
    }

    SimilarityReport report;
    report.metric = key.metric;
    report.modelFingerprint = key.modelFingerprint;
    report.preRopeKeys = io::jsonBool(member(json, "pre_rope_keys", file), file, "pre_rope_keys");
    report.calibrationTokens = io::jsonInteger(member(json, "calibration_tokens", file), file,
                                               "calibration_tokens", 0, int64_t{1} << 40);
    const Json& layers = io::jsonArray(member(json, "layers", file), file, "layers");
    if (layers.size() != config.layers.size()) {
        failInput(file, "has " + std::to_string(layers.size()) + " layers, the model has " +
                            std::to_string(config.layers.size()));
    }
    const float low =
        key.metric == SimilarityMetric::WeightCka || key.metric == SimilarityMetric::ActivationCka ? 0.0f
                                                                                                   : -1.0f;
    for (size_t index = 0; index < layers.size(); ++index) {
        const std::string name = "layers[" + std::to_string(index) + "]";
        const Json& item = io::jsonObject(layers[index], file, name);
        LayerSimilarity layer;
        layer.layer =
            static_cast<int>(io::jsonInteger(member(item, "layer", file), file, name + ".layer", 0, 1 << 20));
        if (layer.layer != static_cast<int>(index))
            failInput(file, name + ".layer is " + std::to_string(layer.layer) + ", expected " +
                                std::to_string(index));
        const HeadLayout& layout = config.layers[index];
        layer.key = matrixFromJson(member(item, "key", file), layout.numKeyHeads, low, file, name + ".key");
        layer.value =
            matrixFromJson(member(item, "value", file), layout.numValueHeads, low, file, name + ".value");
        report.layers.push_back(std::move(layer));
    }
    return report;
}

}  // namespace dha::analysis
