// Hugging Face's BPE: characters merged by the rank of their pair in an explicit merges list.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>

#include "tokenizer/subword_model.h"

namespace dha::tok {

struct MergeBpeOptions {
    UnknownPolicy unknown;  // unkId -1: no unk_token (unknown characters are dropped, as Hugging Face does)
    bool ignoreMerges = false;  // a word that is itself a piece is emitted whole (Llama 3)
};

class MergeBpeModel : public SubwordModel {
public:
    // merges[i] = (left id, right id) has rank i; the merged piece must be in the vocabulary (the loader
    // checks, naming the file). A pair listed twice keeps its last rank, as Hugging Face's map does.
    MergeBpeModel(std::shared_ptr<const Vocabulary> vocabulary,
                  const std::vector<std::pair<int32_t, int32_t>>& merges,
                  const std::vector<int32_t>& mergedIds, MergeBpeOptions options);
    void encode(std::string_view word, std::vector<int32_t>& ids) const override;
    std::string kindName() const override { return "BPE"; }

private:
    struct Merge {
        uint32_t rank;
        int32_t mergedId;
    };
    static uint64_t pairKey(int32_t left, int32_t right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    }
    const Merge* findMerge(int32_t left, int32_t right) const;

    std::shared_ptr<const Vocabulary> m_vocabulary;
    std::unordered_map<uint64_t, Merge> m_merges;
    MergeBpeOptions m_options;
};

}  // namespace dha::tok
