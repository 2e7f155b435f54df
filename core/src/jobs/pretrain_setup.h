// Preparing a pretraining run: a new run directory (run.json, model from the spec or --init) or a resumed one
// (checked against run.json, restored from checkpoints/latest), and the tokenized data.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "dha/job.h"
#include "dha/pretraining.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "training/adamw.h"
#include "training/checkpoint.h"
#include "training/run_record.h"

namespace dha::jobs {

// An exclusive lock on runDir/.lock for the life of the object: two processes never train one run.
class RunDirectoryLock {
public:
    explicit RunDirectoryLock(const std::filesystem::path& runDir);
    ~RunDirectoryLock();
    RunDirectoryLock(const RunDirectoryLock&) = delete;
    RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

private:
    int m_fd = -1;
};

struct PreparedRun {
    training::RunRecord record;  // as in run.json (the token budget updated when a resume changed it)
    std::unique_ptr<RunDirectoryLock> lock;
    std::unique_ptr<tok::Tokenizer> tokenizer;
    model::Transformer model{nullptr};
    training::AdamW::NamedParameters parameters;
    std::unique_ptr<training::AdamW> optimizer;
    training::TrainingState state;  // step 0 for a new run, else the restored checkpoint's
    bool resumed = false;
    std::vector<int32_t> trainTokens;
    at::Tensor validationTokens;  // int64 [n], undefined without a validation text
};

// Usage errors (ErrorCode::Usage naming the option) for settings no run can use.
void checkPretrainSpec(const PretrainSpec& spec);

// Creates or reopens the run directory, builds or restores model and optimizer, tokenizes (or reuses
// tokens.bin) and tokenizes the validation text.
PreparedRun prepareRun(const PretrainSpec& spec, JobSink& sink, const CancelToken& cancel);

}  // namespace dha::jobs
