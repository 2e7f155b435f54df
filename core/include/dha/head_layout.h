// Which key head and which value head each query head of one layer uses: MHA, GQA and DHA in one value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dha {

struct HeadLayout {
    int numKeyHeads = 0;
    int numValueHeads = 0;
    std::vector<int> keyHeadOfQuery;    // [numQueryHeads] -> key head in [0, numKeyHeads)
    std::vector<int> valueHeadOfQuery;  // [numQueryHeads] -> value head in [0, numValueHeads)

    int numQueryHeads() const { return static_cast<int>(keyHeadOfQuery.size()); }

    // Every query head has its own key and value head.
    static HeadLayout mha(int numQueryHeads);
    // Adjacent equal groups shared by keys and values: query head i uses head i / (H / groups).
    static HeadLayout gqa(int numQueryHeads, int numGroups);

    bool isMha() const;
    // Keys and values share one grouping of adjacent, equal-size groups (what stock GQA runtimes load).
    bool isContiguousGqa() const;

    // Query heads that use each key (value) head: the key (value) groups of this layout.
    std::vector<std::vector<int>> keyGroups() const;
    std::vector<std::vector<int>> valueGroups() const;

    friend bool operator==(const HeadLayout& a, const HeadLayout& b);
    friend bool operator!=(const HeadLayout& a, const HeadLayout& b) { return !(a == b); }
};

// Throws dha::Exception (InvalidInput, naming `where`) unless the layout has numQueryHeads entries per map,
// 1 <= counts <= numQueryHeads, every map entry in range, and every key/value head used by some query head.
void validateHeadLayout(const HeadLayout& layout, int numQueryHeads, const std::string& where);

// KV cache elements per token for one layer: headDim * (numKeyHeads + numValueHeads).
int64_t kvElementsPerToken(const HeadLayout& layout, int headDim);

}  // namespace dha
