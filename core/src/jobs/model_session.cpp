// Loading a model directory for inference: weights, tokenizer and device.
#include "jobs/model_session.h"

#include <ATen/Context.h>

#include <chrono>

namespace dha::jobs {

ModelSession openModelSession(const std::filesystem::path& modelDir, const std::string& dtype, JobSink& sink) {
    ModelSession session;
    session.device = at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    model::LoadOptions options;
    options.dtype = dtype == "bf16" ? at::kBFloat16 : at::kFloat;
    options.device = session.device;

    const auto start = std::chrono::steady_clock::now();
    session.loaded = model::loadModel(modelDir, options);
    session.tokenizer = tok::loadTokenizer(modelDir);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (session.tokenizer->vocabSize() > session.loaded.config.vocabSize) {
        failInput(modelDir.string(), "the tokenizer has " + std::to_string(session.tokenizer->vocabSize()) +
                                         " tokens but config.json's vocab_size is " +
                                         std::to_string(session.loaded.config.vocabSize));
    }
    sink.onLog({LogLevel::Info, "loaded " + modelDir.string() + " (" + dtype + ", " + session.device.str() + ") in " +
                                    std::to_string(static_cast<int>(seconds * 1000)) + " ms"});
    return session;
}

}  // namespace dha::jobs
