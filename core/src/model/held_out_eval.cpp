// The held-out loss loop shared by `dha eval` and pretraining validation.
#include "model/held_out_eval.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "dha/error.h"

namespace dha::model {

std::vector<HeldOutWindow> cutHeldOutWindows(int64_t tokenCount, int contextLength, int64_t maxPredicted) {
    std::vector<HeldOutWindow> windows;
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

HeldOutResult evaluateHeldOut(const TransformerImpl& model, const at::Tensor& tokens, int contextLength,
                              int batchSize, int64_t maxPredicted, const CancelToken& cancel,
                              const char* where,
                              const std::function<void(int64_t, int64_t, double)>& onProgress) {
    if (tokens.dim() != 1 || tokens.size(0) < 2 || contextLength < 1 || batchSize < 1) {
        fail(ErrorCode::Internal, "held-out evaluation",
             "needs at least 2 tokens, a context and a batch size");
    }
    const std::vector<HeldOutWindow> windows = cutHeldOutWindows(tokens.size(0), contextLength, maxPredicted);
    int64_t totalPredicted = 0;
    for (const HeldOutWindow& window : windows) totalPredicted += window.length - 1;
    const at::Tensor allTokens = tokens.to(at::kLong);

    at::NoGradGuard noGrad;
    HeldOutResult result;
    result.windows = static_cast<int>(windows.size());
    if (onProgress) onProgress(0, totalPredicted, 0.0);
    for (size_t first = 0; first < windows.size();) {
        if (cancel.isCancelled()) fail(ErrorCode::Cancelled, {}, std::string("cancelled during ") + where);
        // A batch holds windows of one length (all full windows, or the final shorter one alone).
        size_t last = first;
        while (last < windows.size() && last - first < static_cast<size_t>(batchSize) &&
               windows[last].length == windows[first].length) {
            ++last;
        }
        std::vector<at::Tensor> rows;
        for (size_t i = first; i < last; ++i)
            rows.push_back(allTokens.narrow(0, windows[i].start, windows[i].length));
        const at::Tensor batch = at::stack(rows).to(model.device());  // [windows, length]
        const at::Tensor inputs = batch.narrow(1, 0, batch.size(1) - 1);
        const at::Tensor targets = batch.narrow(1, 1, batch.size(1) - 1);

        const auto start = std::chrono::steady_clock::now();
        const at::Tensor logits = model.forward(inputs);  // [windows, length - 1, vocab]
        const at::Tensor logProbs = at::log_softmax(logits.to(at::kFloat), -1);
        const at::Tensor targetLogProbs = logProbs.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        result.lossSum -= targetLogProbs.sum().item<double>();
        result.correct += logits.argmax(-1).eq(targets).sum().item<int64_t>();
        result.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        result.predictedTokens += targets.numel();
        if (onProgress) onProgress(result.predictedTokens, totalPredicted, result.seconds);
        first = last;
    }
    return result;
}

}  // namespace dha::model
