// Runs a conversion for `dha convert` / `dha baseline`: the status line during it, a resume hint after
// Ctrl-C, and the report (text or one JSON object) at the end.
#include "convert_run.h"

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_support.h"

namespace dha::cli {
namespace {

std::string percent(double fraction) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f%%", 100.0 * fraction);
    return buffer;
}

nlohmann::json optionalNumber(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json reportJson(const ConvertReport& report) {
    const double saved = report.kvBytesPerTokenBefore > 0
                             ? 1.0 - static_cast<double>(report.kvBytesPerTokenAfter) /
                                         static_cast<double>(report.kvBytesPerTokenBefore)
                             : 0.0;
    return {{"run", report.runDir.string()},
            {"export", report.exportDir.string()},
            {"method", convertMethodName(report.method)},
            {"plan_summary", report.planSummary},
            {"kept_heads", report.plan.keptHeads()},
            {"source_heads", report.plan.sourceKvHeads()},
            {"kv_bytes_per_token_before", report.kvBytesPerTokenBefore},
            {"kv_bytes_per_token_after", report.kvBytesPerTokenAfter},
            {"kv_saved_fraction", saved},
            {"held_out",
             {{"source", optionalNumber(report.heldOutSource)},
              {"before_collapse", optionalNumber(report.heldOutBeforeCollapse)},
              {"after_collapse", optionalNumber(report.heldOutAfterCollapse)},
              {"after_continued", optionalNumber(report.heldOutAfterContinued)}}},
            {"search", {{"steps", report.searchSteps}, {"tokens", report.searchTokens}}},
            {"fusion",
             {{"steps", report.fusionSteps},
              {"tokens", report.fusionTokens},
              {"final_loss", report.finalFusionLoss},
              {"converged", report.fusionConverged}}},
            {"continued", {{"steps", report.continuedSteps}, {"tokens", report.continuedTokens}}},
            {"resumed", report.resumed},
            {"resumed_from_step", report.resumedFromStep}};
}

void printReport(const ConvertReport& report) {
    std::printf(
        "Converted  %s (method %s)%s\n", report.runDir.string().c_str(), convertMethodName(report.method),
        report.resumed ? (", resumed at step " + std::to_string(report.resumedFromStep)).c_str() : "");
    std::printf("Plan       %s\n", report.planSummary.c_str());
    const double saved = report.kvBytesPerTokenBefore > 0
                             ? 1.0 - static_cast<double>(report.kvBytesPerTokenAfter) /
                                         static_cast<double>(report.kvBytesPerTokenBefore)
                             : 0.0;
    std::printf("KV cache   %s/token, was %s/token (fp32): %s saved\n",
                formatBytes(static_cast<double>(report.kvBytesPerTokenAfter)).c_str(),
                formatBytes(static_cast<double>(report.kvBytesPerTokenBefore)).c_str(),
                percent(saved).c_str());
    if (report.searchSteps > 0) {
        std::printf("Search     %lld steps, %s tokens\n", static_cast<long long>(report.searchSteps),
                    formatCount(static_cast<double>(report.searchTokens)).c_str());
    }
    if (usesLearnedFusion(report.method)) {
        std::printf("Fusion     %lld steps, %s tokens, final fusion loss %.3e%s\n",
                    static_cast<long long>(report.fusionSteps),
                    formatCount(static_cast<double>(report.fusionTokens)).c_str(), report.finalFusionLoss,
                    report.fusionConverged ? " (converged)" : "");
    }
    std::printf("Continued  %lld steps, %s tokens\n", static_cast<long long>(report.continuedSteps),
                formatCount(static_cast<double>(report.continuedTokens)).c_str());
    const auto heldOut = [](const char* label, const std::optional<double>& loss) {
        if (loss) std::printf("Held-out   %-22s loss %.4f\n", label, *loss);
    };
    heldOut("source", report.heldOutSource);
    heldOut("before collapse", report.heldOutBeforeCollapse);
    heldOut("after collapse", report.heldOutAfterCollapse);
    heldOut("after continued", report.heldOutAfterContinued);
    std::printf("Export     %s\n", report.exportDir.string().c_str());
    std::printf("Next       dha eval %s --text FILE; dha export %s --format dha|gqa --out DIR\n",
                report.exportDir.string().c_str(), report.runDir.string().c_str());
}

}  // namespace

int runConversion(const std::string& command, const ConvertSpec& spec, bool json, bool quiet) {
    CancelToken& cancel = installCancelOnSignals();
    TerminalSink sink(quiet);  // the job logs the plan summary before training
    if (!quiet) {
        std::cerr << (spec.resume ? "resuming " : "converting into ") << spec.runDir.string() << " (method "
                  << convertMethodName(spec.method) << ")\n"
                  << std::flush;
    }
    const JobResult<ConvertReport> result = runConvertJob(spec, sink, cancel);
    sink.finishLine();
    if (!result.ok()) {
        const int code = reportFailure(command, result);
        // The job's cancel message may say how to resume already; say it once.
        if (result.status == JobStatus::Cancelled &&
            result.error.message.find("--resume") == std::string::npos)
            std::cerr << "resume with: dha convert --resume " << spec.runDir.string() << "\n";
        return code;
    }
    if (json) {
        std::cout << reportJson(*result.value).dump(2) << "\n";
    } else {
        printReport(*result.value);
    }
    return kExitOk;
}

}  // namespace dha::cli
