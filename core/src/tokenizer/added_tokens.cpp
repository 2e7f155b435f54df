// Leftmost-longest splitting on added tokens, with Hugging Face's lstrip/rstrip whitespace swallowing.
#include "tokenizer/added_tokens.h"

#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

// Length of the whitespace run ending at `end`.
size_t whitespaceBefore(std::string_view text, size_t end) {
    size_t begin = end;
    while (begin > 0) {
        size_t start = begin - 1;
        while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t length = 0;
        const char32_t c = decodeUtf8(text.substr(start, begin - start), &length);
        if (length != begin - start || !isUnicodeWhitespace(c)) break;
        begin = start;
    }
    return end - begin;
}

size_t whitespaceAfter(std::string_view text, size_t begin) {
    size_t end = begin;
    while (end < text.size()) {
        size_t length = 0;
        const char32_t c = decodeUtf8(text.substr(end), &length);
        if (!isUnicodeWhitespace(c)) break;
        end += length;
    }
    return end - begin;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : m_tokens(std::move(tokens)) {
    std::vector<std::pair<std::string_view, int32_t>> raw, normalized;
    for (size_t i = 0; i < m_tokens.size(); ++i) {
        auto& target = m_tokens[i].normalized ? normalized : raw;
        target.emplace_back(m_tokens[i].content, static_cast<int32_t>(i));
    }
    m_raw = PieceTrie(std::move(raw));
    m_normalized = PieceTrie(std::move(normalized));
}

std::vector<TextSegment> AddedTokenMatcher::split(std::string_view text, bool normalizedTokens) const {
    const PieceTrie& trie = normalizedTokens ? m_normalized : m_raw;
    std::vector<TextSegment> segments;
    size_t textStart = 0;  // start of the pending plain-text segment
    size_t position = 0;
    while (position < text.size()) {
        const auto [length, index] =
            trie.empty() ? std::pair<size_t, int32_t>{0, -1} : trie.longestPrefix(text.substr(position));
        if (length == 0) {
            ++position;
            continue;
        }
        const AddedToken& token = m_tokens[static_cast<size_t>(index)];
        size_t begin = position;
        size_t end = position + length;
        if (token.lstrip) begin -= std::min(begin - textStart, whitespaceBefore(text, begin));
        if (token.rstrip) end += whitespaceAfter(text, end);
        if (begin > textStart) segments.push_back({text.substr(textStart, begin - textStart), -1, textStart});
        segments.push_back({text.substr(begin, end - begin), token.id, begin});
        textStart = position = end;
    }
    if (textStart < text.size()) segments.push_back({text.substr(textStart), -1, textStart});
    return segments;
}

}  // namespace dha::tok
