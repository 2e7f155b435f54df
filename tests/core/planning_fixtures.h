// Similarity matrices and reports with planted structure, for the planner and clustering tests.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dha/error.h"
#include "dha/matrix.h"
#include "dha/plan.h"
#include "dha/similarity.h"
#include "planning/merge_tree.h"

namespace dha::test {

// The error a call throws, as "path: message" (its code in *code), or "no error".
std::string errorOf(const std::function<void()>& call, ErrorCode* code = nullptr);

// Heads with the same label are similar (`within`), others not (`between`), plus symmetric noise in
// [-noise, noise]; 1 on the diagonal.
Matrix blockSimilarity(const std::vector<int>& labelOf, double within, double between, double noise,
                       std::mt19937& rng);
// Symmetric, off-diagonal values uniform in [-0.2, 1], 1 on the diagonal.
Matrix randomSimilarity(int n, std::mt19937& rng);
// Every off-diagonal value `value`.
Matrix uniformSimilarity(int n, double value);

// A report with layers 0..L-1, each (key, value).
SimilarityReport reportOf(const std::vector<std::pair<Matrix, Matrix>>& layers);
SimilarityReport randomReport(int numLayers, int numHeads, std::mt19937& rng);

// Canonical groups from labels: heads with one label form a group.
HeadGroups groupsOfLabels(const std::vector<int>& labelOf);

// Ward's criterion recomputed from the leaves, independently of the planner's bookkeeping. With distance d
// (row-major n x n): W(G) = (1/|G|) sum_{i<j in G} d_ij is a group's dispersion, dispersion() sums it over
// groups, and wardIncrease(A, B) = W(A u B) - W(A) - W(B) is the cost of merging A and B.
double dispersion(const std::vector<double>& distance, int n, const HeadGroups& groups);
double wardIncrease(const std::vector<double>& distance, int n, const std::vector<int>& a,
                    const std::vector<int>& b);

// A merge tree by brute force: at every step, `cost` of every pair of current clusters (head lists,
// sorted), the cheapest merged (ties: the lowest pair of smallest heads). O(n^5) with a leaf-level cost:
// for small n only.
using LinkageCost = std::function<double(const std::vector<int>&, const std::vector<int>&)>;
planning::MergeTree bruteForceTree(int n, const LinkageCost& cost);

}  // namespace dha::test
