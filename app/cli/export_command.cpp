// `dha export RUN --format dha|gqa --out DIR`: write a conversion's model again as a native DHA checkpoint
// or, where its plan allows, a stock Llama GQA checkpoint; published only after a reload check.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/export.h"

namespace dha::cli {
namespace {

nlohmann::json reportJson(const ExportReport& report) {
    return {{"directory", report.directory.string()},
            {"format", exportFormatName(report.format)},
            {"model", report.modelDir.string()},
            {"source_model", report.sourceModel},
            {"num_layers", report.numLayers},
            {"num_query_heads", report.numQueryHeads},
            {"kept_heads", report.keptKvHeads},
            {"source_heads", report.sourceKvHeads},
            {"num_key_value_heads", report.gqaGroups},
            {"kv_bytes_per_token", report.kvBytesPerToken},
            {"source_kv_bytes_per_token", report.sourceKvBytesPerToken},
            {"kv_saved_fraction", report.savedFraction()},
            {"reload_max_abs_difference", report.reloadMaxAbsDifference},
            {"reload_tolerance", report.reloadTolerance},
            {"files", report.files}};
}

}  // namespace

int runExportCommand(int argc, char** argv) {
    ArgParser args("dha export",
                   "Export a conversion run's model (or any DHA model directory) as a DHA checkpoint or, "
                   "where its plan allows, a stock Llama GQA checkpoint.");
    args.setDescription(
        "RUN is a `dha convert` or `dha baseline` run directory (its model is RUN/export) or a DHA model\n"
        "directory. --format gqa needs every layer to share its key and value groups, all of equal size and\n"
        "the same count in every layer; query heads are renumbered so each group is contiguous. Other plans\n"
        "are refused with the nearest GQA plan and its KV cost. The export is written next to DIR, "
        "reloaded,\n"
        "its logits compared with the in-memory model's, and only then renamed into place.");
    args.addPositional("RUN", "conversion run directory or DHA model directory");
    args.addOption("format", "NAME", "dha (native, per-layer heads) or gqa (stock Llama)", "dha");
    args.addOption("out", "DIR", "directory to create (must not exist, or be empty)");
    args.addFlag("json", "print the report as JSON");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;
    if (!args.has("out")) throw UsageError("missing --out DIR");

    ExportSpec spec;
    spec.input = args.value("RUN");
    spec.format = *exportFormatFromName(args.choiceValue("format", {"dha", "gqa"}));
    spec.outDir = args.value("out");

    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(args.flag("quiet"));
    const auto result = runExportJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) return reportFailure("dha export", result);
    const ExportReport& report = *result.value;
    if (args.flag("json")) {
        std::cout << reportJson(report).dump(2) << "\n";
        return kExitOk;
    }
    std::printf(
        "Exported   %s (%s)\n", report.directory.string().c_str(),
        report.format == ExportFormat::Gqa
            ? ("stock GQA, " + std::to_string(report.gqaGroups) + " key/value heads per layer").c_str()
            : "DHA");
    std::printf("KV cache   %s/token, source %s/token (fp32): %.1f%% saved\n",
                formatBytes(static_cast<double>(report.kvBytesPerToken)).c_str(),
                formatBytes(static_cast<double>(report.sourceKvBytesPerToken)).c_str(),
                100.0 * report.savedFraction());
    std::printf("Reload     max |logit difference| %.3g (tolerance %.3g)\n", report.reloadMaxAbsDifference,
                report.reloadTolerance);
    return kExitOk;
}

}  // namespace dha::cli
