// Agglomerative clustering of one (layer, K|V) head set: the Ward-linkage merge tree, cut at any count.
#pragma once

#include <vector>

#include "dha/plan.h"

namespace dha::planning {

// One merge. A cluster is named by its smallest head, so the merged cluster keeps the name `kept` (<
// absorbed).
struct MergeStep {
    int kept = 0;
    int absorbed = 0;
    double cost = 0;  // Ward's criterion: the rise in within-group dispersion it causes (see wardTree)
};

struct MergeTree {
    int numLeaves = 0;
    std::vector<MergeStep> merges;  // numLeaves - 1 merges, in the order they happen

    // The groups after the first numLeaves - count merges, in canonical order (plan.h). 1 <= count <=
    // numLeaves.
    HeadGroups groupsAt(int count) const;
    // Sum of the costs of the first `mergeCount` merges: the dispersion of that cut.
    double costOfFirst(int mergeCount) const;
};

// Ward linkage on a symmetric n x n distance matrix d (row-major; the diagonal is ignored), d_ij read as
// the squared dissimilarity of heads i and j.
//
// Convention. The within-group dispersion of a group G is W(G) = (1/|G|) sum_{i<j in G} d_ij (for squared
// Euclidean d, the sum of squared distances to the centroid); a plan's dispersion is the sum over its
// groups. A merge of A and B costs W(A u B) - W(A) - W(B); at each step the cheapest merge is taken. In
// Lance-Williams terms: with D(i,j) = d_ij between single heads and the Ward update D(k, a u b) =
// [(n_k+n_a) D(k,a) + (n_k+n_b) D(k,b) - n_k D(a,b)] / (n_k+n_a+n_b), every D(A,B) = 2 (W(A u B) - W(A) -
// W(B)), so MergeStep::cost = D(a,b) / 2 (clustering_test checks both forms). Why Ward: its costs add up
// to a dispersion (a cut's summed cost is the dispersion of its groups, and a whole tree's is W(all heads)),
// so a merge counts every head it moves, and a tree whose first merges were cheap pays for them in its later
// ones. Average linkage prices a merge at the mean distance whatever it pulls together; on near-equidistant
// heads the global queue then empties the tree whose distances are a hair smaller before touching another.
//
// The tree is computed from the closed form of the recursion: with X(A,B) the sum of d over pairs across A
// and B, S(A) the sum over pairs inside A, cost(A,B) = (|A||B| X - |B|^2 S(A) - |A|^2 S(B)) /
// (|A||B|(|A|+|B|)). X and S are sums of input distances, updated by addition only, so the cost of two
// clusters depends on their heads and not on the order they were built in or the names of the heads: clusters
// equally far in the input tie exactly whenever the additions are exact (distances from float similarities
// carry few significant bits, so sums of thousands of them normally are). Ties go to the lowest pair of
// cluster names (smallest heads), so the tree depends on the distances alone. The costs never decrease along
// the tree (Ward is monotone for any dissimilarity; in floating point up to rounding); the planner still
// takes each tree's merges in tree order.
MergeTree wardTree(const std::vector<double>& distance, int n);

}  // namespace dha::planning
