// The export job (`dha export`): a converted model written again as a native DHA checkpoint or, where its
// plan allows, as a stock Llama GQA checkpoint, published only after a reload check (formats.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dha/job.h"

namespace dha {

enum class ExportFormat { Dha, Gqa };

// The CLI spelling ("dha", "gqa") and back; nullopt for anything else.
const char* exportFormatName(ExportFormat format);
std::optional<ExportFormat> exportFormatFromName(const std::string& name);

struct ExportSpec {
    // A conversion run directory (its run.json names the source model; the model is RUN/export) or a DHA
    // model directory (config.json with a `dha` object whose source_model records the source).
    std::filesystem::path input;
    ExportFormat format = ExportFormat::Dha;
    std::filesystem::path outDir;  // must not exist or be an empty directory
};

struct ExportReport {
    std::filesystem::path directory;  // the published export
    ExportFormat format = ExportFormat::Dha;
    std::filesystem::path modelDir;  // the model that was exported (RUN/export for a run)
    std::string sourceModel;         // the source's directory when known, else its recorded fingerprint
    int numLayers = 0;
    int numQueryHeads = 0;
    int keptKvHeads = 0;          // key + value heads over all layers
    int sourceKvHeads = 0;        // the same for the source
    int gqaGroups = 0;            // num_key_value_heads of a GQA export; 0 for DHA
    int64_t kvBytesPerToken = 0;  // fp32 (how exports store weights)
    int64_t sourceKvBytesPerToken = 0;
    double reloadMaxAbsDifference = 0;  // max |logit| difference of the reloaded export
    double reloadTolerance = 0;         // the bound it had to stay within
    std::vector<std::string> files;     // file names in the export, sorted
    double savedFraction() const {
        return sourceKvBytesPerToken > 0
                   ? 1.0 - static_cast<double>(kvBytesPerToken) / static_cast<double>(sourceKvBytesPerToken)
                   : 0.0;
    }
};

// Loads the model, writes it in spec.format into a staging directory, reloads it and compares logits with
// the in-memory model, then renames it onto spec.outDir. Errors: Usage for an occupied outDir,
// InvalidInput naming the file for an input that is neither a run nor a DHA model (or is malformed),
// Unsupported for a GQA export of a plan that stock GQA cannot express (naming the nearest GQA plan and its
// KV cost), Cancelled (nothing is published).
JobResult<ExportReport> runExportJob(const ExportSpec& spec, JobSink& sink, const CancelToken& cancel);

}  // namespace dha
