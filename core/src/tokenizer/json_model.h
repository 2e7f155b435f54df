// The "model" of a tokenizer.json (BPE or Unigram) with its vocabulary, merged with the added tokens.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/subword_model.h"
#include "tokenizer/vocabulary.h"

namespace dha::tok {

struct JsonModel {
    std::shared_ptr<const Vocabulary> vocabulary;  // model pieces, then added tokens beyond them
    std::unique_ptr<SubwordModel> model;
    std::string summary;  // e.g. "BPE (byte fallback)"
};

// Reads root["added_tokens"] (ids, flags; single_word is unsupported).
std::vector<AddedToken> addedTokensFromJson(const Json& root, const JsonFields& fields);

// Builds the vocabulary and model of root["model"]. Model ids must be 0..N-1; an added token either repeats
// a model piece at the same id or takes the next free id (N, N+1, ...). Special added tokens become Control
// pieces (skipped by decode). Throws naming the file and the member at fault.
JsonModel modelFromJson(const Json& root, const std::vector<AddedToken>& addedTokens,
                        const JsonFields& fields);

}  // namespace dha::tok
