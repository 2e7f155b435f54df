// The training data of a pretraining run: the text tokenized once and cached in the run directory
// (tokens.bin), and the batches drawn from it as a pure function of (seed, step).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dha/job.h"
#include "tokenizer/tokenizer.h"

namespace dha::training {

// tokens.bin: a 160-byte header ("DHATOKS1", u32 version 1, u32 bytes per token 4, u64 token count, u64 text
// bytes, the text's and the tokenizer file's SHA-256 as 64 hex digits each), then the ids as little-endian
// int32.
struct TokenCacheKey {
    std::string textSha256;
    std::string tokenizerSha256;
};

// Tokenizes `text` in pieces of about 1 MiB cut at blank lines (document boundaries), reporting progress as
// phase "tokenize" and checking `cancel` between pieces.
std::vector<int32_t> tokenizeDocuments(const std::string& text, const tok::Tokenizer& tokenizer,
                                       JobSink& sink, const CancelToken& cancel);

// The cached ids when `cacheFile` exists, is well-formed and carries `key`; otherwise an empty vector (a
// stale or damaged cache is rebuilt, not an error). Every id is checked against vocabSize.
std::vector<int32_t> readTokenCache(const std::filesystem::path& cacheFile, const TokenCacheKey& key,
                                    int vocabSize);
void writeTokenCache(const std::filesystem::path& cacheFile, const TokenCacheKey& key, uint64_t textBytes,
                     const std::vector<int32_t>& tokens);

// Batches of random windows: row r of step s starts at a position drawn uniformly from [0, n - window] by a
// counter-based hash of (seed, s, r). The data order is a pure function of the step, so a resumed run sees
// exactly the batches the uninterrupted run would have, with no generator state to store.
class WindowSampler {
public:
    WindowSampler(const std::vector<int32_t>& tokens, int windowLength, int batchSize, uint64_t seed);
    std::vector<int64_t> windowStarts(int64_t step) const;
    at::Tensor batch(int64_t step) const;  // int64 [batchSize, windowLength] on the CPU

private:
    const std::vector<int32_t>& m_tokens;
    int m_windowLength;
    int m_batchSize;
    uint64_t m_seed;
};

// Linear warm-up from peak/warmup to peak over steps 1..warmup, then cosine decay reaching `min` at the last
// step. Steps count from 1.
struct LearningRateSchedule {
    double peak = 1e-3;
    double min = 1e-4;
    int64_t warmupSteps = 0;
    int64_t totalSteps = 1;
    double at(int64_t step) const;
};

}  // namespace dha::training
