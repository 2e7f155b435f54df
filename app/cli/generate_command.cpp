// `dha generate [DIR] --prompt TEXT`: continue a prompt, streaming the text as it is produced.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "arg_parser.h"
#include "cli_support.h"
#include "commands.h"
#include "dha/text_generation.h"
#include "embedded_defaults.h"

namespace dha::cli {

int runGenerateCommand(int argc, char** argv) {
    ArgParser args("dha generate", "Continue a prompt with the model, streaming the text to standard output. "
                                   "Uses the model's compact KV cache (only its key and value heads are stored).");
    args.addPositional("DIR", "model directory (config.json, *.safetensors, tokenizer.model or tokenizer.json); "
                             "default: the embedded dha-teacher model", false);
    args.addOption("prompt", "TEXT", "text to continue (the tokenizer's BOS token is put in front when it has one)", "");
    args.addOption("max-tokens", "N", "number of new tokens at most", "64");
    args.addOption("temperature", "T", "0 = greedy; higher = more random sampling", "0");
    args.addOption("top-k", "K", "sample among the K most likely tokens; 0 = all", "0");
    args.addOption("seed", "S", "random seed for sampling", "0");
    args.addOption("dtype", "TYPE", "weights and compute: fp32 or bf16", "fp32");
    args.addFlag("no-stop", "keep going after the end-of-sequence token");
    args.addFlag("json", "print one JSON object at the end instead of streaming text");
    if (!args.parse(argc, argv, std::cout)) return kExitOk;

    GenerateSpec spec;
    spec.modelDir = modelDirOrEmbedded(args.value("DIR"));
    spec.prompt = args.value("prompt");
    spec.maxNewTokens = static_cast<int>(args.intValue("max-tokens", 1, 1 << 20));
    spec.temperature = args.doubleValue("temperature", 0.0, 100.0);
    spec.topK = static_cast<int>(args.intValue("top-k", 0, 1 << 24));
    spec.seed = static_cast<uint64_t>(args.intValue("seed", 0, INT64_MAX));
    spec.dtype = args.choiceValue("dtype", {"fp32", "bf16"});
    spec.stopAtEos = !args.flag("no-stop");

    CancelToken& cancel = installCancelOnSignals();
    const bool json = args.flag("json");
    // With --json the text arrives in the report; otherwise it streams through the sink as it is generated.
    struct QuietTextSink : TerminalSink {
        using TerminalSink::TerminalSink;
        void onText(const TextEvent&) override {}
    };
    // The prompt is echoed just before the first new piece, so the loading log on stderr never splits the
    // prompt from its continuation on a terminal.
    struct EchoingSink : TerminalSink {
        explicit EchoingSink(const std::string& prompt) : TerminalSink(true), m_prompt(prompt) {}
        void onText(const TextEvent& event) override {
            echoPrompt();
            TerminalSink::onText(event);
        }
        void echoPrompt() {
            if (!m_echoed) std::cout << m_prompt << std::flush;
            m_echoed = true;
        }
        std::string m_prompt;
        bool m_echoed = false;
    };
    EchoingSink streamingSink(spec.prompt);
    QuietTextSink jsonSink(true);
    JobSink& sink = json ? static_cast<JobSink&>(jsonSink) : streamingSink;
    const auto result = runGenerateJob(spec, sink, cancel);
    if (!json && result.ok()) streamingSink.echoPrompt();  // nothing was generated: show the prompt anyway
    if (streamingSink.m_echoed) std::cout << "\n" << std::flush;
    if (!result.ok()) return reportFailure("dha generate", result);
    const GenerateReport& report = *result.value;
    if (json) {
        const nlohmann::json out = {{"prompt", spec.prompt},
                                    {"text", report.text},
                                    {"prompt_tokens", report.promptTokens},
                                    {"generated_tokens", report.generatedTokens},
                                    {"seconds", report.seconds},
                                    {"tokens_per_second", report.tokensPerSecond},
                                    {"kv_cache_bytes", report.kvCacheBytes}};
        std::cout << out.dump(2) << "\n";
    } else {
        std::fprintf(stderr, "%d tokens in %.2f s (%.1f tokens/s), KV cache %s\n", report.generatedTokens,
                     report.seconds, report.tokensPerSecond, formatBytes(static_cast<double>(report.kvCacheBytes)).c_str());
    }
    return kExitOk;
}

}  // namespace dha::cli
