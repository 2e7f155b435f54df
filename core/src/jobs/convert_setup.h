// Preparing a conversion run: the spec's checks, the locked run directory, the source model and its
// tokenizer, the tokenized training and validation texts, and the plan (analysed and planned, or loaded).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "dha/conversion.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "jobs/pretrain_setup.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace dha::jobs {

struct PreparedConversion {
    std::unique_ptr<RunDirectoryLock> lock;
    std::filesystem::path tokenizerFile;  // the source directory's tokenizer.model or tokenizer.json
    std::unique_ptr<tok::Tokenizer> tokenizer;
    model::Transformer source{nullptr};  // float32, CPU
    std::vector<int32_t> trainTokens;
    at::Tensor validationTokens;  // int64 [n], undefined without a validation text
    Plan plan;  // when planPending, the metric's plan (a feasibility check): the search replaces it
    bool planPending = false;                 // a search decides the plan; plan.json is not written yet
    std::optional<SimilarityReport> similarity;  // the metric's report, when a search needs it
    int64_t searchSteps = 0;
    int64_t fusionSteps = 0;
    int64_t continuedSteps = 0;
    int64_t tokensPerStep = 0;  // batch x context
};

// Usage errors (ErrorCode::Usage naming the setting) for specs no run can use; missing or unreadable
// files are InvalidInput naming the file.
void checkConvertSpec(const ConvertSpec& spec);

// Plans (analysing the source's weights, or loading the plan file) before anything is written, then creates
// and locks the run directory (it must not exist or be empty), loads the source (MHA only), tokenizes (cached
// in runDir/tokens.bin), and writes run.json and plan.json atomically.
PreparedConversion prepareConversion(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel);

// Whether the spec's plan comes from a search (searchTokens > 0, an adaptive method, a budget).
bool searchDecidesPlan(const ConvertSpec& spec);

// "kept 12 of 32 K+V heads (37.5%); layer 0: 2K 3V; layer 1: ..."
std::string describePlan(const Plan& plan);

}  // namespace dha::jobs
