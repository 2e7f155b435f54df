// Unknown-text handling shared by every model: byte fallback, fused <unk> runs.
#include "tokenizer/subword_model.h"

namespace dha::tok {

bool IdEmitter::bytesAvailable(std::string_view surface) const {
    if (!m_policy.byteFallback) return false;
    for (const char c : surface) {
        if (m_vocabulary.byteId(static_cast<unsigned char>(c)) < 0) return false;
    }
    return true;
}

void IdEmitter::unknown(std::string_view surface) {
    if (bytesAvailable(surface)) {
        for (const char c : surface) m_ids.push_back(m_vocabulary.byteId(static_cast<unsigned char>(c)));
        m_lastWasUnknown = false;
        return;
    }
    if (m_policy.unkId < 0) return;
    if (!(m_lastWasUnknown && m_policy.fuseUnknown)) m_ids.push_back(m_policy.unkId);
    m_lastWasUnknown = true;
}

}  // namespace dha::tok
