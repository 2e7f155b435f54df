// Normalizer steps of Hugging Face tokenizers (normalizers/{utils,prepend,replace,strip,precompiled}.rs)
// as plain string rewrites; offsets are not tracked because only ids are needed.
#include "tokenizer/text_normalizers.h"

#include "io/json_reader.h"
#include "tokenizer/utf8.h"

namespace dha::tok {

std::string SequenceNormalizer::normalize(std::string_view text) const {
    std::string current(text);
    for (const auto& step : m_steps) current = step->normalize(current);
    return current;
}

std::string PrependNormalizer::normalize(std::string_view text) const {
    if (text.empty()) return {};
    return m_prefix + std::string(text);
}

ReplaceNormalizer::ReplaceNormalizer(std::string pattern, std::string content)
    : m_pattern(std::move(pattern)), m_content(std::move(content)) {}

std::string ReplaceNormalizer::normalize(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    size_t position = 0;
    while (true) {
        const size_t found = text.find(m_pattern, position);
        if (found == std::string_view::npos) break;
        out.append(text.substr(position, found - position));
        out.append(m_content);
        position = found + m_pattern.size();
    }
    out.append(text.substr(position));
    return out;
}

std::string SpaceRunNormalizer::normalize(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        size_t run = 0;
        while (i + run < text.size() && text[i + run] == ' ') ++run;
        if (run >= 2) {
            out.append(m_content);
            i += run;
        } else if (run == 1) {
            out += ' ';
            ++i;
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::string StripNormalizer::normalize(std::string_view text) const {
    size_t begin = 0;
    size_t end = text.size();
    if (m_left) {
        while (begin < end) {
            size_t length = 0;
            if (!isUnicodeWhitespace(decodeUtf8(text.substr(begin), &length))) break;
            begin += length;
        }
    }
    if (m_right) {
        while (end > begin) {
            size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
            size_t length = 0;
            const char32_t c = decodeUtf8(text.substr(start, end - start), &length);
            if (length != end - start || !isUnicodeWhitespace(c)) break;
            end = start;
        }
    }
    return std::string(text.substr(begin, end - begin));
}

std::string PrecompiledNormalizer::normalize(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const auto match = m_charsMap->longestMatch(text);
        if (match.length > 0) {
            out.append(match.replacement);
            text.remove_prefix(match.length);
            continue;
        }
        size_t length = 0;
        if (startsWithValidUtf8(text, &length)) {
            out.append(text.substr(0, length));
        } else {
            out.append(kReplacementUtf8);
        }
        text.remove_prefix(length);
    }
    return out;
}

std::optional<std::string> decodeBase64(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    std::string out;
    out.reserve(text.size() * 3 / 4);
    uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        int value = -1;
        if (c >= 'A' && c <= 'Z') value = c - 'A';
        if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
        if (c >= '0' && c <= '9') value = c - '0' + 52;
        if (c == '+') value = 62;
        if (c == '/') value = 63;
        if (value < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    if (bits >= 6) return std::nullopt;  // a lone trailing character carries no whole byte
    return out;
}

std::unique_ptr<TextNormalizer> normalizerFromJson(const Json& value, const JsonFields& fields,
                                                   const std::string& where) {
    if (value.is_null()) return nullptr;
    const std::string type = fields.typeOf(value, where);
    if (type == "Sequence") {
        const std::string listWhere = memberPath(where, "normalizers");
        const Json& list = fields.array(fields.member(value, "normalizers", where), listWhere);
        std::vector<std::unique_ptr<TextNormalizer>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            if (auto step = normalizerFromJson(list[i], fields, elementPath(listWhere, i))) {
                steps.push_back(std::move(step));
            }
        }
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    if (type == "Prepend")
        return std::make_unique<PrependNormalizer>(fields.stringMember(value, "prepend", where));
    if (type == "Replace") {
        const std::string patternWhere = memberPath(where, "pattern");
        const Json& pattern = fields.object(fields.member(value, "pattern", where), patternWhere);
        const std::string content = fields.stringMember(value, "content", where);
        if (const Json* literal = fields.optionalMember(pattern, "String")) {
            std::string text = fields.string(*literal, memberPath(patternWhere, "String"));
            if (text.empty()) fields.invalid(patternWhere, "the pattern is empty");
            return std::make_unique<ReplaceNormalizer>(std::move(text), content);
        }
        if (const Json* regex = fields.optionalMember(pattern, "Regex")) {
            const std::string text = fields.string(*regex, memberPath(patternWhere, "Regex"));
            if (text == " {2,}") return std::make_unique<SpaceRunNormalizer>(content);
            fields.unsupported(patternWhere, "the Replace regex \"" + io::printableExcerpt(text) + "\"");
        }
        fields.invalid(patternWhere, "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    if (type == "Strip") {
        return std::make_unique<StripNormalizer>(fields.boolMember(value, "strip_left", false, where),
                                                 fields.boolMember(value, "strip_right", false, where));
    }
    if (type == "Precompiled") {
        const auto encoded = fields.optionalString(value, "precompiled_charsmap", where);
        if (!encoded || encoded->empty()) return nullptr;  // no rules: identity
        const auto blob = decodeBase64(*encoded);
        if (!blob) fields.invalid(memberPath(where, "precompiled_charsmap"), "not valid base64");
        return std::make_unique<PrecompiledNormalizer>(
            std::make_shared<const PrecompiledCharsMap>(*blob, fields.path()));
    }
    fields.unsupported(where, "the normalizer \"" + io::printableExcerpt(type) + "\"");
}

}  // namespace dha::tok
