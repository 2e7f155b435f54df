// Greedy and sampled decoding over the KV cache, with cancellation and the model's context limit.
#include "model/generation.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "dha/error.h"
#include "model/kv_cache.h"

namespace dha::model {
namespace {

int64_t chooseToken(const at::Tensor& logits, const GenerationOptions& options, at::Generator& generator) {
    if (options.temperature == 0.0) return logits.argmax().item<int64_t>();
    at::Tensor scaled = logits / options.temperature;  // [vocab]
    if (options.topK > 0 && options.topK < scaled.size(0)) {
        const at::Tensor kthLargest = std::get<0>(scaled.topk(options.topK)).min();
        scaled = scaled.masked_fill(scaled < kthLargest, -std::numeric_limits<float>::infinity());
    }
    const at::Tensor probabilities = at::softmax(scaled.to(at::kDouble), 0);
    return at::multinomial(probabilities, 1, /*replacement=*/false, generator).item<int64_t>();
}

void checkOptions(const Transformer& model, const std::vector<int64_t>& prompt,
                  const GenerationOptions& options) {
    if (prompt.empty()) fail(ErrorCode::Usage, "prompt", "the prompt has no tokens");
    if (options.temperature < 0.0 || !(options.temperature == options.temperature)) {
        fail(ErrorCode::Usage, "temperature", "must be 0 (greedy) or positive");
    }
    if (options.topK < 0) fail(ErrorCode::Usage, "top-k", "must be 0 (whole vocabulary) or positive");
    const int64_t context = model->config().maxPositionEmbeddings;
    if (context > 0 && static_cast<int64_t>(prompt.size()) > context) {
        failInput("prompt", "has " + std::to_string(prompt.size()) +
                                " tokens, more than the model's context of " + std::to_string(context) +
                                " (max_position_embeddings)");
    }
}

}  // namespace

const char* stopReasonName(StopReason reason) {
    switch (reason) {
        case StopReason::MaxNewTokens:
            return "max-new-tokens";
        case StopReason::EndOfSequence:
            return "end-of-sequence";
        case StopReason::Cancelled:
            return "cancelled";
        case StopReason::ContextFull:
            return "context-full";
    }
    return "unknown";
}

GenerationResult generate(Transformer& model, const std::vector<int64_t>& prompt,
                          const GenerationOptions& options, const GenerationCallback& onToken) {
    checkOptions(model, prompt, options);
    at::NoGradGuard noGrad;
    GenerationResult result;
    const int64_t promptLength = static_cast<int64_t>(prompt.size());
    const int64_t context = model->config().maxPositionEmbeddings > 0 ? model->config().maxPositionEmbeddings
                                                                      : std::numeric_limits<int64_t>::max();
    const int64_t newTokens = std::max(0, options.maxNewTokens);
    if (newTokens == 0) return result;
    if (promptLength >= context) {
        result.stopReason = StopReason::ContextFull;
        return result;
    }

    std::unique_ptr<KvCache> cache;
    if (options.useKvCache) {
        // The last generated token is never fed back, so the cache needs one position less than the sequence.
        const int64_t cacheLength = std::min(promptLength + newTokens, context) - 1;
        const auto cacheOptions =
            at::TensorOptions().dtype(options.cacheDtype.value_or(model->dtype())).device(model->device());
        cache = std::make_unique<KvCache>(model->config(), 1, std::max<int64_t>(cacheLength, promptLength),
                                          cacheOptions);
        result.kvCacheBytes = cache->allocatedBytes();
    }
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<int64_t> sequence = prompt;
    at::Tensor input = at::tensor(prompt, at::kLong).unsqueeze(0);  // [1, promptLength]

    for (int index = 0;; ++index) {
        const at::Tensor allLogits =
            model->forward(cache ? input : at::tensor(sequence, at::kLong).unsqueeze(0),
                           cache.get());  // [1, seq, vocab]
        const at::Tensor logits = allLogits[0][allLogits.size(1) - 1].to(at::kCPU).contiguous();  // [vocab]
        const int64_t token = chooseToken(logits, options, generator);
        if (options.eosTokenId && token == *options.eosTokenId) {
            result.stopReason = StopReason::EndOfSequence;
            break;
        }
        result.tokens.push_back(token);
        sequence.push_back(token);
        if (onToken && !onToken(GenerationStep{index, token, logits})) {
            result.stopReason = StopReason::Cancelled;
            break;
        }
        if (static_cast<int64_t>(result.tokens.size()) == newTokens) {
            result.stopReason = StopReason::MaxNewTokens;
            break;
        }
        if (static_cast<int64_t>(sequence.size()) >= context) {
            result.stopReason = StopReason::ContextFull;
            break;
        }
        input = at::full({1, 1}, token, at::kLong);
    }
    return result;
}

}  // namespace dha::model
