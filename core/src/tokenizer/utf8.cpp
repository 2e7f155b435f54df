// UTF-8 decoding and encoding as SentencePiece does it (util.cc), so malformed input is treated identically.
#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

bool isTrailByte(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) == 0x80; }

bool isValidCodepoint(char32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

}  // namespace

char32_t decodeUtf8(std::string_view text, size_t* length) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t available = text.size();
    if (s[0] < 0x80) {
        *length = 1;
        return s[0];
    }
    if (available >= 2 && (s[0] & 0xE0) == 0xC0) {
        const char32_t c = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        if (isTrailByte(text[1]) && c >= 0x80 && isValidCodepoint(c)) {
            *length = 2;
            return c;
        }
    } else if (available >= 3 && (s[0] & 0xF0) == 0xE0) {
        const char32_t c = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        if (isTrailByte(text[1]) && isTrailByte(text[2]) && c >= 0x800 && isValidCodepoint(c)) {
            *length = 3;
            return c;
        }
    } else if (available >= 4 && (s[0] & 0xF8) == 0xF0) {
        const char32_t c =
            ((s[0] & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        if (isTrailByte(text[1]) && isTrailByte(text[2]) && isTrailByte(text[3]) && c >= 0x10000 &&
            isValidCodepoint(c)) {
            *length = 4;
            return c;
        }
    }
    *length = 1;
    return kReplacementCodepoint;
}

bool isValidUtf8(std::string_view text) {
    while (!text.empty()) {
        size_t length = 0;
        if (!startsWithValidUtf8(text, &length)) return false;
        text.remove_prefix(length);
    }
    return true;
}

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

}  // namespace dha::tok
