// Held-out next-token loss of a Transformer over a token stream, in windows of context + 1 tokens that
// overlap by one token: the protocol of `dha eval`, also used for validation during pretraining.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "dha/job.h"
#include "model/transformer.h"

namespace dha::model {

struct HeldOutWindow {
    int64_t start = 0;   // first token of the window
    int64_t length = 0;  // tokens in the window: context + the token predicted last
};

// Windows of contextLength + 1 tokens overlapping by one token: each token after the first is predicted once.
// maxPredicted > 0 stops after that many predicted tokens (the last window is shortened).
std::vector<HeldOutWindow> cutHeldOutWindows(int64_t tokenCount, int contextLength, int64_t maxPredicted);

struct HeldOutResult {
    int64_t predictedTokens = 0;
    int windows = 0;
    double lossSum = 0;   // nats, summed over predicted tokens
    int64_t correct = 0;  // argmax predictions equal to the next token
    double seconds = 0;   // forward passes only
    double meanLoss() const {
        return predictedTokens > 0 ? lossSum / static_cast<double>(predictedTokens) : 0.0;
    }
    double accuracy() const {
        return predictedTokens > 0 ? static_cast<double>(correct) / static_cast<double>(predictedTokens)
                                   : 0.0;
    }
};

// Runs the model without gradients over `tokens` (int64 [n], n >= 2, on any device) in batches of up to
// batchSize windows of equal length. The cancel token is checked before every batch (a cancel throws
// ErrorCode::Cancelled naming `where`); onProgress(predicted, totalPredicted, seconds) follows every batch.
HeldOutResult evaluateHeldOut(const TransformerImpl& model, const at::Tensor& tokens, int contextLength,
                              int batchSize, int64_t maxPredicted, const CancelToken& cancel,
                              const char* where,
                              const std::function<void(int64_t, int64_t, double)>& onProgress = {});

}  // namespace dha::model
