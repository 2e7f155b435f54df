// UTF-8 helpers with SentencePiece's exact rules (what counts as one character, what is malformed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dha::tok {

inline constexpr char32_t kReplacementCodepoint = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";
// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
inline constexpr std::string_view kMetaSpace = "\xE2\x96\x81";

// Length of the character starting with `lead` judged from the lead byte alone (1 for stray continuation
// bytes), as SentencePiece's OneCharLen; callers clamp it to the bytes left.
inline size_t utf8LeadLength(char lead) {
    return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[(static_cast<unsigned char>(lead)) >> 4];
}

// min(utf8LeadLength(text[0]), text.size()); text must not be empty.
inline size_t utf8CharLength(std::string_view text) {
    const size_t length = utf8LeadLength(text[0]);
    return length < text.size() ? length : text.size();
}

// Decodes the first character of non-empty `text`. Sets `length` to the bytes it spans (1 for a malformed
// sequence, which returns kReplacementCodepoint). Overlong forms and surrogates are malformed.
char32_t decodeUtf8(std::string_view text, size_t* length);

// True when `text` starts with a well-formed character; `length` as in decodeUtf8.
inline bool startsWithValidUtf8(std::string_view text, size_t* length) {
    return decodeUtf8(text, length) != kReplacementCodepoint || *length == 3;
}

bool isValidUtf8(std::string_view text);

// Unicode White_Space, as Rust's char::is_whitespace (what Hugging Face strips).
inline bool isUnicodeWhitespace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}
void appendUtf8(std::string& out, char32_t codepoint);

}  // namespace dha::tok
