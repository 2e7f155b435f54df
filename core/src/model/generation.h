// Autoregressive generation over the compact KV cache: greedy or seeded sampling (temperature, top-k).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "model/transformer.h"

namespace dha::model {

struct GenerationOptions {
    int maxNewTokens = 32;
    double temperature = 0.0;  // 0 = greedy (argmax); > 0 samples from softmax(logits / temperature)
    int topK = 0;              // with sampling: keep the k most likely tokens; 0 = the whole vocabulary
    uint64_t seed = 0;         // sampling is reproducible for a given seed (it runs on the CPU)
    std::optional<int64_t> eosTokenId;  // generation ends when this token is produced (it is not returned)
    // false: recompute the whole sequence at every step instead of using the KV cache (a reference path).
    bool useKvCache = true;
    std::optional<c10::ScalarType> cacheDtype;  // default: the model's dtype
};

enum class StopReason {
    MaxNewTokens,   // maxNewTokens were generated
    EndOfSequence,  // eosTokenId was produced
    Cancelled,      // the callback returned false
    ContextFull,    // the sequence reached the model's maxPositionEmbeddings
};
const char* stopReasonName(StopReason reason);

struct GenerationStep {
    int index = 0;             // 0 for the first new token
    int64_t token = 0;         // the chosen token
    const at::Tensor& logits;  // float32 [vocab] on the CPU: the model's output before temperature and top-k
};
// Called for every generated token (not for the EOS that ends generation); return false to stop.
using GenerationCallback = std::function<bool(const GenerationStep&)>;

struct GenerationResult {
    std::vector<int64_t> tokens;  // the new tokens, without the prompt
    StopReason stopReason = StopReason::MaxNewTokens;
    int64_t kvCacheBytes = 0;  // storage the KV cache allocated (0 without a cache)
};

// Throws dha::Exception when the prompt is empty, longer than maxPositionEmbeddings, or holds ids outside
// the vocabulary, and when options are out of range (negative temperature or top-k).
GenerationResult generate(Transformer& model, const std::vector<int64_t>& prompt,
                          const GenerationOptions& options, const GenerationCallback& onToken = {});

}  // namespace dha::model
