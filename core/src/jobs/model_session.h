// A model and its tokenizer loaded for inference, on the best device this build has.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "dha/job.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace dha::jobs {

struct ModelSession {
    model::LoadedModel loaded;
    std::unique_ptr<tok::Tokenizer> tokenizer;
    c10::Device device = c10::kCPU;
};

// dtype is "fp32" or "bf16". Uses CUDA when this LibTorch has a usable GPU. Refuses a tokenizer whose
// vocabulary does not fit the model's embedding table.
ModelSession openModelSession(const std::filesystem::path& modelDir, const std::string& dtype, JobSink& sink);

}  // namespace dha::jobs
