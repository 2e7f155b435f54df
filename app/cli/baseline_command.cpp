// `dha baseline METHOD [DIR] --budget B --tokens N --text FILE`: the comparison methods of a conversion
// (GQA mean pooling, similarity-grouped GQA, and the DHA ablations) in the same run directory format.
#include <iostream>
#include <string>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "convert_options.h"
#include "convert_run.h"
#include "dha/conversion.h"
#include "embedded_defaults.h"

namespace dha::cli {

int runBaselineCommand(int argc, char** argv) {
    ArgParser args("dha baseline",
                   "Run a comparison method of `dha convert` on the same data and token budget: "
                   "gqa, cka-gqa, dha-uniform or dha-meanpool.");
    args.setDescription(
        "Methods:\n"
        "  gqa           adjacent equal groups shared by keys and values, mean-pooled (Ainslie et al. 2023)\n"
        "  cka-gqa       equal groups chosen by similarity, the same count in every layer, mean-pooled\n"
        "  dha-uniform   ablation: cka-gqa's uniform plan with learned fusion\n"
        "  dha-meanpool  ablation: the adaptive DHA plan with mean pooling instead of fusion\n\n"
        "Options are those of `dha convert`. The uniform methods (gqa, cka-gqa, dha-uniform) need a --budget "
        "of\n"
        "2 x layers x a divisor of the head count, and take no planner constraints. Mean-pool methods "
        "continue\n"
        "pretraining on all of --tokens. Resume a baseline run with `dha convert --resume RUN`.");
    args.addPositional("METHOD", "gqa, cka-gqa, dha-uniform or dha-meanpool");
    args.addPositional("DIR", "MHA model directory; default: the embedded dha-teacher model", false);
    addConvertOptions(args);
    args.addFlag("json", "print the final report as JSON");
    args.addFlag("quiet", "no progress output");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    const std::string name = args.value("METHOD");
    const auto method = convertMethodFromName(name);
    if (!method || *method == ConvertMethod::Dha)
        throw UsageError("METHOD must be gqa, cka-gqa, dha-uniform or dha-meanpool (got '" + name +
                         "'); `dha convert` runs the DHA method");
    const std::filesystem::path modelDir = modelDirOrEmbedded(args.value("DIR"));
    ConvertSpec spec;
    try {
        spec = convertSpecFromArgs(args, *method, modelDir);
    } catch (const Exception& error) {
        return reportError("dha baseline", JobStatus::Failed, error.error());
    }
    return runConversion("dha baseline", spec, args.flag("json"), args.flag("quiet"));
}

}  // namespace dha::cli
