// Byte-level pre-tokenization and decoding (Hugging Face pre_tokenizers/byte_level.rs, split.rs).
#include "tokenizer/byte_level.h"

#include <array>

#include "io/json_reader.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards.
struct ByteTables {
    std::array<std::string, 256> toChar;
    std::array<int, 0x180> toByte;  // indexed by code point; -1 when not a stand-in
    ByteTables() {
        toByte.fill(-1);
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            const char32_t c = printable ? static_cast<char32_t>(b) : next++;
            appendUtf8(toChar[static_cast<size_t>(b)], c);
            toByte[c] = b;
        }
    }
};

const ByteTables& byteTables() {
    static const ByteTables tables;
    return tables;
}

class ByteLevelPreTokenizer : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
        : m_addPrefixSpace(addPrefixSpace), m_useRegex(useRegex) {}
    void split(std::string_view text, bool, std::vector<std::string>& words) const override {
        std::string prefixed;
        if (m_addPrefixSpace && !text.empty() && text.front() != ' ') {
            prefixed = " " + std::string(text);
            text = prefixed;
        }
        std::vector<std::string> pieces;
        if (m_useRegex) {
            splitByPattern(text, SplitPattern::Gpt2, pieces);
        } else {
            pieces.emplace_back(text);
        }
        for (const std::string& piece : pieces) words.push_back(byteLevelEncode(piece));
    }

private:
    bool m_addPrefixSpace;
    bool m_useRegex;
};

class SplitPreTokenizer : public PreTokenizer {
public:
    explicit SplitPreTokenizer(SplitPattern pattern) : m_pattern(pattern) {}
    void split(std::string_view text, bool, std::vector<std::string>& words) const override {
        splitByPattern(text, m_pattern, words);
    }

private:
    SplitPattern m_pattern;
};

class ByteLevelDecoderStep : public DecoderStep {
public:
    void apply(std::vector<std::string>& tokens) const override {
        const ByteTables& tables = byteTables();
        std::string bytes;
        for (const std::string& token : tokens) {
            std::string decoded;
            bool allMapped = true;
            for (std::string_view rest = token; !rest.empty();) {
                size_t length = 0;
                const char32_t c = decodeUtf8(rest, &length);
                if (c >= tables.toByte.size() || tables.toByte[c] < 0) {
                    allMapped = false;
                    break;
                }
                decoded += static_cast<char>(tables.toByte[c]);
                rest.remove_prefix(length);
            }
            bytes += allMapped ? decoded : token;
        }
        tokens.assign(1, utf8Lossy(bytes));
    }
};

const char* const kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

std::string byteLevelEncode(std::string_view text) {
    const ByteTables& tables = byteTables();
    std::string out;
    out.reserve(text.size() * 2);
    for (const char c : text) out += tables.toChar[static_cast<unsigned char>(c)];
    return out;
}

std::string utf8Lossy(std::string_view bytes) {
    std::string out;
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    for (size_t i = 0; i < n;) {
        const unsigned char lead = s[i];
        size_t need = 0;
        unsigned char low = 0x80, high = 0xBF;  // allowed range of the first continuation byte
        if (lead < 0x80) {
            out += static_cast<char>(lead);
            ++i;
            continue;
        }
        if (lead >= 0xC2 && lead <= 0xDF)
            need = 1;
        else if (lead >= 0xE0 && lead <= 0xEF) {
            need = 2;
            if (lead == 0xE0) low = 0xA0;
            if (lead == 0xED) high = 0x9F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            need = 3;
            if (lead == 0xF0) low = 0x90;
            if (lead == 0xF4) high = 0x8F;
        }
        size_t valid = 0;  // continuation bytes that still fit a well-formed sequence
        while (valid < need && i + 1 + valid < n) {
            const unsigned char next = s[i + 1 + valid];
            const bool ok = valid == 0 ? (next >= low && next <= high) : (next >= 0x80 && next <= 0xBF);
            if (!ok) break;
            ++valid;
        }
        if (need > 0 && valid == need) {
            out.append(bytes.substr(i, need + 1));
        } else {
            out.append(kReplacementUtf8);
        }
        i += 1 + valid;
    }
    return out;
}

std::unique_ptr<PreTokenizer> byteLevelStageFromJson(const std::string& type, const Json& value,
                                                     const JsonFields& fields, const std::string& where) {
    if (type == "ByteLevel") {
        return std::make_unique<ByteLevelPreTokenizer>(
            fields.boolMember(value, "add_prefix_space", true, where),
            fields.boolMember(value, "use_regex", true, where));
    }
    const std::string patternWhere = memberPath(where, "pattern");
    const Json& pattern = fields.object(fields.member(value, "pattern", where), patternWhere);
    const Json* regex = fields.optionalMember(pattern, "Regex");
    if (!regex)
        fields.unsupported(patternWhere, "a Split pattern other than the GPT-2 / Llama-3 / Qwen2 regex");
    const std::string text = fields.string(*regex, memberPath(patternWhere, "Regex"));
    SplitPattern known;
    if (text == kGpt2Regex) {
        known = SplitPattern::Gpt2;
    } else if (text == kLlama3Regex) {
        known = SplitPattern::Llama3;
    } else if (text == kQwen2Regex) {
        known = SplitPattern::Qwen2;
    } else {
        fields.unsupported(patternWhere, "the Split regex \"" + io::printableExcerpt(text, 120) + "\"");
    }
    const std::string behavior = fields.stringMember(value, "behavior", where);
    if (behavior != "Isolated") {
        fields.unsupported(memberPath(where, "behavior"),
                           "the Split behavior \"" + io::printableExcerpt(behavior) + "\"");
    }
    if (fields.boolMember(value, "invert", false, where)) fields.unsupported(where, "an inverted Split");
    return std::make_unique<SplitPreTokenizer>(known);
}

std::unique_ptr<DecoderStep> byteLevelDecoderStep() { return std::make_unique<ByteLevelDecoderStep>(); }

}  // namespace dha::tok
