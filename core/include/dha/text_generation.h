// Text generation from a prompt with the model's compact KV cache; each new piece is sent as a TextEvent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dha/job.h"

namespace dha {

struct GenerateSpec {
    std::filesystem::path modelDir;
    std::string prompt;
    int maxNewTokens = 64;
    double temperature = 0.0;  // 0 = greedy
    int topK = 0;              // 0 = the whole vocabulary
    uint64_t seed = 0;
    bool stopAtEos = true;
    std::string dtype = "fp32";
};

struct GenerateReport {
    std::string text;  // the generated continuation (without the prompt)
    int promptTokens = 0;
    int generatedTokens = 0;
    double seconds = 0;
    double tokensPerSecond = 0;  // generated tokens per second, prefill included
    int64_t kvCacheBytes = 0;    // what the KV cache allocated
};

JobResult<GenerateReport> runGenerateJob(const GenerateSpec& spec, JobSink& sink, const CancelToken& cancel);

}  // namespace dha
