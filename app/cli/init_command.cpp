// `dha init OUT --tokenizer FILE`: a randomly initialised Llama-style model directory of any shape.
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/model_init.h"

namespace dha::cli {

int runInitCommand(int argc, char** argv) {
    ArgParser args("dha init", "Create a randomly initialised Llama-style model directory (config.json, "
                               "model.safetensors and the tokenizer): the starting point of pretraining, and a "
                               "model of any shape for demos and benchmarks.");
    args.addPositional("OUT", "directory to create (must not exist, or be empty)");
    args.addOption("tokenizer", "FILE", "tokenizer.model or tokenizer.json to copy in; sets the vocabulary (required)");
    args.addOption("layers", "N", "decoder layers", "4");
    args.addOption("hidden", "N", "model width", "256");
    args.addOption("heads", "N", "query heads per layer", "8");
    args.addOption("kv-heads", "N", "key/value heads per layer; 0 = as many as query heads (MHA)", "0");
    args.addOption("intermediate", "N", "MLP width; 0 = 8/3 x hidden rounded up to a multiple of 32", "0");
    args.addOption("context", "N", "max_position_embeddings", "512");
    args.addOption("rope-theta", "X", "RoPE base", "10000");
    args.addOption("dtype", "TYPE", "stored weights: F32, BF16 or F16", "F32");
    args.addOption("seed", "S", "random seed", "1");
    args.addFlag("untied", "separate output layer instead of tying it to the embeddings");
    args.addFlag("json", "print machine-readable JSON instead of text");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;
    if (!args.has("tokenizer")) throw UsageError("missing --tokenizer FILE");

    InitModelSpec spec;
    spec.outputDir = args.value("OUT");
    spec.tokenizerFile = args.value("tokenizer");
    spec.numLayers = static_cast<int>(args.intValue("layers", 1, 1024));
    spec.hiddenSize = static_cast<int>(args.intValue("hidden", 1, 65536));
    spec.numQueryHeads = static_cast<int>(args.intValue("heads", 1, 1024));
    spec.numKeyValueHeads = static_cast<int>(args.intValue("kv-heads", 0, 1024));
    spec.intermediateSize = static_cast<int>(args.intValue("intermediate", 0, 1 << 20));
    spec.maxPositionEmbeddings = static_cast<int>(args.intValue("context", 1, 1 << 24));
    spec.ropeTheta = args.doubleValue("rope-theta", 1.0, 1e12);
    spec.dtype = args.choiceValue("dtype", {"F32", "BF16", "F16"});
    spec.seed = static_cast<uint64_t>(args.intValue("seed", 0, INT64_MAX));
    spec.tieWordEmbeddings = !args.flag("untied");

    TerminalSink sink(args.flag("json"));
    const auto result = runInitModelJob(spec, sink);
    if (!result.ok()) return reportFailure("dha init", result);
    const InitModelReport& report = *result.value;
    if (args.flag("json")) {
        std::cout << nlohmann::json{{"directory", report.outputDir.string()},
                                    {"parameters", report.parameterCount},
                                    {"vocab_size", report.vocabSize}}
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "Created " << report.outputDir.string() << ": " << formatCount(static_cast<double>(report.parameterCount))
                  << " parameters, vocabulary " << report.vocabSize << "\n";
    }
    return kExitOk;
}

}  // namespace dha::cli
