// Tokenizing and caching the training text, drawing batches, and the learning-rate schedule.
#include "training/token_data.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>

#include "dha/error.h"
#include "io/atomic_file.h"

namespace dha::training {
namespace {

constexpr char kMagic[8] = {'D', 'H', 'A', 'T', 'O', 'K', 'S', '1'};
constexpr size_t kHeaderBytes = 160;
constexpr size_t kPieceBytes = size_t{1} << 20;

uint64_t splitMix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

template <typename Value>
void putLittleEndian(std::string& out, Value value) {
    for (size_t i = 0; i < sizeof(Value); ++i)
        out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
}

template <typename Value>
Value getLittleEndian(const char* bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof(Value); ++i)
        value |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
    return static_cast<Value>(value);
}

}  // namespace

std::vector<int32_t> tokenizeDocuments(const std::string& text, const tok::Tokenizer& tokenizer,
                                       JobSink& sink, const CancelToken& cancel) {
    std::vector<int32_t> tokens;
    tokens.reserve(text.size() / 3);
    const auto start = std::chrono::steady_clock::now();
    const auto total = static_cast<int64_t>(text.size());
    sink.onProgress({"tokenize", 0, total, "bytes", 0});
    size_t begin = 0;
    while (begin < text.size()) {
        if (cancel.isCancelled()) fail(ErrorCode::Cancelled, {}, "cancelled during tokenization");
        size_t end = text.size();
        if (text.size() - begin > kPieceBytes) {
            const size_t blank = text.find("\n\n", begin + kPieceBytes);
            end = blank == std::string::npos ? text.size() : blank + 2;
        }
        const std::vector<int32_t> piece =
            tokenizer.encode(std::string_view(text).substr(begin, end - begin));
        tokens.insert(tokens.end(), piece.begin(), piece.end());
        begin = end;
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        sink.onProgress({"tokenize", static_cast<int64_t>(begin), total, "bytes", seconds});
    }
    return tokens;
}

std::vector<int32_t> readTokenCache(const std::filesystem::path& cacheFile, const TokenCacheKey& key,
                                    int vocabSize) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(cacheFile, error)) return {};
    const uint64_t fileBytes = std::filesystem::file_size(cacheFile, error);
    if (error || fileBytes < kHeaderBytes) return {};
    std::ifstream in(cacheFile, std::ios::binary);
    char header[kHeaderBytes];
    if (!in.read(header, kHeaderBytes)) return {};
    if (std::memcmp(header, kMagic, 8) != 0 || getLittleEndian<uint32_t>(header + 8) != 1 ||
        getLittleEndian<uint32_t>(header + 12) != 4) {
        return {};
    }
    const auto count = getLittleEndian<uint64_t>(header + 16);
    if (count > (fileBytes - kHeaderBytes) / 4 || kHeaderBytes + count * 4 != fileBytes) return {};
    if (std::string(header + 32, 64) != key.textSha256 ||
        std::string(header + 96, 64) != key.tokenizerSha256) {
        return {};
    }
    std::vector<int32_t> tokens(count);
    std::vector<char> bytes(count * 4);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) return {};
    for (uint64_t i = 0; i < count; ++i) {
        tokens[i] = getLittleEndian<int32_t>(bytes.data() + 4 * i);
        if (tokens[i] < 0 || tokens[i] >= vocabSize) return {};
    }
    return tokens;
}

void writeTokenCache(const std::filesystem::path& cacheFile, const TokenCacheKey& key, uint64_t textBytes,
                     const std::vector<int32_t>& tokens) {
    std::string header(kMagic, 8);
    putLittleEndian<uint32_t>(header, 1);
    putLittleEndian<uint32_t>(header, 4);
    putLittleEndian<uint64_t>(header, tokens.size());
    putLittleEndian<uint64_t>(header, textBytes);
    header += key.textSha256;
    header += key.tokenizerSha256;
    if (header.size() != kHeaderBytes)
        fail(ErrorCode::Internal, cacheFile.string(), "token cache key is not two SHA-256 digests");
    std::string body;
    body.reserve(tokens.size() * 4);
    for (const int32_t id : tokens) putLittleEndian<int32_t>(body, id);
    io::AtomicFileWriter writer(cacheFile);
    writer.write(header);
    writer.write(body);
    writer.commit();
}

WindowSampler::WindowSampler(const std::vector<int32_t>& tokens, int windowLength, int batchSize,
                             uint64_t seed)
    : m_tokens(tokens), m_windowLength(windowLength), m_batchSize(batchSize), m_seed(seed) {
    if (windowLength < 2 || batchSize < 1 || tokens.size() < static_cast<size_t>(windowLength)) {
        fail(ErrorCode::Internal, "window sampler", "needs at least one window of at least 2 tokens");
    }
}

std::vector<int64_t> WindowSampler::windowStarts(int64_t step) const {
    const uint64_t choices = m_tokens.size() - static_cast<size_t>(m_windowLength) + 1;
    const uint64_t stepKey = splitMix(splitMix(m_seed) ^ static_cast<uint64_t>(step));
    std::vector<int64_t> starts(static_cast<size_t>(m_batchSize));
    for (int row = 0; row < m_batchSize; ++row) {
        // The modulo bias is below choices / 2^64: nothing a corpus of any size could notice.
        starts[static_cast<size_t>(row)] =
            static_cast<int64_t>(splitMix(stepKey ^ static_cast<uint64_t>(row)) % choices);
    }
    return starts;
}

at::Tensor WindowSampler::batch(int64_t step) const {
    at::Tensor batch = at::empty({m_batchSize, m_windowLength}, at::kLong);  // [batch, window]
    int64_t* out = batch.data_ptr<int64_t>();
    for (const int64_t start : windowStarts(step)) {
        for (int i = 0; i < m_windowLength; ++i) *out++ = m_tokens[static_cast<size_t>(start + i)];
    }
    return batch;
}

double LearningRateSchedule::at(int64_t step) const {
    if (warmupSteps > 0 && step <= warmupSteps)
        return peak * static_cast<double>(step) / static_cast<double>(warmupSteps);
    if (totalSteps <= warmupSteps) return min;
    const double progress = std::min(
        1.0, static_cast<double>(step - warmupSteps) / static_cast<double>(totalSteps - warmupSteps));
    return min + 0.5 * (peak - min) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace dha::training
