// The similarity options `dha analyse` and `dha plan` share (--metric, --text, --tokens, --context,
// --pre-rope, --run), so both commands spell and check them the same way.
#pragma once

#include "arg_parser.h"
#include "dha/similarity.h"

namespace dha::cli {

void addAnalysisOptions(ArgParser& args);
// Just --metric (cka, cosine, act-cka, act-cosine), for commands whose other options mean something else.
void addMetricOption(ArgParser& args);
// The parsed --metric; throws UsageError naming the choices.
SimilarityMetric metricFromArgs(const ArgParser& args);
// Builds the spec from parsed options; throws UsageError for a bad metric or act-* options without an act-*
// metric.
AnalyseSpec analyseSpecFromArgs(const ArgParser& args, const std::filesystem::path& modelDir);

}  // namespace dha::cli
