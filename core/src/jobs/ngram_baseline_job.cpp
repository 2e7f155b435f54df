// `dha ngram-baseline`: unigram and bigram baselines scored with the protocol of `dha eval`.
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "dha/ngram_baseline.h"
#include "io/atomic_file.h"
#include "jobs/job_boundary.h"
#include "model/ngram_model.h"
#include "tokenizer/tokenizer.h"

namespace dha {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTextBytes = size_t{1} << 30;

std::unique_ptr<tok::Tokenizer> openTokenizer(const fs::path& path) {
    std::error_code error;
    if (fs::is_directory(path, error)) return tok::loadTokenizer(path);
    if (path.extension() == ".json") return tok::loadTokenizerJson(path);
    return tok::loadSentencePieceModel(path);
}

std::vector<int32_t> tokenizeFile(const fs::path& path, const tok::Tokenizer& tokenizer, const char* phase,
                                  JobSink& sink, const CancelToken& cancel) {
    const std::string text = io::readSmallFile(path, kMaxTextBytes);
    jobs::throwIfCancelled(cancel, "tokenization");
    const auto bytes = static_cast<int64_t>(text.size());
    sink.onProgress({phase, 0, bytes, "bytes", 0});
    std::vector<int32_t> tokens = tokenizer.encode(text);
    sink.onProgress({phase, bytes, bytes, "bytes", 0});
    if (tokens.size() < 2) {
        failInput(path.string(),
                  "the text has " + std::to_string(tokens.size()) + " token(s); at least 2 are needed");
    }
    return tokens;
}

NgramBaselineScore toScore(const model::NgramScore& score) {
    return {score.meanLoss(), std::exp(score.meanLoss()), score.accuracy()};
}

NgramBaselineReport measure(const NgramBaselineSpec& spec, JobSink& sink, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::unique_ptr<tok::Tokenizer> tokenizer = openTokenizer(spec.tokenizer);
    const std::vector<int32_t> train =
        tokenizeFile(spec.trainFile, *tokenizer, "tokenize train", sink, cancel);
    const std::vector<int32_t> heldOut =
        tokenizeFile(spec.textFile, *tokenizer, "tokenize text", sink, cancel);
    jobs::throwIfCancelled(cancel, "counting");
    const model::UnigramModel unigram(train, tokenizer->vocabSize());
    const model::BigramModel bigram(train, tokenizer->vocabSize());
    jobs::throwIfCancelled(cancel, "scoring");

    NgramBaselineReport report;
    report.tokenizer = tokenizer->description();
    report.vocabSize = tokenizer->vocabSize();
    report.trainTokens = static_cast<int64_t>(train.size());
    const model::NgramScore unigramScore = unigram.score(heldOut);
    report.predictedTokens = unigramScore.predictedTokens;
    report.unigram = toScore(unigramScore);
    report.bigram = toScore(bigram.score(heldOut));
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace

JobResult<NgramBaselineReport> runNgramBaselineJob(const NgramBaselineSpec& spec, JobSink& sink,
                                                   const CancelToken& cancel) {
    return jobs::runGuarded<NgramBaselineReport>([&] { return measure(spec, sink, cancel); });
}

}  // namespace dha
