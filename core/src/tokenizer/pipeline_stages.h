// The stages a tokenizer is assembled from (normalizer, pre-tokenizer, decoder); the model stage is
// SubwordModel.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dha::tok {

class TextNormalizer {
public:
    virtual ~TextNormalizer() = default;
    virtual std::string normalize(std::string_view text) const = 0;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Splits normalized text into words for the model (empty words are dropped by the caller).
    // `atTextStart`: the text begins at offset 0 of the input (Metaspace's prepend_scheme "first").
    virtual void split(std::string_view text, bool atTextStart, std::vector<std::string>& words) const = 0;
};

class IdDecoder {
public:
    virtual ~IdDecoder() = default;
    // `ids` are valid ids of the tokenizer's vocabulary.
    virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
};

}  // namespace dha::tok
