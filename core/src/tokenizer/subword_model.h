// The model stage of a tokenizer: one pre-tokenized word (normalized text) in, token ids out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace dha::tok {

class SubwordModel {
public:
    virtual ~SubwordModel() = default;
    // Appends the ids of `word` to `ids`. `word` is non-empty.
    virtual void encode(std::string_view word, std::vector<int32_t>& ids) const = 0;
    // "unigram" or "BPE", for descriptions.
    virtual std::string kindName() const = 0;
};

// What happens to text no piece covers: byte-fallback pieces when enabled and present, else the unknown
// piece (a run of unknown text fused into one id when fuseUnknown), else nothing (Hugging Face BPE without
// an unk_token drops it).
struct UnknownPolicy {
    int32_t unkId = -1;
    bool fuseUnknown = true;
    bool byteFallback = false;
};

// Emits ids while applying UnknownPolicy; use one emitter per word.
class IdEmitter {
public:
    IdEmitter(const Vocabulary& vocabulary, const UnknownPolicy& policy, std::vector<int32_t>& ids)
        : m_vocabulary(vocabulary), m_policy(policy), m_ids(ids) {}
    void known(int32_t id) {
        m_lastWasUnknown = false;
        m_ids.push_back(id);
    }
    void unknown(std::string_view surface);
    // True when byte fallback is on and every byte of `surface` has a byte piece.
    bool bytesAvailable(std::string_view surface) const;

private:
    const Vocabulary& m_vocabulary;
    const UnknownPolicy& m_policy;
    std::vector<int32_t>& m_ids;
    bool m_lastWasUnknown = false;
};

}  // namespace dha::tok
