// A byte trie over vocabulary pieces for prefix search (the lattice of Viterbi, user-defined symbols, added
// tokens).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace dha::tok {

class PieceTrie {
public:
    PieceTrie() = default;
    // Builds the trie from (key, value) pairs; keys must be non-empty. When a key repeats, the last pair
    // wins. The views need only live during the call.
    explicit PieceTrie(std::vector<std::pair<std::string_view, int32_t>> entries);

    bool empty() const { return m_nodes.size() <= 1; }

    // Calls visit(lengthInBytes, value) for every key that is a prefix of `text`, shortest first.
    template <typename Visit>
    void forEachPrefix(std::string_view text, Visit&& visit) const {
        uint32_t node = 0;
        for (size_t i = 0; i < text.size(); ++i) {
            node = child(node, static_cast<unsigned char>(text[i]));
            if (node == kNone) return;
            if (m_nodes[node].value >= 0) visit(i + 1, m_nodes[node].value);
        }
    }

    // Length and value of the longest key that is a prefix of `text`; {0, -1} when none.
    std::pair<size_t, int32_t> longestPrefix(std::string_view text) const;
    // Value of exactly `key`, or -1.
    int32_t find(std::string_view key) const;

private:
    static constexpr uint32_t kNone = 0xFFFFFFFFu;
    // Children of a node are contiguous in m_nodes, sorted by label, so lookup is a binary search.
    struct Node {
        int32_t value = -1;
        uint32_t firstChild = 0;
        uint16_t childCount = 0;
        unsigned char label = 0;
    };
    uint32_t child(uint32_t node, unsigned char label) const;

    std::vector<Node> m_nodes{Node{}};
};

}  // namespace dha::tok
