// `dha pretrain RUN --text FILE --tokenizer FILE --tokens N`: train a Llama-style MHA model from scratch in a
// run directory; `dha pretrain --resume RUN` continues it.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "spec_options.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/pretraining.h"

namespace dha::cli {
namespace {

using PretrainOption = SpecOption<PretrainSpec>;

std::vector<PretrainOption> specOptions() {
    const PretrainSpec d;  // the engine's defaults, shown in --help
    using S = PretrainSpec;
    using B = SpecBinder<S>;
    const auto integer = &B::integer;
    const auto number = &B::number;
    const auto count = &B::count;
    const auto path = &B::path;
    return {
        {"text", "FILE", "training text, UTF-8, documents separated by blank lines (required for a new run)",
         "", path("text", &S::trainText)},
        {"validation", "FILE", "held-out text for validation loss, perplexity and accuracy", "",
         path("validation", &S::validationText)},
        {"tokenizer", "FILE", "tokenizer.model or tokenizer.json (required unless --init has one)", "",
         path("tokenizer", &S::tokenizerFile)},
        {"init", "DIR", "start from this model directory's weights instead of a random initialisation", "",
         path("init", &S::initModelDir)},
        {"tokens", "N", "training budget in tokens, e.g. 500k, 20M, 1.5G (required for a new run)", "",
         count("tokens", &S::trainingTokens, 1)},
        {"layers", "N", "decoder layers", std::to_string(d.numLayers),
         integer("layers", &S::numLayers, 1, 1024)},
        {"hidden", "N", "model width", std::to_string(d.hiddenSize),
         integer("hidden", &S::hiddenSize, 1, 65536)},
        {"heads", "N", "query heads per layer", std::to_string(d.numQueryHeads),
         integer("heads", &S::numQueryHeads, 1, 1024)},
        {"kv-heads", "N", "key/value heads per layer; 0 = as many as query heads (MHA)",
         std::to_string(d.numKeyValueHeads), integer("kv-heads", &S::numKeyValueHeads, 0, 1024)},
        {"intermediate", "N", "MLP width; 0 = 8/3 x hidden rounded up to a multiple of 32",
         std::to_string(d.intermediateSize), integer("intermediate", &S::intermediateSize, 0, 1 << 20)},
        {"rope-theta", "X", "RoPE base", shortNumber(d.ropeTheta),
         number("rope-theta", &S::ropeTheta, 1.0, 1e12)},
        {"init-std", "X", "std of the random initialisation", shortNumber(d.initStd),
         number("init-std", &S::initStd, 1e-6, 1.0)},
        {"context", "N", "tokens per training window, and a new model's max_position_embeddings",
         std::to_string(d.contextLength), integer("context", &S::contextLength, 2, 1 << 20)},
        {"batch", "N", "windows per step", std::to_string(d.batchSize),
         integer("batch", &S::batchSize, 1, 65536)},
        {"lr", "X", "peak learning rate", shortNumber(d.peakLearningRate),
         number("lr", &S::peakLearningRate, 1e-9, 10.0)},
        {"min-lr", "X", "learning rate at the last step (cosine decay)", shortNumber(d.minLearningRate),
         number("min-lr", &S::minLearningRate, 0.0, 10.0)},
        {"warmup", "N", "linear warm-up steps; 0 = 5% of the steps, at most 1000",
         std::to_string(d.warmupSteps), count("warmup", &S::warmupSteps, 0)},
        {"beta1", "X", "AdamW beta1", shortNumber(d.beta1), number("beta1", &S::beta1, 0.0, 0.999999)},
        {"beta2", "X", "AdamW beta2", shortNumber(d.beta2), number("beta2", &S::beta2, 0.0, 0.999999)},
        {"adam-eps", "X", "AdamW epsilon", shortNumber(d.adamEpsilon),
         number("adam-eps", &S::adamEpsilon, 1e-30, 1.0)},
        {"weight-decay", "X", "AdamW decoupled weight decay of matrices (none on norms)",
         shortNumber(d.weightDecay), number("weight-decay", &S::weightDecay, 0.0, 10.0)},
        {"clip", "X", "max global gradient norm; 0 = no clipping", shortNumber(d.gradientClip),
         number("clip", &S::gradientClip, 0.0, 1e6)},
        {"seed", "S", "seed of the initialisation and of the data order", std::to_string(d.seed),
         [](const ArgParser& args, S& spec) {
             spec.seed = static_cast<uint64_t>(args.intValue("seed", 0, INT64_MAX));
         }},
        {"dtype", "TYPE", "fp32, or bf16 autocast (fp32 master weights)", d.dtype,
         [](const ArgParser& args, S& spec) {
             spec.dtype = args.choiceValue("dtype", {"fp32", "bf16"});
         }},
        {"checkpoint-steps", "N", "checkpoint every N steps; 0 = by time only",
         std::to_string(d.checkpointEverySteps), count("checkpoint-steps", &S::checkpointEverySteps, 0)},
        {"checkpoint-minutes", "X", "checkpoint every X minutes of training; 0 = by steps only",
         shortNumber(d.checkpointEverySeconds / 60.0),
         [](const ArgParser& args, S& spec) {
             spec.checkpointEverySeconds = 60.0 * args.doubleValue("checkpoint-minutes", 0.0, 1e6);
         }},
        {"keep", "N", "complete checkpoints to keep", std::to_string(d.keepCheckpoints),
         integer("keep", &S::keepCheckpoints, 1, 1000)},
        {"val-every", "N", "validate every N steps; 0 = only at the end",
         std::to_string(d.validateEverySteps), count("val-every", &S::validateEverySteps, 0)},
        {"val-tokens", "N", "predicted tokens per validation; 0 = the whole validation text",
         std::to_string(d.validationTokens), count("val-tokens", &S::validationTokens, 0)},
    };
}

nlohmann::json reportJson(const PretrainReport& report) {
    nlohmann::json json = {{"run", report.runDir.string()},
                           {"export", report.exportDir.string()},
                           {"steps", report.steps},
                           {"tokens", report.tokensSeen},
                           {"resumed_from_step", report.resumedFromStep},
                           {"parameters", report.parameterCount},
                           {"text_tokens", report.trainTokensInText},
                           {"final_loss", report.finalLoss},
                           {"training_seconds", report.trainingSeconds},
                           {"tokens_per_second", report.tokensPerSecond}};
    if (report.hasValidation) {
        json["validation"] = {{"loss", report.validationLoss},
                              {"perplexity", report.validationPerplexity},
                              {"accuracy", report.validationAccuracy}};
    }
    return json;
}

}  // namespace

int runPretrainCommand(int argc, char** argv) {
    ArgParser args("dha pretrain",
                   "Train a Llama-style MHA decoder from scratch on a text file, in a run directory "
                   "with checkpoints, metrics.jsonl and exact resume.");
    args.setDescription(
        "New run:  dha pretrain RUN --text FILE --tokenizer FILE --tokens N [options]\n"
        "Resume:   dha pretrain --resume RUN [--tokens N]\n\n"
        "AdamW with linear warm-up then cosine decay, gradient clipping, optional bf16 autocast. Each step "
        "draws\n"
        "BATCH random windows of CONTEXT + 1 tokens from the tokenized text (cached in RUN/tokens.bin); the "
        "data\n"
        "order is a function of the seed and the step, so a resumed run continues exactly as an "
        "uninterrupted one.\n"
        "Ctrl-C writes a checkpoint and exits with 130. A resume refuses a changed text, tokenizer or "
        "setting;\n"
        "only the token budget may change. The trained model is exported to RUN/export.");
    args.addPositional("RUN", "run directory to create (must not exist, or be empty)", false);
    args.addOption("resume", "RUN", "continue the run in RUN from its latest checkpoint");
    const std::vector<PretrainOption> options = specOptions();
    for (const PretrainOption& option : options)
        args.addOption(option.name, option.valueName, option.help, option.defaultValue);
    args.addFlag("untied", "separate output layer instead of tying it to the embeddings");
    args.addFlag("json", "print machine-readable JSON instead of text");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    PretrainSpec spec;
    const bool resume = args.has("resume");
    if (resume) {
        if (args.has("RUN")) throw UsageError("give either RUN (a new run) or --resume RUN, not both");
        const auto recorded = readPretrainSpec(args.value("resume"));
        if (!recorded.ok()) return reportFailure("dha pretrain", recorded);
        spec = *recorded.value;
        // Options given with --resume are compared with the recorded ones by the engine (only --tokens and
        // the checkpoint and validation intervals may change).
        for (const PretrainOption& option : options) {
            if (args.has(option.name)) option.apply(args, spec);
        }
        if (args.flag("untied")) spec.tieWordEmbeddings = false;
    } else {
        if (!args.has("RUN")) throw UsageError("missing RUN (or --resume RUN)");
        if (!args.has("text")) throw UsageError("missing --text FILE");
        if (!args.has("tokens")) throw UsageError("missing --tokens N");
        if (!args.has("tokenizer") && !args.has("init"))
            throw UsageError("missing --tokenizer FILE (or --init DIR)");
        for (const PretrainOption& option : options) {
            if (args.has(option.name) || !option.defaultValue.empty()) option.apply(args, spec);
        }
        spec.runDir = args.value("RUN");
        spec.tieWordEmbeddings = !args.flag("untied");
    }

    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(args.flag("quiet"));
    const auto result = runPretrainJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) return reportFailure("dha pretrain", result);
    const PretrainReport& report = *result.value;
    if (args.flag("json")) {
        std::cout << reportJson(report).dump(2) << "\n";
        return kExitOk;
    }
    std::printf("Trained     %s: %lld steps, %lld tokens%s\n", report.runDir.string().c_str(),
                static_cast<long long>(report.steps), static_cast<long long>(report.tokensSeen),
                report.resumedFromStep > 0
                    ? (" (resumed at step " + std::to_string(report.resumedFromStep) + ")").c_str()
                    : "");
    std::printf("Time        %s of training, %s tokens/s in this session\n",
                formatDuration(report.trainingSeconds).c_str(),
                formatCount(std::round(report.tokensPerSecond)).c_str());
    std::printf("Loss        %.4f (training, last step)\n", report.finalLoss);
    if (report.hasValidation) {
        std::printf("Validation  loss %.4f, perplexity %.2f, accuracy %.2f%%\n", report.validationLoss,
                    report.validationPerplexity, 100.0 * report.validationAccuracy);
    }
    std::printf("Model       %s (%s parameters)\n", report.exportDir.string().c_str(),
                formatCount(static_cast<double>(report.parameterCount)).c_str());
    return kExitOk;
}

}  // namespace dha::cli
