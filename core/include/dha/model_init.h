// Creating a randomly initialised Llama-style MHA (or GQA) model directory: the starting point of pretraining
// and a quick way to get a model of any shape for demos and benchmarks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dha/job.h"

namespace dha {

struct InitModelSpec {
    std::filesystem::path outputDir;
    std::filesystem::path tokenizerFile;  // tokenizer.model or tokenizer.json, copied into the model
    int numLayers = 4;
    int hiddenSize = 256;
    int numQueryHeads = 8;
    int numKeyValueHeads = 0;  // 0 = numQueryHeads (MHA)
    int intermediateSize = 0;  // 0 = the Llama rule: 8/3 hidden rounded up to a multiple of 32
    int maxPositionEmbeddings = 512;
    double ropeTheta = 10000.0;
    bool tieWordEmbeddings = true;
    std::string dtype = "F32";  // stored weights: F32, BF16 or F16
    uint64_t seed = 1;
    double initStd = 0.02;      // transformers' initializer_range
};

struct InitModelReport {
    std::filesystem::path outputDir;
    int64_t parameterCount = 0;
    int vocabSize = 0;
};

JobResult<InitModelReport> runInitModelJob(const InitModelSpec& spec, JobSink& sink);

}  // namespace dha
