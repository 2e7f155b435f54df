// `dha generate`: continue a prompt with the compact KV cache, streaming each new piece of text.
#include <chrono>

#include "dha/text_generation.h"
#include "jobs/job_boundary.h"
#include "jobs/model_session.h"
#include "model/generation.h"

namespace dha {
namespace {

GenerateReport generateText(const GenerateSpec& spec, JobSink& sink, const CancelToken& cancel) {
    jobs::ModelSession session = jobs::openModelSession(spec.modelDir, spec.dtype, sink);
    const tok::Tokenizer& tokenizer = *session.tokenizer;

    std::vector<int32_t> promptIds;
    if (const auto bos = tokenizer.bosId()) promptIds.push_back(*bos);
    for (int32_t id : tokenizer.encode(spec.prompt)) promptIds.push_back(id);
    if (promptIds.empty()) {
        fail(ErrorCode::Usage, "--prompt", "the prompt is empty and the tokenizer has no BOS token to start from");
    }

    model::GenerationOptions options;
    options.maxNewTokens = spec.maxNewTokens;
    options.temperature = spec.temperature;
    options.topK = spec.topK;
    options.seed = spec.seed;
    if (spec.stopAtEos) {
        if (const auto eos = tokenizer.eosId()) options.eosTokenId = *eos;
    }

    // Pieces are decoded in context: decode(prompt + new) minus decode(prompt + earlier new) gives the text a
    // token adds, including the leading space SentencePiece strips from the first piece of a sequence and
    // characters that span several byte-fallback tokens.
    std::vector<int32_t> sequence = promptIds;
    std::string decodedSoFar = tokenizer.decode(sequence);
    const size_t promptTextLength = decodedSoFar.size();
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> prompt(promptIds.begin(), promptIds.end());
    const model::GenerationResult result =
        model::generate(session.loaded.model, prompt, options, [&](const model::GenerationStep& step) {
            sequence.push_back(static_cast<int32_t>(step.token));
            std::string decoded = tokenizer.decode(sequence);
            if (decoded.size() > decodedSoFar.size() && decoded.compare(0, decodedSoFar.size(), decodedSoFar) == 0) {
                sink.onText({decoded.substr(decodedSoFar.size()), static_cast<int32_t>(step.token)});
                decodedSoFar = std::move(decoded);
            }
            return !cancel.isCancelled();
        });
    jobs::throwIfCancelled(cancel, "generation");

    GenerateReport report;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string fullText = tokenizer.decode(sequence);
    report.text = fullText.size() >= promptTextLength ? fullText.substr(promptTextLength) : fullText;
    report.promptTokens = static_cast<int>(promptIds.size());
    report.generatedTokens = static_cast<int>(result.tokens.size());
    report.tokensPerSecond = report.seconds > 0 ? report.generatedTokens / report.seconds : 0.0;
    report.kvCacheBytes = result.kvCacheBytes;
    if (result.stopReason == model::StopReason::ContextFull) {
        sink.onLog({LogLevel::Warning, "stopped: the sequence reached the model's context length"});
    }
    return report;
}

}  // namespace

JobResult<GenerateReport> runGenerateJob(const GenerateSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<GenerateReport>([&] { return generateText(spec, sink, cancel); });
}

}  // namespace dha
