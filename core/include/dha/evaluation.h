// Held-out evaluation of a model on a text file: loss, perplexity, next-token accuracy and throughput.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dha/job.h"

namespace dha {

struct EvalSpec {
    std::filesystem::path modelDir;
    std::filesystem::path textFile;
    int contextLength = 0;   // tokens per window; 0 = min(256, the model's max_position_embeddings)
    int batchSize = 4;       // windows per forward pass
    int64_t maxTokens = 0;   // stop after this many predicted tokens; 0 = the whole file
    std::string dtype = "fp32";  // "fp32" or "bf16": weights and compute
};

// The text is tokenized as one stream (no BOS) and cut into windows of contextLength + 1 tokens that overlap
// by one token, so every token after the first is predicted exactly once, with up to contextLength tokens of
// context. Loss is the mean next-token cross-entropy in nats.
struct EvalReport {
    int64_t predictedTokens = 0;
    int windows = 0;
    int contextLength = 0;
    double meanLoss = 0;
    double perplexity = 0;
    double accuracy = 0;  // fraction of tokens whose argmax prediction is the next token
    double seconds = 0;   // forward passes only
    double tokensPerSecond = 0;
    std::string dtype;
};

JobResult<EvalReport> runEvalJob(const EvalSpec& spec, JobSink& sink, const CancelToken& cancel);

}  // namespace dha
