// The unigram language model: the segmentation of highest total piece score (Viterbi over a piece trie).
#pragma once

#include <memory>

#include "tokenizer/piece_trie.h"
#include "tokenizer/subword_model.h"

namespace dha::tok {

struct UnigramOptions {
    // Pieces the lattice may use: SentencePiece uses Normal, UserDefined and Unused (the last never chosen);
    // Hugging Face's Unigram uses every piece of its vocabulary.
    bool everyPieceMatches = false;
    UnknownPolicy unknown;
};

class UnigramModel : public SubwordModel {
public:
    UnigramModel(std::shared_ptr<const Vocabulary> vocabulary, UnigramOptions options);
    void encode(std::string_view word, std::vector<int32_t>& ids) const override;
    std::string kindName() const override { return "unigram"; }

private:
    std::shared_ptr<const Vocabulary> m_vocabulary;
    UnigramOptions m_options;
    PieceTrie m_trie;
    float m_unknownScore = 0;
    float m_maxScore = 0;  // for the user-defined symbol bonus
};

}  // namespace dha::tok
