// `dha eval [DIR] [--text FILE]`: held-out loss, perplexity, next-token accuracy and throughput.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/evaluation.h"
#include "embedded_defaults.h"

namespace dha::cli {

int runEvalCommand(int argc, char** argv) {
    ArgParser args("dha eval", "Measure a model on held-out text: mean next-token loss (nats), perplexity, "
                               "next-token accuracy and tokens per second.");
    args.setDescription(
        "The text is tokenized as one stream and cut into windows of CONTEXT + 1 tokens overlapping by one "
        "token,\nso every token after the first is predicted exactly once.");
    args.addPositional("DIR", "model directory (config.json, *.safetensors, tokenizer.model or tokenizer.json); "
                             "default: the embedded dha-teacher model", false);
    args.addOption("text", "FILE", "UTF-8 text to evaluate on; default: the embedded corpus's held-out test split");
    args.addOption("context", "N", "tokens of context per window; 0 = min(256, the model's context)", "0");
    args.addOption("batch", "N", "windows per forward pass", "4");
    args.addOption("max-tokens", "N", "stop after N predicted tokens; 0 = the whole file", "0");
    args.addOption("dtype", "TYPE", "weights and compute: fp32 or bf16", "fp32");
    args.addFlag("json", "print machine-readable JSON instead of text");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    EvalSpec spec;
    spec.modelDir = modelDirOrEmbedded(args.value("DIR"));
    spec.textFile = testTextOrEmbedded(args.value("text"));
    spec.contextLength = static_cast<int>(args.intValue("context", 0, 1 << 20));
    spec.batchSize = static_cast<int>(args.intValue("batch", 1, 4096));
    spec.maxTokens = args.intValue("max-tokens", 0, int64_t{1} << 50);
    spec.dtype = args.choiceValue("dtype", {"fp32", "bf16"});

    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(args.flag("quiet"));
    const auto result = runEvalJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) return reportFailure("dha eval", result);
    const EvalReport& report = *result.value;
    if (args.flag("json")) {
        const nlohmann::json json = {{"model", spec.modelDir.string()},
                                     {"text", spec.textFile.string()},
                                     {"predicted_tokens", report.predictedTokens},
                                     {"windows", report.windows},
                                     {"context_length", report.contextLength},
                                     {"loss", report.meanLoss},
                                     {"perplexity", report.perplexity},
                                     {"accuracy", report.accuracy},
                                     {"seconds", report.seconds},
                                     {"tokens_per_second", report.tokensPerSecond},
                                     {"dtype", report.dtype}};
        std::cout << json.dump(2) << "\n";
    } else {
        std::printf("Tokens       %lld predicted in %d windows of %d tokens of context\n",
                    static_cast<long long>(report.predictedTokens), report.windows, report.contextLength);
        std::printf("Loss         %.4f nats/token\n", report.meanLoss);
        std::printf("Perplexity   %.3f\n", report.perplexity);
        std::printf("Accuracy     %.2f%% next-token (argmax)\n", 100.0 * report.accuracy);
        std::printf("Throughput   %.0f tokens/s (%s, %.2f s of forward passes)\n", report.tokensPerSecond,
                    report.dtype.c_str(), report.seconds);
    }
    return kExitOk;
}

}  // namespace dha::cli
