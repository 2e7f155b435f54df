// Shared options of `dha convert` and `dha baseline`: one table declares them and fills the ConvertSpec.
#include "convert_options.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "analysis_options.h"
#include "plan_options.h"
#include "spec_options.h"

namespace dha::cli {
namespace {

namespace fs = std::filesystem;

using ConvertOption = SpecOption<ConvertSpec>;

std::vector<ConvertOption> settingOptions() {
    const ConvertSpec d;  // the engine's defaults, shown in --help
    using S = ConvertSpec;
    using B = SpecBinder<S>;
    const auto integer = &B::integer;
    const auto number = &B::number;
    const auto count = &B::count;
    return {
        {"batch", "N", "windows per step", std::to_string(d.batchSize),
         integer("batch", &S::batchSize, 1, 65536)},
        {"context", "N", "tokens per training window (at most the model's max_position_embeddings)",
         std::to_string(d.contextLength), integer("context", &S::contextLength, 2, 1 << 20)},
        {"lr", "X", "learning rate of the model weights during fusion", shortNumber(d.modelLearningRate),
         number("lr", &S::modelLearningRate, 0.0, 10.0)},
        {"search-cka-mix", "X",
         "search: how much weight CKA keeps beside the learned head distances (0 = learned only, 1 = CKA "
         "only)",
         shortNumber(d.searchCkaMix), number("search-cka-mix", &S::searchCkaMix, 0.0, 1.0)},
        {"search-pull", "X", "search: weight of the similarity-weighted pull against the LM loss",
         shortNumber(d.searchPullWeight), number("search-pull", &S::searchPullWeight, 0.0, 1e6)},
        {"fusion-lr", "X",
         "learning rate of the fusion weights (constant over the ramp, then cosine to 0); 0 = automatic, "
         "from the number of steps",
         shortNumber(d.fusionLearningRate), number("fusion-lr", &S::fusionLearningRate, 0.0, 100.0)},
        {"lambda-lr", "X", "step size of the augmented Lagrangian multipliers",
         shortNumber(d.lambdaLearningRate), number("lambda-lr", &S::lambdaLearningRate, 0.0, 1e6)},
        {"fusion-ramp", "X", "fraction of the fusion steps over which the fusion loss target falls to 0",
         shortNumber(d.fusionRampFraction), number("fusion-ramp", &S::fusionRampFraction, 0.0, 1.0)},
        {"fusion-tolerance", "X", "fusion stops early once the fusion loss per fused group is at most X",
         shortNumber(d.fusionTolerance), number("fusion-tolerance", &S::fusionTolerance, 0.0, 1e6)},
        {"continued-lr", "X", "peak learning rate of continued pretraining",
         shortNumber(d.continuedPeakLearningRate),
         number("continued-lr", &S::continuedPeakLearningRate, 0.0, 10.0)},
        {"min-lr", "X", "learning rate at the last continued-pretraining step (cosine decay)",
         shortNumber(d.continuedMinLearningRate), number("min-lr", &S::continuedMinLearningRate, 0.0, 10.0)},
        {"warmup", "N", "continued-pretraining warm-up steps; 0 = 5% of its steps, at most 1000",
         std::to_string(d.continuedWarmupSteps), count("warmup", &S::continuedWarmupSteps, 0)},
        {"clip", "X", "max global gradient norm", shortNumber(d.gradientClip),
         number("clip", &S::gradientClip, 0.0, 1e6)},
        {"weight-decay", "X", "AdamW decoupled weight decay", shortNumber(d.weightDecay),
         number("weight-decay", &S::weightDecay, 0.0, 10.0)},
        {"dtype", "TYPE", "fp32, or bf16 autocast (fp32 master weights)", d.dtype,
         [](const ArgParser& args, S& spec) {
             spec.dtype = args.choiceValue("dtype", {"fp32", "bf16"});
         }},
        {"seed", "S", "seed of the data order", std::to_string(d.seed),
         [](const ArgParser& args, S& spec) {
             spec.seed = static_cast<uint64_t>(args.intValue("seed", 0, INT64_MAX));
         }},
        {"checkpoint-every", "N", "steps between checkpoints; 0 = only at phase ends and on Ctrl-C",
         std::to_string(d.checkpointInterval), count("checkpoint-every", &S::checkpointInterval, 0)},
        {"keep", "N", "complete checkpoints to keep", std::to_string(d.keepCheckpoints),
         integer("keep", &S::keepCheckpoints, 1, 1000)},
        {"validation-tokens", "N",
         "predicted tokens per held-out measurement; 0 = the whole --validation file",
         std::to_string(d.validationTokens), count("validation-tokens", &S::validationTokens, 0)},
    };
}

// --tokens: a count (2000000, 2M, 500k) or a percentage of the source's pretraining tokens (2%).
int64_t totalTokens(const ArgParser& args, const fs::path& modelDir) {
    const std::string text = args.value("tokens");
    if (text.empty() || text.back() != '%') return args.countValue("tokens", 1);
    char* end = nullptr;
    errno = 0;
    const std::string number = text.substr(0, text.size() - 1);
    const double percent = std::strtod(number.c_str(), &end);
    if (number.empty() || errno != 0 || *end != '\0' || !std::isfinite(percent) || percent <= 0 ||
        percent > 1e6)
        throw UsageError("--tokens: expected a count such as 2M or a percentage such as 2%, got '" + text +
                         "'");
    int64_t sourceTokens = 0;
    if (args.has("source-tokens")) {
        sourceTokens = args.countValue("source-tokens", 1);
    } else if (const auto recorded = sourcePretrainingTokens(modelDir)) {
        sourceTokens = *recorded;
    } else {
        throw UsageError("--tokens " + text + ": the source's pretraining tokens are unknown (" +
                         (modelDir / "eval.json").string() +
                         " does not record them); give them with --source-tokens N, or --tokens as a count");
    }
    const double tokens = std::round(percent / 100.0 * static_cast<double>(sourceTokens));
    if (tokens < 1 || tokens > 1e15)
        throw UsageError("--tokens " + text + " of " + std::to_string(sourceTokens) + " tokens is " +
                         shortNumber(tokens) + " tokens; a conversion needs at least 1");
    return static_cast<int64_t>(tokens);
}

// runs/convert-METHOD-YYYYMMDD-HHMMSS, with -2, -3, ... when that exists already.
fs::path defaultRunDir(ConvertMethod method) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    const std::string base = std::string("runs/convert-") + convertMethodName(method) + "-" + stamp;
    fs::path candidate = base;
    std::error_code error;
    for (int suffix = 2; fs::exists(candidate, error); ++suffix)
        candidate = base + "-" + std::to_string(suffix);
    return candidate;
}

const char* const kRunOptions[] = {"budget",     "plan", "tokens", "source-tokens", "fusion-share", "search-share",
                                   "text",       "validation", "run",    "metric"};

constexpr double kDefaultSearchShare = 0.1;

}  // namespace

void addConvertOptions(ArgParser& args) {
    args.addOption("budget", "B", "key+value heads to keep: a fraction (0.25, 25%) or a count (96)");
    args.addOption("plan", "FILE",
                   "a plan from `dha plan --out FILE` instead of --budget (dha, dha-meanpool)");
    args.addOption("tokens", "N",
                   "training tokens of the whole conversion: 2000000, 2M, 500k, or 2% of the source's "
                   "pretraining tokens (required)");
    args.addOption(
        "source-tokens", "N",
        "the source's pretraining tokens, for --tokens P% when its eval.json does not record them");
    args.addOption("fusion-share", "F",
                   "share of --tokens that fuses heads, the rest continues pretraining (mean-pool methods "
                   "continue on all of it)",
                   "0.5");
    args.addOption("search-share", "F",
                   "share of --tokens that searches which heads belong together before planning (dha and "
                   "dha-meanpool with --budget; 0 = plan from --metric alone)",
                   shortNumber(kDefaultSearchShare));
    args.addOption("text", "FILE", "training text, UTF-8, documents separated by blank lines (required)");
    args.addOption("validation", "FILE",
                   "held-out text: losses of the source, before and after collapse, and of the result");
    args.addOption("run", "DIR",
                   "run directory to create (must not exist, or be empty); default: "
                   "runs/convert-METHOD-YYYYMMDD-HHMMSS");
    addMetricOption(args);
    addPlanConstraintOptions(args);
    for (const ConvertOption& option : settingOptions())
        args.addOption(option.name, option.valueName, option.help, option.defaultValue);
}

bool hasConvertOptions(const ArgParser& args) {
    for (const char* name : kRunOptions) {
        if (args.has(name)) return true;
    }
    for (const ConvertOption& option : settingOptions()) {
        if (args.has(option.name)) return true;
    }
    return hasPlanConstraints(args);
}

ConvertSpec convertSpecFromArgs(const ArgParser& args, ConvertMethod method, const fs::path& modelDir) {
    if (args.has("budget") == args.has("plan"))
        throw UsageError("give exactly one of --budget B and --plan FILE");
    if (!args.has("tokens")) throw UsageError("missing --tokens N (e.g. --tokens 2M)");
    if (!args.has("text")) throw UsageError("missing --text FILE (the training text)");
    const bool uniform = usesUniformPlan(method);
    if (uniform && args.has("plan"))
        throw UsageError(std::string("method ") + convertMethodName(method) +
                         " plans uniform GQA groups from --budget; --plan applies to dha and dha-meanpool");
    if (uniform && hasPlanConstraints(args))
        throw UsageError(std::string("method ") + convertMethodName(method) +
                         " plans uniform GQA groups; it takes no planner constraints");

    ConvertSpec spec;
    spec.method = method;
    spec.sourceModelDir = modelDir;
    spec.trainText = args.value("text");
    if (args.has("validation")) spec.validationText = args.value("validation");
    if (args.has("budget")) {
        try {
            spec.budget = Budget::parse(args.value("budget"), "--budget");
        } catch (const Exception& error) {
            const Error& e = error.error();
            throw UsageError(e.describe() + (e.hint.empty() ? "" : " (" + e.hint + ")"));
        }
    } else {
        spec.planFile = args.value("plan");
    }
    spec.constraints = planConstraintsFromArgs(args);
    spec.metric = metricFromArgs(args);
    for (const ConvertOption& option : settingOptions()) option.apply(args, spec);

    // A search places a budget; with a plan file there is none to place.
    const double searchShare = args.has("plan") ? 0.0 : args.doubleValue("search-share", 0.0, 1.0);
    const double fusionShare = args.doubleValue("fusion-share", 0.0, 1.0);
    if (fusionShare + searchShare > 1.0) throw UsageError("--fusion-share and --search-share add up to more than 1");
    const PhaseTokens phases = splitTokenBudget(totalTokens(args, modelDir), method, fusionShare, searchShare);
    spec.searchTokens = phases.search;
    spec.fusionTokens = phases.fusion;
    spec.continuedTokens = phases.continued;
    spec.runDir = args.has("run") ? fs::path(args.value("run")) : defaultRunDir(method);
    return spec;
}

}  // namespace dha::cli
