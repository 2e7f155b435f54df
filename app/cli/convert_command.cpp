// `dha convert [DIR] --budget B --tokens N --text FILE`: convert an MHA model into a DHA model in a run
// directory (plan, fusion, collapse, continued pretraining, checked export); `dha convert --resume RUN`.
#include <iostream>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "convert_options.h"
#include "convert_run.h"
#include "dha/conversion.h"
#include "embedded_defaults.h"

namespace dha::cli {

int runConvertCommand(int argc, char** argv) {
    ArgParser args(
        "dha convert",
        "Convert an MHA model into a Decoupled-Head Attention model: plan per-layer key and value "
        "heads under a KV budget, fuse each group's heads, collapse, continue pretraining, export.");
    args.setDescription(
        "New run:  dha convert [DIR] --budget B --tokens N --text FILE [options]\n"
        "Resume:   dha convert --resume RUN\n\n"
        "A short search (--search-share of the tokens, model frozen) first learns which heads move together\n"
        "and places the budget; the fusion phase then trains each group's fusion weights towards a single\n"
        "head (augmented Lagrangian), the groups collapse, and the compact model continues pretraining on\n"
        "the rest of the tokens.\n"
        "Progress shows the phase, step, tokens, LM loss, fusion loss, KV saved, tokens/s and ETA.\n"
        "Ctrl-C writes a checkpoint and exits with 130; `dha convert --resume RUN` continues the run "
        "exactly.\n"
        "The model is exported to RUN/export (DHA format, published after a reload check); `dha export`\n"
        "writes it again, as stock GQA where the plan allows. `dha baseline` runs the comparison methods.");
    args.addPositional("DIR", "MHA model directory; default: the embedded dha-teacher model", false);
    args.addOption("resume", "RUN", "continue the run in RUN from its latest checkpoint (any method)");
    addConvertOptions(args);
    args.addFlag("json", "print the final report as JSON");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    ConvertSpec spec;
    if (args.has("resume")) {
        if (args.has("DIR") || hasConvertOptions(args))
            throw UsageError(
                "--resume RUN takes no model or run options: the run continues as run.json records");
        try {
            spec = loadConvertSpec(args.value("resume"));
        } catch (const Exception& error) {
            return reportError("dha convert", JobStatus::Failed, error.error());
        }
        spec.resume = true;
    } else {
        const std::filesystem::path modelDir = modelDirOrEmbedded(args.value("DIR"));
        try {
            spec = convertSpecFromArgs(args, ConvertMethod::Dha, modelDir);
        } catch (const Exception& error) {
            return reportError("dha convert", JobStatus::Failed, error.error());
        }
    }
    return runConversion("dha convert", spec, args.flag("json"), args.flag("quiet"));
}

}  // namespace dha::cli
