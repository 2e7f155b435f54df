// Hand-written matchers for the GPT-2, Llama-3 and Qwen2 pre-tokenization regexes, following the
// leftmost-first alternation and greedy backtracking of the regex engine (Oniguruma) Hugging Face uses.
#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

// The text decoded once into code points with their byte offsets.
struct Chars {
    std::vector<char32_t> codepoints;
    std::vector<size_t> offsets;  // offsets[i] = byte offset of char i; offsets[size] = text size
    explicit Chars(std::string_view text) {
        for (size_t at = 0; at < text.size();) {
            size_t length = 0;
            codepoints.push_back(decodeUtf8(text.substr(at), &length));
            offsets.push_back(at);
            at += length;
        }
        offsets.push_back(text.size());
    }
    size_t size() const { return codepoints.size(); }
};

bool isSpace(char32_t c) { return isUnicodeWhitespace(c); }
bool isNewline(char32_t c) { return c == '\r' || c == '\n'; }
bool isOther(char32_t c) {
    return !isSpace(c) && !isUnicodeLetter(c) && !isUnicodeNumber(c);
}  // [^\s\p{L}\p{N}]

// 's|'t|'re|'ve|'m|'ll|'d at i (case-insensitively for Llama 3 / Qwen2; U+017F folds to s); chars matched.
size_t contraction(const Chars& t, size_t i, bool ignoreCase) {
    if (i >= t.size() || t.codepoints[i] != '\'') return 0;
    const auto at = [&](size_t k, char lower) {
        if (i + k >= t.size()) return false;
        const char32_t c = t.codepoints[i + k];
        if (c == static_cast<char32_t>(lower)) return true;
        if (!ignoreCase) return false;
        return c == static_cast<char32_t>(lower - 'a' + 'A') || (lower == 's' && c == 0x17F);
    };
    if (at(1, 's') || at(1, 't') || at(1, 'm') || at(1, 'd')) return 2;
    if ((at(1, 'r') && at(2, 'e')) || (at(1, 'v') && at(2, 'e')) || (at(1, 'l') && at(2, 'l'))) return 3;
    return 0;
}

template <typename Predicate>
size_t runOf(const Chars& t, size_t i, Predicate predicate, size_t limit = static_cast<size_t>(-1)) {
    size_t n = 0;
    while (i + n < t.size() && n < limit && predicate(t.codepoints[i + n])) ++n;
    return n;
}

// \s+(?!\S) then \s+: a whitespace run, leaving its last character for the next word when a non-space
// follows.
size_t whitespaceTail(const Chars& t, size_t i) {
    const size_t run = runOf(t, i, isSpace);
    if (run == 0) return 0;
    if (i + run == t.size()) return run;
    return run > 1 ? run - 1 : run;
}

size_t matchGpt2(const Chars& t, size_t i) {
    if (const size_t n = contraction(t, i, false)) return n;
    const size_t space = t.codepoints[i] == ' ' ? 1 : 0;
    if (const size_t n = runOf(t, i + space, isUnicodeLetter)) return space + n;
    if (const size_t n = runOf(t, i + space, isUnicodeNumber)) return space + n;
    if (const size_t n = runOf(t, i + space, isOther)) return space + n;
    return whitespaceTail(t, i);
}

size_t matchLlama3(const Chars& t, size_t i, size_t maxDigits) {
    if (const size_t n = contraction(t, i, true)) return n;
    const char32_t first = t.codepoints[i];
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!isNewline(first) && !isUnicodeLetter(first) && !isUnicodeNumber(first)) {
        if (const size_t n = runOf(t, i + 1, isUnicodeLetter)) return 1 + n;
    }
    if (const size_t n = runOf(t, i, isUnicodeLetter)) return n;
    // \p{N}{1,3}
    if (const size_t n = runOf(t, i, isUnicodeNumber, maxDigits)) return n;
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const size_t space = first == ' ' ? 1 : 0;
    if (const size_t n = runOf(t, i + space, isOther)) return space + n + runOf(t, i + space + n, isNewline);
    // \s*[\r\n]+ : up to and including the last newline of the whitespace run.
    const size_t run = runOf(t, i, isSpace);
    for (size_t k = run; k > 0; --k) {
        if (isNewline(t.codepoints[i + k - 1])) return k;
    }
    return whitespaceTail(t, i);
}

}  // namespace

void splitByPattern(std::string_view text, SplitPattern pattern, std::vector<std::string>& pieces) {
    const Chars t(text);
    size_t gapStart = 0;
    for (size_t i = 0; i < t.size();) {
        size_t n = 0;
        switch (pattern) {
            case SplitPattern::Gpt2:
                n = matchGpt2(t, i);
                break;
            case SplitPattern::Llama3:
                n = matchLlama3(t, i, 3);
                break;
            case SplitPattern::Qwen2:
                n = matchLlama3(t, i, 1);
                break;
        }
        if (n == 0) {
            ++i;  // unmatched characters stay together as a gap piece
            continue;
        }
        if (gapStart < i)
            pieces.emplace_back(text.substr(t.offsets[gapStart], t.offsets[i] - t.offsets[gapStart]));
        pieces.emplace_back(text.substr(t.offsets[i], t.offsets[i + n] - t.offsets[i]));
        i += n;
        gapStart = i;
    }
    if (gapStart < t.size()) pieces.emplace_back(text.substr(t.offsets[gapStart]));
}

}  // namespace dha::tok
