// `dha eval`: mean next-token loss, perplexity and accuracy over a text file, in overlapping windows.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "dha/evaluation.h"
#include "io/atomic_file.h"
#include "jobs/job_boundary.h"
#include "jobs/model_session.h"
#include "model/held_out_eval.h"

namespace dha {
namespace {

constexpr size_t kMaxTextBytes = size_t{1} << 30;

EvalReport evaluate(const EvalSpec& spec, JobSink& sink, const CancelToken& cancel) {
    jobs::ModelSession session = jobs::openModelSession(spec.modelDir, spec.dtype, sink);
    const ModelConfig& config = session.loaded.config;

    const std::string text = io::readSmallFile(spec.textFile, kMaxTextBytes);
    jobs::throwIfCancelled(cancel, "tokenization");
    sink.onProgress({"tokenize", 0, static_cast<int64_t>(text.size()), "bytes", 0});
    const std::vector<int32_t> tokens = session.tokenizer->encode(text);
    sink.onProgress({"tokenize", static_cast<int64_t>(text.size()), static_cast<int64_t>(text.size()), "bytes", 0});
    if (tokens.size() < 2) {
        failInput(spec.textFile.string(), "the text has " + std::to_string(tokens.size()) +
                                              " token(s); evaluation needs at least 2");
    }

    const int contextLength = spec.contextLength > 0 ? spec.contextLength : std::min(256, config.maxPositionEmbeddings);
    if (contextLength > config.maxPositionEmbeddings) {
        fail(ErrorCode::Usage, "--context", "context length " + std::to_string(contextLength) +
                                                " exceeds the model's max_position_embeddings (" +
                                                std::to_string(config.maxPositionEmbeddings) + ")");
    }
    const at::Tensor allTokens =
        at::from_blob(const_cast<int32_t*>(tokens.data()), {static_cast<int64_t>(tokens.size())}, at::kInt)
            .to(at::kLong);
    const model::HeldOutResult result = model::evaluateHeldOut(
        *session.loaded.model, allTokens, contextLength, spec.batchSize, spec.maxTokens, cancel, "evaluation",
        [&](int64_t predicted, int64_t total, double seconds) {
            sink.onProgress({"evaluate", predicted, total, "tokens", seconds});
        });
    const int64_t predicted = result.predictedTokens;
    const double seconds = result.seconds;

    EvalReport report;
    report.predictedTokens = predicted;
    report.windows = result.windows;
    report.contextLength = contextLength;
    report.meanLoss = result.meanLoss();
    report.perplexity = std::exp(report.meanLoss);
    report.accuracy = result.accuracy();
    report.seconds = seconds;
    report.tokensPerSecond = seconds > 0 ? static_cast<double>(predicted) / seconds : 0.0;
    report.dtype = spec.dtype;
    return report;
}

}  // namespace

JobResult<EvalReport> runEvalJob(const EvalSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<EvalReport>([&] { return evaluate(spec, sink, cancel); });
}

}  // namespace dha
