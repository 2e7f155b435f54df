// Ward-linkage clustering with a cached nearest neighbour per cluster and exact, deterministic ties.
#include "planning/merge_tree.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "dha/error.h"

namespace dha::planning {
namespace {

// The clustering state. Cluster i (named by its smallest head) is active while size[i] > 0. Sums of leaf
// distances, not linkage values, are kept (across two clusters, and inside one): merging only adds them, so
// a pair's cost is a function of the two head sets alone, whatever the merge order (see merge_tree.h).
class Clustering {
public:
    Clustering(const std::vector<double>& distance, int n)
        : m_n(n),
          m_cross(distance),
          m_within(static_cast<size_t>(n), 0.0),
          m_size(static_cast<size_t>(n), 1),
          m_nearest(static_cast<size_t>(n), -1) {
        for (int i = 0; i < n; ++i) refreshNearest(i);
    }

    MergeStep mergeClosest() {
        // The lexicographically lowest (cost, i, j) over pairs i < j: row i's nearest is the lowest j at its
        // minimum cost, so taking each row's nearest and comparing (cost, min, max) finds it.
        int bestA = -1;
        int bestB = -1;
        double bestCost = 0;
        for (int i = 0; i < m_n; ++i) {
            if (m_size[static_cast<size_t>(i)] == 0 || m_nearest[static_cast<size_t>(i)] < 0) continue;
            const int j = m_nearest[static_cast<size_t>(i)];
            const int a = std::min(i, j);
            const int b = std::max(i, j);
            const double cost = wardCost(i, j);
            if (bestA < 0 || cost < bestCost ||
                (cost == bestCost && (a < bestA || (a == bestA && b < bestB)))) {
                bestA = a;
                bestB = b;
                bestCost = cost;
            }
        }
        merge(bestA, bestB);
        return MergeStep{bestA, bestB, bestCost};
    }

private:
    double& cross(int i, int j) { return m_cross[static_cast<size_t>(i) * m_n + j]; }

    // W(i u j) - W(i) - W(j) = (ni nj X - nj^2 S(i) - ni^2 S(j)) / (ni nj (ni + nj)). Written so that
    // swapping i and j gives the same bits (the two subtracted terms are added first), which keeps every
    // row's view of a pair, and so the cached nearest neighbours, consistent.
    double wardCost(int i, int j) const {
        const double ni = m_size[static_cast<size_t>(i)];
        const double nj = m_size[static_cast<size_t>(j)];
        const double x = m_cross[static_cast<size_t>(i) * m_n + j];
        const double inside =
            nj * nj * m_within[static_cast<size_t>(i)] + ni * ni * m_within[static_cast<size_t>(j)];
        return (ni * nj * x - inside) / (ni * nj * (ni + nj));
    }

    void refreshNearest(int i) {
        int nearest = -1;
        double nearestCost = 0;
        for (int j = 0; j < m_n; ++j) {
            if (j == i || m_size[static_cast<size_t>(j)] == 0) continue;
            const double cost = wardCost(i, j);
            if (nearest < 0 || cost < nearestCost) {  // strict: the lowest j wins a tie
                nearest = j;
                nearestCost = cost;
            }
        }
        m_nearest[static_cast<size_t>(i)] = nearest;
    }

    void merge(int a, int b) {
        m_within[static_cast<size_t>(a)] += m_within[static_cast<size_t>(b)] + cross(a, b);
        for (int k = 0; k < m_n; ++k) {
            cross(a, k) += cross(b, k);
            cross(k, a) = cross(a, k);
        }
        m_size[static_cast<size_t>(a)] += m_size[static_cast<size_t>(b)];
        m_size[static_cast<size_t>(b)] = 0;
        // Only costs involving a or b changed. Rows that pointed at a or b may have a new nearest; any other
        // row k keeps its nearest j unless the merged cluster a is now at least as close: strictly closer,
        // or as close with a lower index. (Exact for any linkage. Ward's reducibility, a row's cost to a u b
        // being at least the smaller of its costs to a and b, is what keeps the tree's costs monotone.)
        refreshNearest(a);
        for (int k = 0; k < m_n; ++k) {
            if (k == a || m_size[static_cast<size_t>(k)] == 0) continue;
            const int nearest = m_nearest[static_cast<size_t>(k)];
            if (nearest == a || nearest == b) {
                refreshNearest(k);
                continue;
            }
            const double toA = wardCost(k, a);
            const double toNearest = wardCost(k, nearest);
            if (toA < toNearest || (toA == toNearest && a < nearest)) m_nearest[static_cast<size_t>(k)] = a;
        }
    }

    int m_n;
    std::vector<double> m_cross;   // [n * n] sum of leaf distances across clusters i and j
    std::vector<double> m_within;  // [n] sum of leaf distances inside cluster i
    std::vector<int> m_size;       // [n] leaves in cluster i, 0 once absorbed
    std::vector<int> m_nearest;    // [n] nearest (cheapest to merge with) active cluster of active cluster i
};

int findRoot(std::vector<int>& parent, int x) {
    while (parent[static_cast<size_t>(x)] != x)
        x = parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    return x;
}

}  // namespace

MergeTree wardTree(const std::vector<double>& distance, int n) {
    if (n < 1 || distance.size() != static_cast<size_t>(n) * static_cast<size_t>(n)) {
        fail(ErrorCode::Internal, {},
             "merge tree needs an n x n distance matrix (n = " + std::to_string(n) + ")");
    }
    MergeTree tree;
    tree.numLeaves = n;
    tree.merges.reserve(static_cast<size_t>(n - 1));
    if (n == 1) return tree;
    Clustering clustering(distance, n);
    for (int step = 0; step + 1 < n; ++step) tree.merges.push_back(clustering.mergeClosest());
    return tree;
}

HeadGroups MergeTree::groupsAt(int count) const {
    if (count < 1 || count > numLeaves) {
        fail(ErrorCode::Internal, {},
             "cannot cut a tree of " + std::to_string(numLeaves) + " heads at " + std::to_string(count) +
                 " groups");
    }
    std::vector<int> parent(static_cast<size_t>(numLeaves));
    std::iota(parent.begin(), parent.end(), 0);
    for (int step = 0; step < numLeaves - count; ++step) {
        const MergeStep& merge = merges[static_cast<size_t>(step)];
        parent[static_cast<size_t>(findRoot(parent, merge.absorbed))] = findRoot(parent, merge.kept);
    }
    // Heads visited in ascending order: groups come out sorted, ordered by their smallest head (canonical).
    HeadGroups groups;
    std::vector<int> groupOfRoot(static_cast<size_t>(numLeaves), -1);
    for (int head = 0; head < numLeaves; ++head) {
        int& group = groupOfRoot[static_cast<size_t>(findRoot(parent, head))];
        if (group < 0) {
            group = static_cast<int>(groups.size());
            groups.emplace_back();
        }
        groups[static_cast<size_t>(group)].push_back(head);
    }
    return groups;
}

double MergeTree::costOfFirst(int mergeCount) const {
    double total = 0;
    for (int step = 0; step < mergeCount && step < static_cast<int>(merges.size()); ++step) {
        total += merges[static_cast<size_t>(step)].cost;
    }
    return total;
}

}  // namespace dha::planning
