// Pre-tokenizers of Hugging Face tokenizers (pre_tokenizers/{metaspace,sequence,byte_level,split}.rs).
#include "tokenizer/pre_tokenizers.h"

#include "io/json_reader.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace dha::tok {

void MetaspacePreTokenizer::split(std::string_view text, bool atTextStart,
                                  std::vector<std::string>& words) const {
    std::string replaced;
    replaced.reserve(text.size() * 2);
    for (const char c : text) {
        if (c == ' ') {
            replaced += m_replacement;
        } else {
            replaced += c;
        }
    }
    const bool startsWithReplacement = replaced.compare(0, m_replacement.size(), m_replacement) == 0;
    if (!replaced.empty() && !startsWithReplacement &&
        (m_scheme == PrependScheme::Always || (m_scheme == PrependScheme::First && atTextStart))) {
        replaced.insert(0, m_replacement);
    }
    if (!m_split) {
        words.push_back(std::move(replaced));
        return;
    }
    // Every replacement character starts a new word (MergedWithNext: "▁▁a" gives "▁", "▁a").
    std::string_view rest = replaced;
    std::string current;
    while (!rest.empty()) {
        const bool isReplacement = rest.compare(0, m_replacement.size(), m_replacement) == 0;
        if (isReplacement && !current.empty()) {
            words.push_back(std::move(current));
            current.clear();
        }
        const size_t length = isReplacement ? m_replacement.size() : 1;
        current.append(rest.substr(0, length));
        rest.remove_prefix(length);
    }
    if (!current.empty()) words.push_back(std::move(current));
}

void SequencePreTokenizer::split(std::string_view text, bool atTextStart,
                                 std::vector<std::string>& words) const {
    std::vector<std::string> current{std::string(text)};
    for (const auto& step : m_steps) {
        std::vector<std::string> next;
        for (size_t i = 0; i < current.size(); ++i) {
            // Only the first word of the text can sit at offset 0.
            step->split(current[i], atTextStart && i == 0, next);
        }
        current.clear();
        for (auto& word : next) {
            if (!word.empty()) current.push_back(std::move(word));
        }
    }
    for (auto& word : current) words.push_back(std::move(word));
}

PrependScheme prependSchemeFromJson(const Json& object, const JsonFields& fields, const std::string& where) {
    if (const auto scheme = fields.optionalString(object, "prepend_scheme", where)) {
        if (*scheme == "always") return PrependScheme::Always;
        if (*scheme == "first") return PrependScheme::First;
        if (*scheme == "never") return PrependScheme::Never;
        fields.invalid(
            memberPath(where, "prepend_scheme"),
            "expected \"always\", \"first\" or \"never\", got \"" + io::printableExcerpt(*scheme) + "\"");
    }
    return fields.boolMember(object, "add_prefix_space", true, where) ? PrependScheme::Always
                                                                      : PrependScheme::Never;
}

std::unique_ptr<PreTokenizer> preTokenizerFromJson(const Json& value, const JsonFields& fields,
                                                   const std::string& where) {
    if (value.is_null()) return nullptr;
    const std::string type = fields.typeOf(value, where);
    if (type == "Sequence") {
        const std::string listWhere = memberPath(where, "pretokenizers");
        const Json& list = fields.array(fields.member(value, "pretokenizers", where), listWhere);
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            if (auto step = preTokenizerFromJson(list[i], fields, elementPath(listWhere, i))) {
                steps.push_back(std::move(step));
            }
        }
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    if (type == "Metaspace") {
        const std::string replacement = fields.stringMember(value, "replacement", where);
        if (replacement.empty() || utf8CharLength(replacement) != replacement.size()) {
            fields.invalid(memberPath(where, "replacement"), "the replacement must be one character");
        }
        return std::make_unique<MetaspacePreTokenizer>(replacement,
                                                       prependSchemeFromJson(value, fields, where),
                                                       fields.boolMember(value, "split", true, where));
    }
    if (type == "ByteLevel" || type == "Split") return byteLevelStageFromJson(type, value, fields, where);
    fields.unsupported(where, "the pre-tokenizer \"" + io::printableExcerpt(type) + "\"");
}

}  // namespace dha::tok
