// Hugging Face decoders (token strings back to text) used by Llama-family tokenizer.json files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_fields.h"
#include "tokenizer/pipeline_stages.h"
#include "tokenizer/vocabulary.h"

namespace dha::tok {

// One step of a decoder chain: rewrites the list of token strings (Decoder::decode_chain).
class DecoderStep {
public:
    virtual ~DecoderStep() = default;
    virtual void apply(std::vector<std::string>& tokens) const = 0;
};

// The tokenizer.json "decoder" value; null gives nullptr (tokens are then joined with spaces).
std::unique_ptr<DecoderStep> decoderStepFromJson(const Json& value, const JsonFields& fields,
                                                 const std::string& where);

// Ids to token strings (special added tokens, typed Control, skipped), the chain, then concatenation.
class TokenChainDecoder : public IdDecoder {
public:
    TokenChainDecoder(std::shared_ptr<const Vocabulary> vocabulary, std::unique_ptr<DecoderStep> chain)
        : m_vocabulary(std::move(vocabulary)), m_chain(std::move(chain)) {}
    std::string decode(const std::vector<int32_t>& ids) const override;

private:
    std::shared_ptr<const Vocabulary> m_vocabulary;
    std::unique_ptr<DecoderStep> m_chain;
};

}  // namespace dha::tok
