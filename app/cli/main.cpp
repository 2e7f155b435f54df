// Entry point of the `dha` command: dispatches to one subcommand and maps failures to exit codes.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/runtime.h"

namespace {

struct Subcommand {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

const Subcommand kSubcommands[] = {
    {"inspect", "show a model's architecture, heads, parameters and KV cache cost", dha::cli::runInspectCommand},
    {"eval", "held-out loss, perplexity, next-token accuracy and throughput on a text file",
     dha::cli::runEvalCommand},
    {"generate", "continue a prompt with the model (greedy or sampled), using the KV cache",
     dha::cli::runGenerateCommand},
    {"analyse", "per layer, how similar the key heads are and the value heads (heatmaps, redundancy)",
     dha::cli::runAnalyseCommand},
    {"plan", "choose per-layer key and value head groups under a KV budget; show the KV saving",
     dha::cli::runPlanCommand},
    {"convert", "convert an MHA model into a DHA model: plan, fuse, collapse, continue pretraining, export",
     dha::cli::runConvertCommand},
    {"baseline", "the comparison methods on the same budget: gqa, cka-gqa, dha-uniform, dha-meanpool",
     dha::cli::runBaselineCommand},
    {"export", "write a converted model as a DHA or (where the plan allows) stock GQA checkpoint",
     dha::cli::runExportCommand},
    {"init", "create a randomly initialised Llama-style model directory", dha::cli::runInitCommand},
    {"pretrain", "train a Llama-style MHA model from scratch, with checkpoints and exact resume",
     dha::cli::runPretrainCommand},
    {"ngram-baseline", "unigram and bigram baselines on held-out text, scored as eval scores",
     dha::cli::runNgramBaselineCommand},
};

void printUsage(std::ostream& out) {
    out << "Usage: dha COMMAND [options] [arguments]\n\n"
           "DHA Studio's command line: every engine capability, headless.\n\nCommands:\n";
    for (const Subcommand& command : kSubcommands) {
        std::string name = std::string("  ") + command.name;
        name.resize(18, ' ');
        out << name << command.summary << "\n";
    }
    out << "\nRun 'dha COMMAND --help' for a command's options.\n"
           "Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled.\n"
           "DHA_NUM_THREADS sets the number of compute threads (default: all hardware threads).\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        printUsage(std::cerr);
        return dha::cli::kExitUsage;
    }
    const std::string first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        printUsage(std::cout);
        return dha::cli::kExitOk;
    }
    if (first == "--version") {
        dha::initRuntime();
        std::cout << "dha " << DHA_VERSION << " (" << dha::runtimeDescription() << ")\n";
        return dha::cli::kExitOk;
    }
    for (const Subcommand& command : kSubcommands) {
        if (first != command.name) continue;
        dha::initRuntime();
        try {
            // The subcommand sees argv[0] = "dha <name>" so its own options start at index 1.
            return command.run(argc - 1, argv + 1);
        } catch (const dha::cli::UsageError& error) {
            std::cerr << "dha " << command.name << ": " << error.what() << "\nTry 'dha " << command.name
                      << " --help'.\n";
            return dha::cli::kExitUsage;
        } catch (const std::exception& error) {
            std::cerr << "dha " << command.name << ": internal error: " << error.what() << "\n";
            return dha::cli::kExitFailure;
        }
    }
    std::cerr << "dha: unknown command '" << first << "'\n\n";
    printUsage(std::cerr);
    return dha::cli::kExitUsage;
}
