// The one Tokenizer implementation: added tokens, normalizer, pre-tokenizer, model and decoder, each optional
// except the model and decoder. Both tokenizer.model and tokenizer.json are loaded into it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tokenizer/added_tokens.h"
#include "tokenizer/pipeline_stages.h"
#include "tokenizer/subword_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace dha::tok {

struct TokenizerParts {
    std::shared_ptr<const Vocabulary> vocabulary;
    AddedTokenMatcher addedTokens;
    std::unique_ptr<TextNormalizer> normalizer;  // null: text unchanged
    std::unique_ptr<PreTokenizer> preTokenizer;  // null: the whole normalized text is one word
    std::unique_ptr<SubwordModel> model;
    std::unique_ptr<IdDecoder> decoder;
    std::optional<int32_t> bosId;
    std::optional<int32_t> eosId;
    std::string description;
};

class PipelineTokenizer : public Tokenizer {
public:
    explicit PipelineTokenizer(TokenizerParts parts);

    std::vector<int32_t> encode(std::string_view text) const override;
    std::string decode(const std::vector<int32_t>& ids) const override;
    int vocabSize() const override { return m_parts.vocabulary->size(); }
    std::optional<int32_t> bosId() const override { return m_parts.bosId; }
    std::optional<int32_t> eosId() const override { return m_parts.eosId; }
    std::string pieceOf(int32_t id) const override;
    std::string description() const override { return m_parts.description; }

private:
    void encodeNormalized(std::string_view normalized, bool atTextStart, std::vector<int32_t>& ids) const;

    TokenizerParts m_parts;
};

}  // namespace dha::tok
