// SentencePiece's normalizer: precompiled rules, whitespace cleanup, the dummy prefix and U+2581 escaping.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/piece_trie.h"
#include "tokenizer/pipeline_stages.h"
#include "tokenizer/precompiled_charsmap.h"

namespace dha::tok {

struct SentencePieceNormalizerOptions {
    bool addDummyPrefix = true;
    bool removeExtraWhitespaces = true;
    bool escapeWhitespaces = true;
    bool treatWhitespaceAsSuffix = false;  // the dummy space goes at the end instead
};

class SentencePieceNormalizer : public TextNormalizer {
public:
    // `charsMap` may be null (identity). `protectedPieces` (user-defined symbols) are copied unnormalized
    // when they start at the current position; may be empty.
    SentencePieceNormalizer(SentencePieceNormalizerOptions options,
                            std::shared_ptr<const PrecompiledCharsMap> charsMap,
                            std::shared_ptr<const PieceTrie> protectedPieces);

    // Normalizer::Normalize of SentencePiece 0.1.97, without the offset mapping.
    std::string normalize(std::string_view input) const override;

private:
    // The normalized text of the longest rule (or single character) at the start of `input`, and how many
    // bytes of input it consumed. Malformed UTF-8 consumes one byte and yields U+FFFD.
    std::pair<std::string_view, size_t> normalizePrefix(std::string_view input) const;

    SentencePieceNormalizerOptions m_options;
    std::shared_ptr<const PrecompiledCharsMap> m_charsMap;
    std::shared_ptr<const PieceTrie> m_protectedPieces;
};

}  // namespace dha::tok
