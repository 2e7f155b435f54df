// Breadth-first construction of the piece trie from sorted keys, so each node's children sit side by side.
#include "tokenizer/piece_trie.h"

#include <algorithm>
#include <deque>
#include <string>

namespace dha::tok {

PieceTrie::PieceTrie(std::vector<std::pair<std::string_view, int32_t>> entries) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Among equal keys keep the last one given.
    std::vector<std::pair<std::string_view, int32_t>> keys;
    keys.reserve(entries.size());
    for (const auto& entry : entries) {
        if (entry.first.empty()) continue;
        if (!keys.empty() && keys.back().first == entry.first) {
            keys.back().second = entry.second;
        } else {
            keys.push_back(entry);
        }
    }
    // Each pending node owns the sorted key range [begin, end) sharing its `depth`-byte prefix.
    struct Pending {
        uint32_t node;
        size_t begin, end, depth;
    };
    std::deque<Pending> queue{{0, 0, keys.size(), 0}};
    while (!queue.empty()) {
        Pending at = queue.front();
        queue.pop_front();
        size_t i = at.begin;
        if (i < at.end && keys[i].first.size() == at.depth) {
            m_nodes[at.node].value = keys[i].second;
            ++i;
        }
        m_nodes[at.node].firstChild = static_cast<uint32_t>(m_nodes.size());
        while (i < at.end) {
            const auto label = static_cast<unsigned char>(keys[i].first[at.depth]);
            size_t j = i;
            while (j < at.end && static_cast<unsigned char>(keys[j].first[at.depth]) == label) ++j;
            Node childNode;
            childNode.label = label;
            m_nodes.push_back(childNode);
            ++m_nodes[at.node].childCount;
            queue.push_back({static_cast<uint32_t>(m_nodes.size() - 1), i, j, at.depth + 1});
            i = j;
        }
    }
}

uint32_t PieceTrie::child(uint32_t node, unsigned char label) const {
    const Node& parent = m_nodes[node];
    const auto begin = m_nodes.begin() + parent.firstChild;
    const auto end = begin + parent.childCount;
    const auto it =
        std::lower_bound(begin, end, label, [](const Node& n, unsigned char l) { return n.label < l; });
    if (it == end || it->label != label) return kNone;
    return static_cast<uint32_t>(it - m_nodes.begin());
}

std::pair<size_t, int32_t> PieceTrie::longestPrefix(std::string_view text) const {
    std::pair<size_t, int32_t> best{0, -1};
    forEachPrefix(text, [&](size_t length, int32_t value) { best = {length, value}; });
    return best;
}

int32_t PieceTrie::find(std::string_view key) const {
    if (key.empty()) return -1;
    uint32_t node = 0;
    for (const char c : key) {
        node = child(node, static_cast<unsigned char>(c));
        if (node == kNone) return -1;
    }
    return m_nodes[node].value;
}

}  // namespace dha::tok
