// `dha plan [DIR] --budget B`: choose per layer how many key and value heads to keep and which query heads
// share them, under a global budget and constraints; print the plan and its KV saving, write plan.json.
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis_options.h"
#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/budget.h"
#include "dha/model_config.h"
#include "embedded_defaults.h"
#include "plan_options.h"

namespace dha::cli {
namespace {

constexpr int64_t kSequenceTokens = 4096;  // the sequence length KV costs are also shown for

std::string groupsText(const HeadGroups& groups) {
    std::string text;
    for (const auto& group : groups) {
        text += "{";
        for (size_t i = 0; i < group.size(); ++i) text += (i ? "," : "") + std::to_string(group[i]);
        text += "}";
    }
    return text;
}

nlohmann::json groupsJson(const HeadGroups& groups) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& group : groups) json.push_back(group);
    return json;
}

// The uniform GQA plans nearest in KV cost: G groups per layer with G dividing H.
std::string uniformComparison(const Plan& plan, int headDim, int bytesPerElement) {
    const int layers = plan.numLayers();
    const int heads = plan.sourceHeads;
    const int kept = plan.keptHeads();
    int below = 0, above = 0;
    for (int groups = 1; groups <= heads; ++groups) {
        if (heads % groups != 0) continue;
        const int cost = 2 * layers * groups;
        if (cost <= kept) below = groups;
        if (cost >= kept && above == 0) above = groups;
    }
    auto describe = [&](int groups) {
        const KvAccounting kv = kvAccounting(adjacentGqaPlan(layers, heads, groups), headDim, bytesPerElement);
        char line[160];
        std::snprintf(line, sizeof line, "GQA with %d key/value heads per layer: %s/token (%.1f%% saved)", groups,
                      formatBytes(static_cast<double>(kv.bytesPerToken)).c_str(), 100.0 * kv.savedFraction());
        return std::string(line);
    };
    if (below == above) return "Same KV cost as " + describe(below) + "\n";
    std::string text = "No uniform GQA plan has this KV cost; the nearest are\n";
    if (below) text += "  " + describe(below) + "\n";
    if (above) text += "  " + describe(above) + "\n";
    return text;
}

void printPlan(const Plan& plan, const KvAccounting& kv, const std::string& how, const std::string& kvDtype,
               int headDim) {
    std::printf("Plan     %d of %d key+value heads kept (%.1f%%), %s\n", plan.keptHeads(), plan.sourceKvHeads(),
                100.0 * plan.keptFraction(), how.c_str());
    std::printf("KV cache %s/token at %s vs %s/token for the source: %.1f%% saved\n",
                formatBytes(static_cast<double>(kv.bytesPerToken)).c_str(), kvDtype.c_str(),
                formatBytes(static_cast<double>(kv.sourceBytesPerToken)).c_str(), 100.0 * kv.savedFraction());
    std::printf("         %s vs %s per %lld-token sequence\n\n",
                formatBytes(static_cast<double>(kv.bytesPerToken * kSequenceTokens)).c_str(),
                formatBytes(static_cast<double>(kv.sourceBytesPerToken * kSequenceTokens)).c_str(),
                static_cast<long long>(kSequenceTokens));
    std::printf("layer  hk  hv  KV/token   key groups | value groups\n");
    for (int l = 0; l < plan.numLayers(); ++l) {
        const LayerPlan& layer = plan.layers[l];
        std::printf("%5d  %2d  %2d  %-9s  %s | %s\n", l, layer.numKeyHeads(), layer.numValueHeads(),
                    formatBytes(static_cast<double>(kv.layers[l].bytesPerToken)).c_str(),
                    groupsText(layer.keyGroups).c_str(), groupsText(layer.valueGroups).c_str());
    }
    std::printf("\n%s", uniformComparison(plan, headDim, kv.bytesPerElement).c_str());
}

void printJson(const Plan& plan, const KvAccounting& kv, const std::string& how, const std::string& kvDtype) {
    nlohmann::json layers = nlohmann::json::array();
    for (int l = 0; l < plan.numLayers(); ++l) {
        layers.push_back({{"layer", l},
                          {"key_heads", plan.layers[l].numKeyHeads()},
                          {"value_heads", plan.layers[l].numValueHeads()},
                          {"key_groups", groupsJson(plan.layers[l].keyGroups)},
                          {"value_groups", groupsJson(plan.layers[l].valueGroups)},
                          {"kv_bytes_per_token", kv.layers[l].bytesPerToken},
                          {"source_kv_bytes_per_token", kv.layers[l].sourceBytesPerToken}});
    }
    const nlohmann::json json = {{"method", how},
                                 {"kept_heads", plan.keptHeads()},
                                 {"source_heads", plan.sourceKvHeads()},
                                 {"kept_fraction", plan.keptFraction()},
                                 {"kv_dtype", kvDtype},
                                 {"kv_bytes_per_token", kv.bytesPerToken},
                                 {"source_kv_bytes_per_token", kv.sourceBytesPerToken},
                                 {"kv_saved_fraction", kv.savedFraction()},
                                 {"layers", layers}};
    std::cout << json.dump(2) << "\n";
}

}  // namespace

int runPlanCommand(int argc, char** argv) {
    ArgParser args("dha plan", "Choose, under a global budget, how many key and value heads each layer keeps and "
                               "which query heads share them; print the plan and its KV cache saving.");
    args.setDescription(
        "The planner clusters each layer's key heads and its value heads (Ward linkage on 1 - similarity)\n"
        "and takes merges cheapest first across all layers until exactly the budget is kept, so redundant\n"
        "layers give up more heads. --baseline gives the uniform GQA plans instead. The budget is a fraction\n"
        "of the source's key+value heads (0.25 or 25% = 75% of the KV cache saved) or a head count (96).");
    args.addPositional("DIR", "MHA model directory; default: the embedded dha-teacher model", false);
    args.addOption("budget", "B", "key+value heads to keep: a fraction (0.25, 25%) or a count (96)");
    args.addOption("baseline", "NAME", "adjacent-gqa or cka-gqa: a uniform GQA plan at the budget instead");
    addAnalysisOptions(args);
    addPlanConstraintOptions(args);
    args.addOption("kv-dtype", "TYPE", "element type the KV cache is costed at: bf16, fp16 or fp32", "bf16");
    args.addOption("out", "FILE", "write the plan as JSON (formats.md) to FILE");
    args.addFlag("json", "print the plan and its KV accounting as JSON");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;
    if (!args.has("budget")) throw UsageError("--budget is required (e.g. --budget 0.25)");

    const std::filesystem::path modelDir = modelDirOrEmbedded(args.value("DIR"));
    const std::string kvDtype = args.choiceValue("kv-dtype", {"bf16", "fp16", "fp32"});
    const int bytesPerElement = kvDtype == "fp32" ? 4 : 2;
    const std::string baseline = args.has("baseline") ? args.choiceValue("baseline", {"adjacent-gqa", "cka-gqa"}) : "";
    const PlanConstraints constraints = planConstraintsFromArgs(args);
    if (!baseline.empty() && hasPlanConstraints(args))
        throw UsageError("--baseline plans are uniform GQA; they take no planner constraints");

    ModelConfig config;
    Budget budget;
    try {
        budget = Budget::parse(args.value("budget"), "--budget");
        config = loadModelConfig(modelDir / "config.json");
    } catch (const Exception& error) {
        return reportError("dha plan", JobStatus::Failed, error.error());
    }
    if (!config.isMha()) {
        return reportError("dha plan", JobStatus::Failed,
                           Error{ErrorCode::Unsupported, (modelDir / "config.json").string(),
                                 "planning starts from an MHA model, and this one already shares key/value heads",
                                 "give the MHA model it was converted from"});
    }

    CancelToken& cancel = installCancelOnSignals();
    Plan plan;
    std::string how;
    try {
        const int kept = budget.resolve(2 * config.numLayers * config.numQueryHeads);
        // A uniform GQA plan keeps the same number of key and value heads in every layer.
        auto uniformGroups = [&] {
            if (kept % (2 * config.numLayers) != 0)
                failInput("--budget", "a uniform GQA plan keeps a multiple of " +
                                          std::to_string(2 * config.numLayers) + " heads (2 x layers); " +
                                          std::to_string(kept) + " is not");
            return kept / (2 * config.numLayers);
        };
        if (baseline == "adjacent-gqa") {
            plan = adjacentGqaPlan(config.numLayers, config.numQueryHeads, uniformGroups());
            how = "adjacent GQA baseline";
        } else {
            const AnalyseSpec spec = analyseSpecFromArgs(args, modelDir);
            TerminalSink sink(args.flag("quiet"));
            const auto analysis = runAnalyseJob(spec, sink, cancel);
            sink.finishLine();
            if (!analysis.ok()) return reportFailure("dha plan", analysis);
            if (baseline == "cka-gqa") {
                plan = similarityGroupedGqaPlan(*analysis.value, uniformGroups());
                how = std::string("GQA grouped by ") + similarityMetricName(spec.metric) + " similarity";
            } else {
                plan = planFromSimilarity(*analysis.value, budget, constraints);
                how = std::string("planned on ") + similarityMetricName(spec.metric) + " similarity";
            }
        }
        if (args.has("out")) savePlan(plan, args.value("out"));
    } catch (const Exception& error) {
        return reportError("dha plan", JobStatus::Failed, error.error());
    }

    const KvAccounting kv = kvAccounting(plan, config.headDim, bytesPerElement);
    if (args.flag("json")) {
        printJson(plan, kv, how, kvDtype);
    } else {
        printPlan(plan, kv, how, kvDtype, config.headDim);
        if (args.has("out")) std::printf("\nWrote    %s\n", args.value("out").c_str());
    }
    return kExitOk;
}

}  // namespace dha::cli
