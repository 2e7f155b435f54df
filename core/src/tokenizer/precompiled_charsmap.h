// SentencePiece's precompiled normalization rules: a darts-clone double-array trie plus replacement strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dha::tok {

// Blob layout: <uint32 little-endian trie size in bytes><double-array units><NUL-separated replacements>.
class PrecompiledCharsMap {
public:
    // Copies and validates `blob`: the header, the unit count, and that every leaf reachable from the root
    // points at a NUL-terminated replacement inside the blob. Throws InvalidInput naming pathForErrors.
    PrecompiledCharsMap(std::string_view blob, const std::string& pathForErrors);

    struct Match {
        size_t length = 0;             // bytes of the input the rule consumes; 0 when no rule matches
        std::string_view replacement;  // valid while this object lives
    };
    // The longest rule matching a prefix of `input` among the first 32 matches, as SentencePiece does.
    Match longestMatch(std::string_view input) const;

private:
    std::string_view replacementAt(uint32_t offset) const;

    std::vector<uint32_t> m_units;
    std::string m_replacements;
};

}  // namespace dha::tok
