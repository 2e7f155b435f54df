// Hugging Face normalizers used by Llama-family tokenizer.json files, and their construction from JSON.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_fields.h"
#include "tokenizer/pipeline_stages.h"
#include "tokenizer/precompiled_charsmap.h"

namespace dha::tok {

class SequenceNormalizer : public TextNormalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<TextNormalizer>> steps)
        : m_steps(std::move(steps)) {}
    std::string normalize(std::string_view text) const override;

private:
    std::vector<std::unique_ptr<TextNormalizer>> m_steps;
};

// Prepends a string to non-empty text.
class PrependNormalizer : public TextNormalizer {
public:
    explicit PrependNormalizer(std::string prefix) : m_prefix(std::move(prefix)) {}
    std::string normalize(std::string_view text) const override;

private:
    std::string m_prefix;
};

// Replaces every non-overlapping occurrence of a literal string, left to right.
class ReplaceNormalizer : public TextNormalizer {
public:
    ReplaceNormalizer(std::string pattern, std::string content);
    std::string normalize(std::string_view text) const override;

private:
    std::string m_pattern;
    std::string m_content;
};

// Replace with the regex " {2,}": every run of two or more spaces becomes `content`.
class SpaceRunNormalizer : public TextNormalizer {
public:
    explicit SpaceRunNormalizer(std::string content) : m_content(std::move(content)) {}
    std::string normalize(std::string_view text) const override;

private:
    std::string m_content;
};

// Removes Unicode whitespace at the start and/or end.
class StripNormalizer : public TextNormalizer {
public:
    StripNormalizer(bool left, bool right) : m_left(left), m_right(right) {}
    std::string normalize(std::string_view text) const override;

private:
    bool m_left;
    bool m_right;
};

// Precompiled charsmap rules applied with SentencePiece's longest-match semantics, nothing else. Hugging Face
// looks rules up per grapheme cluster instead; the two differ only for rare combining sequences (such as
// half-width katakana with a voiced mark), and this build has no grapheme-cluster tables.
class PrecompiledNormalizer : public TextNormalizer {
public:
    explicit PrecompiledNormalizer(std::shared_ptr<const PrecompiledCharsMap> charsMap)
        : m_charsMap(std::move(charsMap)) {}
    std::string normalize(std::string_view text) const override;

private:
    std::shared_ptr<const PrecompiledCharsMap> m_charsMap;
};

// The tokenizer.json "normalizer" value; null gives nullptr. Throws naming the file for malformed or
// unsupported normalizers (NFC/NFKC/Lowercase/BertNormalizer...).
std::unique_ptr<TextNormalizer> normalizerFromJson(const Json& value, const JsonFields& fields,
                                                   const std::string& where);

// Decodes standard base64 (with or without padding); nullopt when malformed.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace dha::tok
