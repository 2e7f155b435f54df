// `dha export`: a conversion run's model (or any DHA model) written again as a DHA or stock GQA checkpoint.
#include <filesystem>
#include <string>
#include <system_error>

#include "dha/conversion.h"
#include "dha/error.h"
#include "dha/export.h"
#include "dha/model_config.h"
#include "exporting/dha_export.h"
#include "exporting/export_staging.h"
#include "exporting/gqa_export.h"
#include "io/model_fingerprint.h"
#include "jobs/job_boundary.h"
#include "model/model_loader.h"

namespace dha {
namespace {

namespace fs = std::filesystem;

// What the input directory is: a run (the model is RUN/export, the source named by run.json) or a model.
struct ResolvedInput {
    fs::path modelDir;
    fs::path sourceDir;  // empty when unknown (a bare DHA model directory)
    std::string method;  // the run's conversion method; empty for a bare model
};

bool isFile(const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(path, error);
}

ResolvedInput resolveInput(const fs::path& input) {
    std::error_code error;
    if (input.empty()) fail(ErrorCode::Usage, "input", "missing the run or model directory to export");
    if (!fs::is_directory(input, error)) {
        failInput(input.string(), "no such directory",
                  "pass a conversion run directory or a DHA model directory");
    }
    ResolvedInput resolved;
    if (isFile(input / "run.json")) {
        // The run's own record (errors name run.json): which source the conversion started from.
        const ConvertSpec run = loadConvertSpec(input);
        resolved.sourceDir = run.sourceModelDir;
        resolved.method = convertMethodName(run.method);
        resolved.modelDir = input / "export";
        if (!isFile(resolved.modelDir / "config.json")) {
            failInput(input.string(), "the run has no export yet (it has not finished)",
                      "finish it with `dha convert --resume " + input.string() + "`");
        }
        return resolved;
    }
    if (!isFile(input / "config.json")) {
        failInput(input.string(),
                  "neither a conversion run (no run.json) nor a model directory (no config.json)");
    }
    resolved.modelDir = input;
    return resolved;
}

// The source the export records: the run's source directory when it is still the model the conversion
// started from (same fingerprint), else the record in the DHA model's config.json.
exporting::SourceModel sourceFor(const ResolvedInput& input, const ModelConfig& config, JobSink& sink) {
    const fs::path configPath = input.modelDir / "config.json";
    if (!input.sourceDir.empty()) {
        bool same = false;
        try {
            same = isFile(input.sourceDir / "config.json") &&
                   io::modelFingerprint(input.sourceDir) == config.dhaSource->fingerprint;
        } catch (const Exception&) {
            same = false;  // an unreadable source is not the model the export came from
        }
        if (same) return exporting::readSourceModel(input.sourceDir, config);
        sink.onLog({LogLevel::Warning, "the run's source model " + input.sourceDir.string() +
                                           " is missing or has changed since the conversion; the export "
                                           "records the source as " +
                                           configPath.string() + " does"});
    }
    return exporting::recordedSourceModel(config, input.modelDir, configPath);
}

std::string cardMethod(const std::string& method) {
    if (method == "dha") return "DHA conversion (adaptive heads fusion)";
    if (method == "gqa") return "GQA baseline (mean-pooled adjacent heads)";
    if (method == "cka-gqa") return "CKA-grouped GQA baseline (mean-pooled similar heads)";
    if (method == "dha-uniform") return "DHA ablation (uniform plan, learned fusion)";
    if (method == "dha-meanpool") return "DHA ablation (adaptive plan, mean-pooled heads)";
    return "DHA conversion";
}

int keptHeads(const ModelConfig& config) {
    int kept = 0;
    for (const HeadLayout& layout : config.layers) kept += layout.numKeyHeads + layout.numValueHeads;
    return kept;
}

ExportReport exportModel(const ExportSpec& spec, JobSink& sink, const CancelToken& cancel) {
    if (spec.outDir.empty()) fail(ErrorCode::Usage, "--out", "missing the output directory");
    exporting::checkExportTarget(spec.outDir);  // the cheapest refusal first
    const ResolvedInput input = resolveInput(spec.input);
    const fs::path configPath = input.modelDir / "config.json";
    const ModelConfig config = loadModelConfig(configPath);
    if (!config.dhaSource) {
        failInput(configPath.string(), "not a converted model: config.json has no `dha` object",
                  "`dha export` takes a conversion run or a model that `dha convert` exported");
    }
    // A plan stock GQA cannot express is refused before any weight is read; KV figures at bf16, how such
    // a model is usually served.
    if (spec.format == ExportFormat::Gqa) exporting::gqaMapping(config, io::DType::BF16);
    const exporting::SourceModel source = sourceFor(input, config, sink);

    jobs::throwIfCancelled(cancel, "loading the model");
    model::LoadOptions load;
    load.cancel = &cancel;
    load.onTensorLoaded = [&](int64_t done, int64_t total) {
        sink.onProgress({"load", done, total, "tensors", 0});
    };
    const model::LoadedModel loaded = model::loadModel(input.modelDir, load);

    exporting::ExportOptions options;
    options.cancel = &cancel;
    options.card.method = cardMethod(input.method);
    sink.onLog({LogLevel::Info, std::string("writing the ") + exportFormatName(spec.format) +
                                    " export and checking that it reloads"});
    const exporting::ExportResult result =
        spec.format == ExportFormat::Gqa
            ? exporting::exportGqaModel(loaded.model, source, spec.outDir, options)
            : exporting::exportDhaModel(loaded.model, source, spec.outDir, options);

    ExportReport report;
    report.directory = result.directory;
    report.format = spec.format;
    report.modelDir = input.modelDir;
    report.sourceModel = input.sourceDir.empty() ? source.fingerprint : input.sourceDir.string();
    report.numLayers = config.numLayers;
    report.numQueryHeads = config.numQueryHeads;
    report.keptKvHeads = keptHeads(config);
    report.sourceKvHeads = keptHeads(source.config);
    report.gqaGroups =
        spec.format == ExportFormat::Gqa ? result.reloadCheck.reloadedConfig.numKeyValueHeads : 0;
    report.kvBytesPerToken = result.kvBytesPerToken;
    report.sourceKvBytesPerToken = result.sourceKvBytesPerToken;
    report.reloadMaxAbsDifference = result.reloadCheck.maxAbsLogitDiff;
    report.reloadTolerance = result.reloadCheck.tolerance;
    report.files = result.files;
    sink.onLog({LogLevel::Info, "exported " + result.directory.string()});
    return report;
}

}  // namespace

const char* exportFormatName(ExportFormat format) { return format == ExportFormat::Gqa ? "gqa" : "dha"; }

std::optional<ExportFormat> exportFormatFromName(const std::string& name) {
    if (name == "dha") return ExportFormat::Dha;
    if (name == "gqa") return ExportFormat::Gqa;
    return std::nullopt;
}

JobResult<ExportReport> runExportJob(const ExportSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<ExportReport>([&] { return exportModel(spec, sink, cancel); });
}

}  // namespace dha
