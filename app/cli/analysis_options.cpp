// Shared analysis options of `dha analyse` and `dha plan`.
#include "analysis_options.h"

#include "embedded_defaults.h"

namespace dha::cli {

void addMetricOption(ArgParser& args) {
    args.addOption("metric", "NAME", "cka, cosine, act-cka or act-cosine", "cka");
}

SimilarityMetric metricFromArgs(const ArgParser& args) {
    const auto metric = similarityMetricFromName(args.value("metric"));
    if (!metric)
        throw UsageError("--metric must be cka, cosine, act-cka or act-cosine (got '" + args.value("metric") + "')");
    return *metric;
}

void addAnalysisOptions(ArgParser& args) {
    addMetricOption(args);
    args.addOption("text", "FILE", "calibration text for act-* metrics; default: the embedded validation split");
    args.addOption("tokens", "N", "act-* metrics: calibration tokens", "4096");
    args.addOption("context", "N", "act-* metrics: tokens per calibration window; 0 = min(256, the model's)", "0");
    args.addFlag("pre-rope", "act-cka: compare keys before RoPE instead of after (cosine is the same either way)");
    args.addOption("run", "DIR", "cache the analysis in DIR/analysis/ and reuse it when model and settings match");
}

AnalyseSpec analyseSpecFromArgs(const ArgParser& args, const std::filesystem::path& modelDir) {
    AnalyseSpec spec;
    spec.modelDir = modelDir;
    spec.metric = metricFromArgs(args);
    if (isActivationMetric(spec.metric)) {
        spec.calibrationText = validationTextOrEmbedded(args.value("text"));
    } else if (args.has("text") || args.has("tokens") || args.has("context") || args.flag("pre-rope")) {
        throw UsageError("--text, --tokens, --context and --pre-rope apply to the act-cka and act-cosine metrics");
    }
    spec.calibrationTokens = args.intValue("tokens", 2, int64_t{1} << 32);
    spec.calibrationContext = static_cast<int>(args.intValue("context", 0, 1 << 20));
    spec.preRopeKeys = args.flag("pre-rope");
    if (args.has("run")) spec.runDir = std::filesystem::path(args.value("run"));
    return spec;
}

}  // namespace dha::cli
