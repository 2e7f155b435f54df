// HeadLayout construction, comparison and validation.
#include "dha/head_layout.h"

#include "dha/error.h"

namespace dha {
namespace {

std::vector<std::vector<int>> groupsOf(const std::vector<int>& headOfQuery, int numHeads) {
    std::vector<std::vector<int>> groups(static_cast<size_t>(numHeads));
    for (size_t query = 0; query < headOfQuery.size(); ++query) {
        groups.at(static_cast<size_t>(headOfQuery[query])).push_back(static_cast<int>(query));
    }
    return groups;
}

void validateMap(const std::vector<int>& headOfQuery, int numHeads, int numQueryHeads, const char* role,
                 const std::string& where) {
    if (numHeads < 1 || numHeads > numQueryHeads) {
        failInput(where, std::string("number of ") + role + " heads is " + std::to_string(numHeads) +
                             ", expected 1.." + std::to_string(numQueryHeads));
    }
    if (static_cast<int>(headOfQuery.size()) != numQueryHeads) {
        failInput(where, std::string(role) + " head map has " + std::to_string(headOfQuery.size()) +
                             " entries, expected one per query head (" + std::to_string(numQueryHeads) + ")");
    }
    std::vector<bool> used(static_cast<size_t>(numHeads), false);
    for (int query = 0; query < numQueryHeads; ++query) {
        const int head = headOfQuery[static_cast<size_t>(query)];
        if (head < 0 || head >= numHeads) {
            failInput(where, std::string("query head ") + std::to_string(query) + " maps to " + role + " head " +
                                 std::to_string(head) + ", outside 0.." + std::to_string(numHeads - 1));
        }
        used[static_cast<size_t>(head)] = true;
    }
    for (int head = 0; head < numHeads; ++head) {
        if (!used[static_cast<size_t>(head)]) {
            failInput(where, std::string(role) + " head " + std::to_string(head) + " is used by no query head");
        }
    }
}

}  // namespace

HeadLayout HeadLayout::mha(int numQueryHeads) { return gqa(numQueryHeads, numQueryHeads); }

HeadLayout HeadLayout::gqa(int numQueryHeads, int numGroups) {
    if (numGroups < 1 || numQueryHeads < 1 || numQueryHeads % numGroups != 0) {
        fail(ErrorCode::Internal, {},
             "GQA layout needs groups dividing the query heads (" + std::to_string(numQueryHeads) + " heads, " +
                 std::to_string(numGroups) + " groups)");
    }
    HeadLayout layout;
    layout.numKeyHeads = layout.numValueHeads = numGroups;
    const int groupSize = numQueryHeads / numGroups;
    for (int query = 0; query < numQueryHeads; ++query) {
        layout.keyHeadOfQuery.push_back(query / groupSize);
        layout.valueHeadOfQuery.push_back(query / groupSize);
    }
    return layout;
}

bool HeadLayout::isMha() const { return *this == mha(numQueryHeads()); }

bool HeadLayout::isContiguousGqa() const {
    const int heads = numQueryHeads();
    return numKeyHeads == numValueHeads && numKeyHeads > 0 && heads % numKeyHeads == 0 &&
           *this == gqa(heads, numKeyHeads);
}

std::vector<std::vector<int>> HeadLayout::keyGroups() const { return groupsOf(keyHeadOfQuery, numKeyHeads); }
std::vector<std::vector<int>> HeadLayout::valueGroups() const {
    return groupsOf(valueHeadOfQuery, numValueHeads);
}

bool operator==(const HeadLayout& a, const HeadLayout& b) {
    return a.numKeyHeads == b.numKeyHeads && a.numValueHeads == b.numValueHeads &&
           a.keyHeadOfQuery == b.keyHeadOfQuery && a.valueHeadOfQuery == b.valueHeadOfQuery;
}

void validateHeadLayout(const HeadLayout& layout, int numQueryHeads, const std::string& where) {
    validateMap(layout.keyHeadOfQuery, layout.numKeyHeads, numQueryHeads, "key", where);
    validateMap(layout.valueHeadOfQuery, layout.numValueHeads, numQueryHeads, "value", where);
}

int64_t kvElementsPerToken(const HeadLayout& layout, int headDim) {
    return static_cast<int64_t>(headDim) * (layout.numKeyHeads + layout.numValueHeads);
}

}  // namespace dha
