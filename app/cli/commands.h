// The `dha` subcommands; each parses its own arguments and returns a process exit code.
#pragma once

namespace dha::cli {

int runInspectCommand(int argc, char** argv);
int runEvalCommand(int argc, char** argv);
int runGenerateCommand(int argc, char** argv);
int runInitCommand(int argc, char** argv);
int runPretrainCommand(int argc, char** argv);
int runNgramBaselineCommand(int argc, char** argv);
int runAnalyseCommand(int argc, char** argv);
int runPlanCommand(int argc, char** argv);
int runConvertCommand(int argc, char** argv);
int runBaselineCommand(int argc, char** argv);
int runExportCommand(int argc, char** argv);

}  // namespace dha::cli
