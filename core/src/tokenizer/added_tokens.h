// Hugging Face added tokens: strings matched in the text before normalization (or after, when "normalized").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/piece_trie.h"

namespace dha::tok {

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool special = false;
    bool normalized = false;  // matched in normalized text instead of the raw input
    bool lstrip = false;      // swallows whitespace to its left
    bool rstrip = false;      // swallows whitespace to its right
};

struct TextSegment {
    std::string_view text;  // the text, or the matched token with any stripped whitespace
    int32_t tokenId = -1;   // >= 0 when the segment is an added token
    size_t offset = 0;      // byte offset in the text that was split
};

class AddedTokenMatcher {
public:
    AddedTokenMatcher() = default;
    explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

    bool empty() const { return m_tokens.empty(); }
    // Splits `text` at the leftmost-longest occurrences of tokens whose `normalized` flag equals
    // `normalizedTokens` (aho-corasick LeftmostLongest, as Hugging Face). Empty text segments are omitted.
    std::vector<TextSegment> split(std::string_view text, bool normalizedTokens) const;
    const std::vector<AddedToken>& tokens() const { return m_tokens; }

private:
    std::vector<AddedToken> m_tokens;
    PieceTrie m_raw;  // values index m_tokens
    PieceTrie m_normalized;
};

}  // namespace dha::tok
