// `dha ngram-baseline --train FILE`: unigram and bigram baselines on held-out text, scored as `dha eval`
// scores.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/ngram_baseline.h"
#include "embedded_defaults.h"

namespace dha::cli {

int runNgramBaselineCommand(int argc, char** argv) {
    ArgParser args("dha ngram-baseline",
                   "Score count-based unigram and bigram models, estimated on a training "
                   "text, on held-out text: the figures a trained model must beat.");
    args.setDescription(
        "Both texts are tokenized as one stream each; every held-out token after the first is predicted, as\n"
        "in 'dha eval'. Unigram: add-1 (Laplace) smoothing over the vocabulary. Bigram: interpolated\n"
        "Kneser-Ney, discount 0.75, down to the uniform distribution. Accuracy is the argmax prediction's.");
    args.addOption("train", "FILE", "UTF-8 text the counts are taken from (required)");
    args.addOption("text", "FILE", "held-out UTF-8 text; default: the embedded corpus's held-out test split");
    args.addOption("tokenizer", "PATH",
                   "tokenizer.model, tokenizer.json or a directory holding one; default: the "
                   "embedded dha-teacher tokenizer");
    args.addFlag("json", "print machine-readable JSON instead of text");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;
    if (!args.has("train")) throw UsageError("missing --train FILE");

    NgramBaselineSpec spec;
    spec.trainFile = args.value("train");
    spec.textFile = testTextOrEmbedded(args.value("text"));
    spec.tokenizer = tokenizerOrEmbedded(args.value("tokenizer"));

    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(args.flag("quiet"));
    const auto result = runNgramBaselineJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) return reportFailure("dha ngram-baseline", result);
    const NgramBaselineReport& report = *result.value;
    const auto scoreJson = [](const NgramBaselineScore& score) {
        return nlohmann::json{
            {"loss", score.meanLoss}, {"perplexity", score.perplexity}, {"accuracy", score.accuracy}};
    };
    if (args.flag("json")) {
        const nlohmann::json json = {{"train", spec.trainFile.string()},
                                     {"text", spec.textFile.string()},
                                     {"tokenizer", report.tokenizer},
                                     {"vocab_size", report.vocabSize},
                                     {"train_tokens", report.trainTokens},
                                     {"predicted_tokens", report.predictedTokens},
                                     {"unigram", scoreJson(report.unigram)},
                                     {"bigram", scoreJson(report.bigram)},
                                     {"seconds", report.seconds}};
        std::cout << json.dump(2) << "\n";
    } else {
        std::printf("Tokens       %lld training, %lld predicted (%s)\n",
                    static_cast<long long>(report.trainTokens),
                    static_cast<long long>(report.predictedTokens), report.tokenizer.c_str());
        std::printf("model     loss (nats/token)  perplexity  accuracy\n");
        std::printf("unigram   %17.4f  %10.3f  %7.2f%%\n", report.unigram.meanLoss, report.unigram.perplexity,
                    100.0 * report.unigram.accuracy);
        std::printf("bigram    %17.4f  %10.3f  %7.2f%%\n", report.bigram.meanLoss, report.bigram.perplexity,
                    100.0 * report.bigram.accuracy);
    }
    return kExitOk;
}

}  // namespace dha::cli
