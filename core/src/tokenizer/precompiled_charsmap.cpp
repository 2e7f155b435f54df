// Lookup in darts-clone double arrays (the format of SentencePiece's precompiled_charsmap), bounds-checked.
#include "tokenizer/precompiled_charsmap.h"

#include <cstring>

#include "dha/error.h"

namespace dha::tok {
namespace {

// darts-clone unit layout (darts.h, DoubleArrayUnit).
bool hasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t valueOf(uint32_t unit) { return unit & ((1U << 31) - 1); }
uint32_t labelOf(uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
uint32_t offsetOf(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

// SentencePiece's Normalizer::kMaxTrieResultsSize: matches past this many are ignored.
constexpr size_t kMaxTrieResults = 32;

}  // namespace

PrecompiledCharsMap::PrecompiledCharsMap(std::string_view blob, const std::string& path) {
    const auto bad = [&](const std::string& problem) {
        failInput(path, "precompiled_charsmap is malformed: " + problem);
    };
    if (blob.size() <= 4) bad("it is only " + std::to_string(blob.size()) + " bytes long");
    const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
    const uint32_t trieBytes =
        bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
    if (trieBytes > blob.size() - 4) {
        bad("its trie claims " + std::to_string(trieBytes) + " bytes of " + std::to_string(blob.size() - 4));
    }
    if (trieBytes == 0 || trieBytes % 4 != 0) {
        bad("its trie size " + std::to_string(trieBytes) + " is not a positive multiple of 4");
    }
    m_units.resize(trieBytes / 4);
    for (size_t i = 0; i < m_units.size(); ++i) {
        const unsigned char* u = bytes + 4 + 4 * i;
        m_units[i] = u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
    }
    m_replacements.assign(blob.substr(4 + trieBytes));

    // Walk every node reachable from the root once; each node's children are at (pos ^ offset ^ label).
    std::vector<bool> seen(m_units.size(), false);
    std::vector<uint32_t> stack{0};
    seen[0] = true;
    while (!stack.empty()) {
        const uint32_t pos = stack.back();
        stack.pop_back();
        const uint32_t base = pos ^ offsetOf(m_units[pos]);
        if (hasLeaf(m_units[pos])) {
            if (base >= m_units.size()) bad("a leaf lies outside the trie");
            const uint32_t value = valueOf(m_units[base]);
            if (value >= m_replacements.size()) bad("a rule points outside the replacement strings");
            if (std::memchr(m_replacements.data() + value, '\0', m_replacements.size() - value) == nullptr) {
                bad("a replacement string is not NUL-terminated");
            }
        }
        for (uint32_t label = 0; label < 256; ++label) {
            const uint32_t next = base ^ label;
            if (next >= m_units.size() || seen[next] || labelOf(m_units[next]) != label) continue;
            seen[next] = true;
            stack.push_back(next);
        }
    }
}

std::string_view PrecompiledCharsMap::replacementAt(uint32_t offset) const {
    if (offset >= m_replacements.size()) return {};           // unreachable after validation; kept as a bound
    return std::string_view(m_replacements.data() + offset);  // NUL-terminated: checked in the constructor
}

PrecompiledCharsMap::Match PrecompiledCharsMap::longestMatch(std::string_view input) const {
    Match best;
    size_t results = 0;
    uint32_t pos = offsetOf(m_units[0]);  // the constructor rejects an empty trie
    for (size_t i = 0; i < input.size(); ++i) {
        const auto label = static_cast<unsigned char>(input[i]);
        pos ^= label;
        if (pos >= m_units.size()) break;
        const uint32_t current = m_units[pos];
        if (labelOf(current) != label) break;
        pos ^= offsetOf(current);
        if (!hasLeaf(current)) continue;
        if (pos >= m_units.size()) break;  // unreachable after validation; kept as a bound
        if (results++ < kMaxTrieResults) {
            best.length = i + 1;
            best.replacement = replacementAt(valueOf(m_units[pos]));
        }
    }
    return best;
}

}  // namespace dha::tok
