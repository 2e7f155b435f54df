// Budgets (how many K+V heads a plan keeps), the planner's constraints, the planner itself and the KV cache
// accounting of a plan (dha-method.md section 3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha {

// A global budget: a head count, or a fraction of the source's K+V heads (rounded to the nearest count).
struct Budget {
    std::optional<int> heads;
    std::optional<double> fraction;

    static Budget ofHeads(int heads) { return Budget{heads, std::nullopt}; }
    static Budget ofFraction(double fraction) { return Budget{std::nullopt, fraction}; }
    // "0.25" or "25%" = fraction; "96" (an integer >= 1) = heads. Throws InvalidInput naming `what`.
    static Budget parse(const std::string& text, const std::string& what);
    // Heads kept for a source of sourceKvHeads heads; throws InvalidInput when the fraction is outside (0, 1].
    int resolve(int sourceKvHeads) const;
    std::string describe() const;  // "25%" or "96 heads"
};

enum class HeadKind { Key, Value };

// A (layer, K|V) head count fixed by the user: the planner keeps exactly this many there.
struct FixedCount {
    int layer = 0;
    HeadKind kind = HeadKind::Key;
    int heads = 0;
};

struct PlanConstraints {
    int minHeads = 1;  // per (layer, K|V)
    int maxHeads = 0;  // per (layer, K|V); 0 = H
    std::vector<FixedCount> fixed;
    std::vector<int> lockedLayers;  // keep every key and value head of these layers (MHA layers)
    bool tieKeyValue = false;       // key groups == value groups in every layer (clustered on mean similarity)
    bool uniform = false;           // the same count in every (layer, K|V), GQA-style
};

// Global allocation (dha-method.md section 3, with Ward instead of average linkage: docs/analysis.md): Ward
// merge trees per (layer, K|V) on distance 1 - similarity, a merge costing the within-group dispersion it adds,
// merged cheapest first across all trees from one queue until exactly the budget is kept. Plans are nested:
// one head fewer = the previous plan plus one merge.
// Throws InvalidInput with the feasible range when the constraints cannot meet the budget.
Plan planFromSimilarity(const SimilarityReport& similarity, const Budget& budget,
                        const PlanConstraints& constraints = {});

// Baselines. Adjacent uniform GQA: `groups` equal contiguous groups shared by keys and values (H % groups == 0).
Plan adjacentGqaPlan(int numLayers, int numHeads, int groups);
// CKA-grouped GQA: per layer `groups` equal-size groups shared by K and V, chosen by similarity (mean of the
// key and value matrices), so stock GQA runtimes can still load it after a query-head permutation.
Plan similarityGroupedGqaPlan(const SimilarityReport& similarity, int groups);

struct LayerKv {
    int layer = 0;
    int keyHeads = 0;
    int valueHeads = 0;
    int64_t bytesPerToken = 0;
    int64_t sourceBytesPerToken = 0;
};

struct KvAccounting {
    int bytesPerElement = 2;
    std::vector<LayerKv> layers;
    int64_t bytesPerToken = 0;
    int64_t sourceBytesPerToken = 0;
    double savedFraction() const {
        return sourceBytesPerToken > 0 ? 1.0 - static_cast<double>(bytesPerToken) / sourceBytesPerToken : 0.0;
    }
};

// KV cache bytes of a plan at bytesPerElement (2 for fp16/bf16, 4 for fp32), against its MHA source.
KvAccounting kvAccounting(const Plan& plan, int headDim, int bytesPerElement);

}  // namespace dha
