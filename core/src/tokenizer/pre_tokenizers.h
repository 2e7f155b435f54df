// Hugging Face pre-tokenizers used by Llama-family tokenizer.json files, and their construction from JSON.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_fields.h"
#include "tokenizer/pipeline_stages.h"

namespace dha::tok {

enum class PrependScheme { Always, First, Never };

// Spaces become the replacement character (U+2581), which is prepended per the scheme; with `split`, a word
// starts at every replacement character (SplitDelimiterBehavior::MergedWithNext).
class MetaspacePreTokenizer : public PreTokenizer {
public:
    MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
        : m_replacement(std::move(replacement)), m_scheme(scheme), m_split(split) {}
    void split(std::string_view text, bool atTextStart, std::vector<std::string>& words) const override;

private:
    std::string m_replacement;
    PrependScheme m_scheme;
    bool m_split;
};

// Runs each step on every word the previous steps produced.
class SequencePreTokenizer : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : m_steps(std::move(steps)) {}
    void split(std::string_view text, bool atTextStart, std::vector<std::string>& words) const override;

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_steps;
};

// Metaspace's "prepend_scheme" (or the older "add_prefix_space") of a pre-tokenizer or decoder object.
PrependScheme prependSchemeFromJson(const Json& object, const JsonFields& fields, const std::string& where);

// The tokenizer.json "pre_tokenizer" value; null gives nullptr. Unsupported pre-tokenizers throw naming
// the file.
std::unique_ptr<PreTokenizer> preTokenizerFromJson(const Json& value, const JsonFields& fields,
                                                   const std::string& where);

}  // namespace dha::tok
