// The normalization pass of SentencePiece (normalizer.cc), step for step, so ids match spm_encode.
#include "tokenizer/sentencepiece_normalizer.h"

#include "tokenizer/utf8.h"

namespace dha::tok {

SentencePieceNormalizer::SentencePieceNormalizer(SentencePieceNormalizerOptions options,
                                                 std::shared_ptr<const PrecompiledCharsMap> charsMap,
                                                 std::shared_ptr<const PieceTrie> protectedPieces)
    : m_options(options), m_charsMap(std::move(charsMap)), m_protectedPieces(std::move(protectedPieces)) {}

std::pair<std::string_view, size_t> SentencePieceNormalizer::normalizePrefix(std::string_view input) const {
    if (m_protectedPieces && !m_protectedPieces->empty()) {
        const size_t length = m_protectedPieces->longestPrefix(input).first;
        if (length > 0) return {input.substr(0, length), length};
    }
    if (m_charsMap) {
        const auto match = m_charsMap->longestMatch(input);
        if (match.length > 0) return {match.replacement, match.length};
    }
    size_t length = 0;
    if (!startsWithValidUtf8(input, &length)) return {kReplacementUtf8, 1};
    return {input.substr(0, length), length};
}

std::string SentencePieceNormalizer::normalize(std::string_view input) const {
    std::string normalized;
    if (input.empty()) return normalized;
    const std::string_view space = m_options.escapeWhitespaces ? kMetaSpace : std::string_view(" ");

    if (m_options.removeExtraWhitespaces) {  // leading whitespace (after normalization) goes
        while (!input.empty()) {
            const auto [text, consumed] = normalizePrefix(input);
            if (text != " ") break;
            input.remove_prefix(consumed);
        }
    }
    if (input.empty()) return normalized;

    normalized.reserve(input.size() * 3);
    if (!m_options.treatWhitespaceAsSuffix && m_options.addDummyPrefix) normalized.append(space);

    bool previousWasSpace = m_options.removeExtraWhitespaces;
    while (!input.empty()) {
        auto [text, consumed] = normalizePrefix(input);
        // Spaces right after a space are dropped when removing extra whitespace.
        while (previousWasSpace && !text.empty() && text.front() == ' ') text.remove_prefix(1);
        if (!text.empty()) {
            for (const char c : text) {
                if (c == ' ' && m_options.escapeWhitespaces) {
                    normalized.append(kMetaSpace);
                } else {
                    normalized += c;
                }
            }
            previousWasSpace = text.back() == ' ';
        }
        input.remove_prefix(consumed);
        if (!m_options.removeExtraWhitespaces) previousWasSpace = false;
    }

    if (m_options.removeExtraWhitespaces) {  // trailing whitespace goes too
        while (normalized.size() >= space.size() &&
               std::string_view(normalized).substr(normalized.size() - space.size()) == space) {
            normalized.resize(normalized.size() - space.size());
        }
    }
    if (m_options.treatWhitespaceAsSuffix && m_options.addDummyPrefix) normalized.append(space);
    return normalized;
}

}  // namespace dha::tok
