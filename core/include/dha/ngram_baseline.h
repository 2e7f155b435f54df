// Count-based baselines for held-out evaluation: unigram and bigram models estimated on a training text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dha/job.h"

namespace dha {

struct NgramBaselineSpec {
    std::filesystem::path trainFile;  // UTF-8 text the counts are taken from
    std::filesystem::path textFile;   // held-out UTF-8 text scored
    // A tokenizer.model / tokenizer.json file, or a directory holding one (as for a model directory).
    std::filesystem::path tokenizer;
};

struct NgramBaselineScore {
    double meanLoss = 0;  // nats per predicted token
    double perplexity = 0;
    double accuracy = 0;  // argmax next-token accuracy
};

// Both texts are tokenized as one stream each (no BOS), exactly as `dha eval` does; every held-out token
// after the first is predicted, as in `dha eval`. The unigram uses add-1 smoothing, the bigram interpolated
// Kneser-Ney with discount 0.75 down to the uniform distribution (see core/src/model/ngram_model.h).
struct NgramBaselineReport {
    std::string tokenizer;  // its description
    int vocabSize = 0;
    int64_t trainTokens = 0;
    int64_t predictedTokens = 0;
    NgramBaselineScore unigram;
    NgramBaselineScore bigram;
    double seconds = 0;
};

JobResult<NgramBaselineReport> runNgramBaselineJob(const NgramBaselineSpec& spec, JobSink& sink,
                                                   const CancelToken& cancel);

}  // namespace dha
