// SentencePiece's BPE: repeatedly merge the adjacent pair whose concatenation is the best-scoring piece.
#pragma once

#include <memory>

#include "tokenizer/piece_trie.h"
#include "tokenizer/subword_model.h"

namespace dha::tok {

class SentencePieceBpeModel : public SubwordModel {
public:
    // `protectedPieces`: user-defined symbols, kept whole and never merged (may be empty).
    SentencePieceBpeModel(std::shared_ptr<const Vocabulary> vocabulary,
                          std::shared_ptr<const PieceTrie> protectedPieces, UnknownPolicy unknown);
    void encode(std::string_view word, std::vector<int32_t>& ids) const override;
    std::string kindName() const override { return "BPE"; }

private:
    // Id of a piece that merges may produce (Normal, UserDefined, Unused), or -1.
    int32_t mergeableId(std::string_view piece) const;

    std::shared_ptr<const Vocabulary> m_vocabulary;
    std::shared_ptr<const PieceTrie> m_protectedPieces;
    UnknownPolicy m_unknown;
};

}  // namespace dha::tok
