// Running a conversion from the command line: the job's plan summary and training status on stderr, Ctrl-C
// with a resume hint, and the final report as text or JSON on stdout.
#pragma once

#include <string>

#include "dha/conversion.h"

namespace dha::cli {

// Runs runConvertJob(spec) and prints its report; returns the exit code. `command` names the command in
// messages ("dha convert", "dha baseline").
int runConversion(const std::string& command, const ConvertSpec& spec, bool json, bool quiet);

}  // namespace dha::cli
