// Runs the tokenizer stages in Hugging Face's order: raw added tokens, normalize, normalized added tokens,
// pre-tokenize, model. A SentencePiece model is the special case with only a normalizer and a model.
#include "tokenizer/pipeline_tokenizer.h"

#include "dha/error.h"

namespace dha::tok {

PipelineTokenizer::PipelineTokenizer(TokenizerParts parts) : m_parts(std::move(parts)) {}

void PipelineTokenizer::encodeNormalized(std::string_view normalized, bool atTextStart,
                                         std::vector<int32_t>& ids) const {
    if (normalized.empty()) return;
    if (!m_parts.preTokenizer) {
        m_parts.model->encode(normalized, ids);
        return;
    }
    std::vector<std::string> words;
    m_parts.preTokenizer->split(normalized, atTextStart, words);
    for (const std::string& word : words) {
        if (!word.empty()) m_parts.model->encode(word, ids);
    }
}

std::vector<int32_t> PipelineTokenizer::encode(std::string_view text) const {
    std::vector<int32_t> ids;
    const auto rawSegments = m_parts.addedTokens.empty()
                                 ? std::vector<TextSegment>{TextSegment{text, -1, 0}}
                                 : m_parts.addedTokens.split(text, /*normalizedTokens=*/false);
    for (const TextSegment& raw : rawSegments) {
        if (raw.tokenId >= 0) {
            ids.push_back(raw.tokenId);
            continue;
        }
        const std::string normalized =
            m_parts.normalizer ? m_parts.normalizer->normalize(raw.text) : std::string(raw.text);
        if (m_parts.addedTokens.empty()) {
            encodeNormalized(normalized, raw.offset == 0, ids);
            continue;
        }
        for (const TextSegment& segment : m_parts.addedTokens.split(normalized, /*normalizedTokens=*/true)) {
            if (segment.tokenId >= 0) {
                ids.push_back(segment.tokenId);
            } else {
                encodeNormalized(segment.text, raw.offset == 0 && segment.offset == 0, ids);
            }
        }
    }
    return ids;
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids) const {
    for (const int32_t id : ids) {
        if (!m_parts.vocabulary->contains(id)) {
            fail(ErrorCode::Usage, "",
                 "token id " + std::to_string(id) + " is outside the vocabulary of " +
                     std::to_string(vocabSize()) + " pieces");
        }
    }
    return m_parts.decoder->decode(ids);
}

std::string PipelineTokenizer::pieceOf(int32_t id) const {
    return m_parts.vocabulary->contains(id) ? m_parts.vocabulary->piece(id) : std::string();
}

}  // namespace dha::tok
