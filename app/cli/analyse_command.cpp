// `dha analyse [DIR]`: per layer, how similar the key heads are to each other and the value heads, with a
// redundancy summary, the full matrices (--json, --csv) and a PNG figure of every layer (--png).
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis_options.h"
#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/similarity.h"
#include "dha/similarity_image.h"
#include "embedded_defaults.h"

namespace dha::cli {
namespace {

nlohmann::json matrixJson(const Matrix& matrix) {
    nlohmann::json rows = nlohmann::json::array();
    for (int r = 0; r < matrix.rows; ++r) {
        nlohmann::json row = nlohmann::json::array();
        for (int c = 0; c < matrix.cols; ++c) row.push_back(matrix.at(r, c));
        rows.push_back(std::move(row));
    }
    return rows;
}

nlohmann::json summaryJson(const RedundancySummary& summary) {
    return {{"mean_off_diagonal", summary.meanOffDiagonal},
            {"max_off_diagonal", summary.maxOffDiagonal},
            {"heads_for_90_percent", summary.headsFor90Percent}};
}

void printJson(const SimilarityReport& report, const std::string& modelDir) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerSimilarity& layer : report.layers) {
        layers.push_back({{"layer", layer.layer},
                          {"key", matrixJson(layer.key)},
                          {"value", matrixJson(layer.value)},
                          {"key_summary", summaryJson(layer.keySummary)},
                          {"value_summary", summaryJson(layer.valueSummary)}});
    }
    nlohmann::json json = {{"model", modelDir},
                           {"metric", similarityMetricName(report.metric)},
                           {"model_fingerprint", report.modelFingerprint},
                           {"seconds", report.seconds},
                           {"layers", layers}};
    if (isActivationMetric(report.metric)) {
        json["calibration_tokens"] = report.calibrationTokens;
        json["pre_rope_keys"] = report.preRopeKeys;
    }
    std::cout << json.dump(2) << "\n";
}

// Long form, one row per matrix entry: easy to load into a spreadsheet or a data frame.
void printCsv(const SimilarityReport& report) {
    std::printf("layer,kind,head_a,head_b,similarity\n");
    for (const LayerSimilarity& layer : report.layers) {
        for (const auto& [kind, matrix] : {std::pair<const char*, const Matrix*>{"key", &layer.key},
                                           std::pair<const char*, const Matrix*>{"value", &layer.value}}) {
            for (int r = 0; r < matrix->rows; ++r)
                for (int c = 0; c < matrix->cols; ++c)
                    std::printf("%d,%s,%d,%d,%.6f\n", layer.layer, kind, r, c, matrix->at(r, c));
        }
    }
}

std::string bar(double value, int width) {
    const int filled = static_cast<int>(value <= 0 ? 0 : value >= 1 ? width : value * width + 0.5);
    return std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.');
}

void printSummary(const SimilarityReport& report) {
    std::printf("Metric   %s%s\n", similarityMetricName(report.metric),
                isActivationMetric(report.metric)
                    ? (" over " + std::to_string(report.calibrationTokens) + " calibration tokens, keys " +
                       (report.preRopeKeys ? "before" : "after") + " RoPE")
                          .c_str()
                    : " of the projection weights");
    std::printf("Layers   %zu, analysed in %.2f s\n\n", report.layers.size(), report.seconds);
    std::printf("Redundancy per layer: mean off-diagonal similarity (bar), max, and the heads needed for 90%%\n"
                "of the similarity matrix's trace (fewer = more redundant).\n\n");
    std::printf("layer  key heads                                  value heads\n");
    std::printf("       mean  %-20s max   90%%   mean  %-20s max   90%%\n", "", "");
    for (const LayerSimilarity& layer : report.layers) {
        const RedundancySummary& k = layer.keySummary;
        const RedundancySummary& v = layer.valueSummary;
        std::printf("%5d  %.2f  %s  %.2f  %2d/%-2d  %.2f  %s  %.2f  %2d/%-2d\n", layer.layer, k.meanOffDiagonal,
                    bar(k.meanOffDiagonal, 20).c_str(), k.maxOffDiagonal, k.headsFor90Percent, layer.key.rows,
                    v.meanOffDiagonal, bar(v.meanOffDiagonal, 20).c_str(), v.maxOffDiagonal,
                    v.headsFor90Percent, layer.value.rows);
    }
}

}  // namespace

int runAnalyseCommand(int argc, char** argv) {
    ArgParser args("dha analyse", "Show how similar each layer's key heads are to each other, and its value "
                                  "heads: the redundancy a conversion removes.");
    args.setDescription(
        "cka (the default) is linear CKA of the heads' projection weights: blind to a rotation or scaling of a\n"
        "head's output, so heads doing the same job score high even when their raw weights differ. cosine\n"
        "compares the raw weights. act-cka and act-cosine compare the heads' key and value outputs over a\n"
        "calibration text (a forward pass, streamed layer by layer). Text output is a per-layer redundancy\n"
        "summary; --json and --csv give every matrix; --png draws every layer's key and value heatmaps.");
    args.addPositional("DIR", "model directory; default: the embedded dha-teacher model", false);
    addAnalysisOptions(args);
    args.addOption("png", "FILE", "write a PNG figure of every layer's key and value heatmaps");
    args.addFlag("json", "print the summary and every matrix as JSON");
    args.addFlag("csv", "print every matrix entry as CSV (layer,kind,head_a,head_b,similarity)");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;
    if (args.flag("json") && args.flag("csv")) throw UsageError("--json and --csv are exclusive");

    const AnalyseSpec spec = analyseSpecFromArgs(args, modelDirOrEmbedded(args.value("DIR")));

    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(args.flag("quiet"));
    const auto result = runAnalyseJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) return reportFailure("dha analyse", result);
    const SimilarityReport& report = *result.value;

    if (args.has("png")) {
        try {
            writeSimilarityPng(report, args.value("png"));
        } catch (const Exception& error) {
            return reportError("dha analyse", JobStatus::Failed, error.error());
        }
    }
    if (args.flag("json")) {
        printJson(report, spec.modelDir.string());
    } else if (args.flag("csv")) {
        printCsv(report);
    } else {
        printSummary(report);
        if (args.has("png")) std::printf("\nFigure   %s\n", args.value("png").c_str());
    }
    return kExitOk;
}

}  // namespace dha::cli
