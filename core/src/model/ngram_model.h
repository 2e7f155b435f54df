// Count-based unigram and bigram language models over token ids: the baselines a trained model must beat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace dha::model {

// Scores of a model on a held-out stream under the protocol of `dha eval`: every token after the first is
// predicted (the bigram from the token before it). Loss is the mean cross-entropy in nats.
struct NgramScore {
    int64_t predictedTokens = 0;
    double lossSum = 0;
    int64_t correct = 0;  // argmax predictions (smallest id among ties) equal to the next token
    double meanLoss() const {
        return predictedTokens > 0 ? lossSum / static_cast<double>(predictedTokens) : 0.0;
    }
    double accuracy() const {
        return predictedTokens > 0 ? static_cast<double>(correct) / static_cast<double>(predictedTokens)
                                   : 0.0;
    }
};

// Unigram with add-k (Lidstone) smoothing over the whole vocabulary: P(w) = (c(w) + k) / (N + k V).
class UnigramModel {
public:
    static constexpr double kAddK = 1.0;  // Laplace
    // Ids must lie in [0, vocabSize); throws dha::Exception (Usage) otherwise.
    UnigramModel(const std::vector<int32_t>& train, int vocabSize);
    double probability(int32_t id) const;
    int32_t argmax() const { return m_argmax; }
    NgramScore score(const std::vector<int32_t>& heldOut) const;

private:
    std::vector<int64_t> m_counts;
    int64_t m_total = 0;
    int32_t m_argmax = 0;
};

// Bigram with interpolated Kneser-Ney smoothing (Chen & Goodman 1998), fixed absolute discount D = 0.75,
// interpolated down to the uniform distribution so that no probability is zero:
//   P(w|v)   = max(c(v,w) - D, 0) / c(v) + D N1+(v.) / c(v) * Pkn(w)     (Pkn(w) alone when c(v) = 0)
//   Pkn(w)   = max(N1+(.w) - D, 0) / N1+(..) + D |{w : N1+(.w) > 0}| / N1+(..) * 1/V
// where c(v) counts v as a context, N1+(v.) the distinct followers of v, N1+(.w) the distinct predecessors
// of w and N1+(..) the distinct bigram types.
class BigramModel {
public:
    static constexpr double kDiscount = 0.75;
    BigramModel(const std::vector<int32_t>& train, int vocabSize);
    double probability(int32_t previous, int32_t next) const;
    double continuationProbability(int32_t id) const;
    int32_t argmax(int32_t previous) const { return m_argmax[static_cast<size_t>(previous)]; }
    NgramScore score(const std::vector<int32_t>& heldOut) const;

private:
    static uint64_t key(int32_t previous, int32_t next) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(previous)) << 32) | static_cast<uint32_t>(next);
    }
    int m_vocabSize = 0;
    std::unordered_map<uint64_t, int64_t> m_pairCounts;
    std::vector<int64_t> m_contextCounts;     // c(v)
    std::vector<int64_t> m_followerTypes;     // N1+(v.)
    std::vector<int64_t> m_predecessorTypes;  // N1+(.w)
    int64_t m_bigramTypes = 0;                // N1+(..)
    int64_t m_continuedTypes = 0;             // |{w : N1+(.w) > 0}|
    std::vector<int32_t> m_argmax;            // per context
};

}  // namespace dha::model
