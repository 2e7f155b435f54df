// `dha eval`: mean next-token loss, perplexity and accuracy over a text file, in overlapping windows.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "dha/evaluation.h"
#include "io/atomic_file.h"
#include "jobs/job_boundary.h"
#include "jobs/model_session.h"

namespace dha {
namespace {

constexpr size_t kMaxTextBytes = size_t{1} << 30;

struct Window {
    int64_t start = 0;   // first token of the window
    int64_t length = 0;  // tokens in the window: context + the token predicted last
};

// Windows of contextLength + 1 tokens overlapping by one token: each token after the first is predicted once.
std::vector<Window> cutWindows(int64_t tokenCount, int contextLength, int64_t maxPredicted) {
    std::vector<Window> windows;
    int64_t predicted = 0;
    for (int64_t start = 0; start + 1 < tokenCount; start += contextLength) {
        int64_t length = std::min<int64_t>(contextLength + 1, tokenCount - start);
        if (maxPredicted > 0) length = std::min(length, maxPredicted - predicted + 1);
        if (length < 2) break;
        windows.push_back({start, length});
        predicted += length - 1;
    }
    return windows;
}

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
    const std::vector<Window> windows = cutWindows(static_cast<int64_t>(tokens.size()), contextLength, spec.maxTokens);
    int64_t totalPredicted = 0;
    for (const Window& window : windows) totalPredicted += window.length - 1;

    const at::Tensor allTokens =
        at::from_blob(const_cast<int32_t*>(tokens.data()), {static_cast<int64_t>(tokens.size())}, at::kInt)
            .to(at::kLong);
    torch::NoGradGuard noGrad;
    double lossSum = 0;
    int64_t correct = 0;
    int64_t predicted = 0;
    double seconds = 0;
    sink.onProgress({"evaluate", 0, totalPredicted, "tokens", 0});
    for (size_t first = 0; first < windows.size();) {
        jobs::throwIfCancelled(cancel, "evaluation");
        // A batch holds windows of one length (all full windows, or the final shorter one alone).
        size_t last = first;
        while (last < windows.size() && last - first < static_cast<size_t>(spec.batchSize) &&
               windows[last].length == windows[first].length) {
            ++last;
        }
        std::vector<at::Tensor> rows;
        for (size_t i = first; i < last; ++i) rows.push_back(allTokens.narrow(0, windows[i].start, windows[i].length));
        const at::Tensor batch = at::stack(rows).to(session.device);  // [windows, length]
        const at::Tensor inputs = batch.narrow(1, 0, batch.size(1) - 1);
        const at::Tensor targets = batch.narrow(1, 1, batch.size(1) - 1);

        const auto start = std::chrono::steady_clock::now();
        const at::Tensor logits = session.loaded.model->forward(inputs);  // [windows, length - 1, vocab]
        const at::Tensor logProbs = at::log_softmax(logits.to(at::kFloat), -1);
        const at::Tensor targetLogProbs = logProbs.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        lossSum -= targetLogProbs.sum().item<double>();
        correct += logits.argmax(-1).eq(targets).sum().item<int64_t>();
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        predicted += targets.numel();
        sink.onProgress({"evaluate", predicted, totalPredicted, "tokens", seconds});
        first = last;
    }

    EvalReport report;
    report.predictedTokens = predicted;
    report.windows = static_cast<int>(windows.size());
    report.contextLength = contextLength;
    report.meanLoss = lossSum / static_cast<double>(predicted);
    report.perplexity = std::exp(report.meanLoss);
    report.accuracy = static_cast<double>(correct) / static_cast<double>(predicted);
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
