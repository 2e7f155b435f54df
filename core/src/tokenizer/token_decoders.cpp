// Decoder steps of Hugging Face tokenizers (decoders/{sequence,byte_fallback,fuse,strip,metaspace}.rs and
// normalizers' Replace used as a decoder).
#include "tokenizer/token_decoders.h"

#include "io/json_reader.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

class SequenceStep : public DecoderStep {
public:
    explicit SequenceStep(std::vector<std::unique_ptr<DecoderStep>> steps) : m_steps(std::move(steps)) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (const auto& step : m_steps) step->apply(tokens);
    }

private:
    std::vector<std::unique_ptr<DecoderStep>> m_steps;
};

class ReplaceStep : public DecoderStep {
public:
    ReplaceStep(std::string pattern, std::string content)
        : m_pattern(std::move(pattern)), m_content(std::move(content)) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (std::string& token : tokens) {
            std::string out;
            size_t position = 0;
            for (size_t found; (found = token.find(m_pattern, position)) != std::string::npos;) {
                out.append(token, position, found - position);
                out.append(m_content);
                position = found + m_pattern.size();
            }
            out.append(token, position, std::string::npos);
            token = std::move(out);
        }
    }

private:
    std::string m_pattern;
    std::string m_content;
};

int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Runs of "<0xXX>" tokens become their text; a run that is not valid UTF-8 becomes one U+FFFD per byte.
class ByteFallbackStep : public DecoderStep {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        size_t byteCount = 0;
        const auto flush = [&] {
            if (byteCount == 0) return;
            if (isValidUtf8(bytes)) {
                out.push_back(bytes);
            } else {
                for (size_t i = 0; i < byteCount; ++i) out.emplace_back(kReplacementUtf8);
            }
            bytes.clear();
            byteCount = 0;
        };
        for (std::string& token : tokens) {
            const bool isByte = token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>' &&
                                hexDigit(token[3]) >= 0 && hexDigit(token[4]) >= 0;
            if (isByte) {
                bytes += static_cast<char>(hexDigit(token[3]) * 16 + hexDigit(token[4]));
                ++byteCount;
                continue;
            }
            flush();
            out.push_back(std::move(token));
        }
        flush();
        tokens = std::move(out);
    }
};

class FuseStep : public DecoderStep {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string joined;
        for (const std::string& token : tokens) joined += token;
        tokens.assign(1, std::move(joined));
    }
};

// Removes up to `start` leading and `stop` trailing occurrences of one character from each token.
class StripStep : public DecoderStep {
public:
    StripStep(std::string content, size_t start, size_t stop)
        : m_content(std::move(content)), m_start(start), m_stop(stop) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (std::string& token : tokens) {
            std::string_view view = token;
            for (size_t i = 0; i < m_start && view.compare(0, m_content.size(), m_content) == 0; ++i) {
                view.remove_prefix(m_content.size());
            }
            for (size_t i = 0; i < m_stop && view.size() >= m_content.size() &&
                               view.compare(view.size() - m_content.size(), m_content.size(), m_content) == 0;
                 ++i) {
                view.remove_suffix(m_content.size());
            }
            token = std::string(view);
        }
    }

private:
    std::string m_content;
    size_t m_start;
    size_t m_stop;
};

// The replacement character becomes a space, except in the first token where it is dropped when a prefix
// was prepended.
class MetaspaceStep : public DecoderStep {
public:
    MetaspaceStep(std::string replacement, PrependScheme scheme)
        : m_replacement(std::move(replacement)), m_scheme(scheme) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            const bool drop = i == 0 && m_scheme != PrependScheme::Never;
            std::string out;
            std::string_view rest = tokens[i];
            while (!rest.empty()) {
                if (rest.compare(0, m_replacement.size(), m_replacement) == 0) {
                    if (!drop) out += ' ';
                    rest.remove_prefix(m_replacement.size());
                } else {
                    out += rest.front();
                    rest.remove_prefix(1);
                }
            }
            tokens[i] = std::move(out);
        }
    }

private:
    std::string m_replacement;
    PrependScheme m_scheme;
};

std::string oneCharacter(const Json& object, const char* key, const JsonFields& fields,
                         const std::string& where) {
    std::string value = fields.stringMember(object, key, where);
    if (value.empty() || utf8CharLength(value) != value.size()) {
        fields.invalid(memberPath(where, key), "expected exactly one character");
    }
    return value;
}

size_t count(const Json& object, const char* key, const JsonFields& fields, const std::string& where) {
    const int64_t value = fields.integer(fields.member(object, key, where), memberPath(where, key));
    if (value < 0 || value > 1'000'000) fields.invalid(memberPath(where, key), "out of range");
    return static_cast<size_t>(value);
}

}  // namespace

std::unique_ptr<DecoderStep> decoderStepFromJson(const Json& value, const JsonFields& fields,
                                                 const std::string& where) {
    if (value.is_null()) return nullptr;
    const std::string type = fields.typeOf(value, where);
    if (type == "Sequence") {
        const std::string listWhere = memberPath(where, "decoders");
        const Json& list = fields.array(fields.member(value, "decoders", where), listWhere);
        std::vector<std::unique_ptr<DecoderStep>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            if (auto step = decoderStepFromJson(list[i], fields, elementPath(listWhere, i))) {
                steps.push_back(std::move(step));
            }
        }
        return std::make_unique<SequenceStep>(std::move(steps));
    }
    if (type == "Replace") {
        const std::string patternWhere = memberPath(where, "pattern");
        const Json& pattern = fields.object(fields.member(value, "pattern", where), patternWhere);
        const Json* literal = fields.optionalMember(pattern, "String");
        if (!literal) fields.unsupported(patternWhere, "a Replace decoder pattern other than a plain string");
        std::string text = fields.string(*literal, memberPath(patternWhere, "String"));
        if (text.empty()) fields.invalid(patternWhere, "the pattern is empty");
        return std::make_unique<ReplaceStep>(std::move(text), fields.stringMember(value, "content", where));
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackStep>();
    if (type == "Fuse") return std::make_unique<FuseStep>();
    if (type == "Strip") {
        return std::make_unique<StripStep>(oneCharacter(value, "content", fields, where),
                                           count(value, "start", fields, where),
                                           count(value, "stop", fields, where));
    }
    if (type == "Metaspace") {
        return std::make_unique<MetaspaceStep>(oneCharacter(value, "replacement", fields, where),
                                               prependSchemeFromJson(value, fields, where));
    }
    if (type == "ByteLevel") return byteLevelDecoderStep();
    fields.unsupported(where, "the decoder \"" + io::printableExcerpt(type) + "\"");
}

std::string TokenChainDecoder::decode(const std::vector<int32_t>& ids) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int32_t id : ids) {
        if (m_vocabulary->type(id) == PieceType::Control) continue;  // special added tokens
        tokens.push_back(m_vocabulary->piece(id));
    }
    std::string text;
    if (!m_chain) {
        for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
        return text;
    }
    m_chain->apply(tokens);
    for (const std::string& token : tokens) text += token;
    return text;
}

}  // namespace dha::tok
