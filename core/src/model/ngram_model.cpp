// Unigram (add-k) and bigram (interpolated Kneser-Ney) counting models over int32 token ids.
#include "model/ngram_model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dha/error.h"

namespace dha::model {
namespace {

void checkIds(const std::vector<int32_t>& ids, int vocabSize, const char* what) {
    if (vocabSize <= 0) fail(ErrorCode::Usage, what, "the vocabulary is empty");
    for (const int32_t id : ids) {
        if (id < 0 || id >= vocabSize) {
            fail(ErrorCode::Usage, what,
                 "token id " + std::to_string(id) + " is outside the vocabulary of " +
                     std::to_string(vocabSize));
        }
    }
}

}  // namespace

UnigramModel::UnigramModel(const std::vector<int32_t>& train, int vocabSize)
    : m_counts(static_cast<size_t>(vocabSize > 0 ? vocabSize : 0), 0) {
    checkIds(train, vocabSize, "unigram training tokens");
    for (const int32_t id : train) ++m_counts[static_cast<size_t>(id)];
    m_total = static_cast<int64_t>(train.size());
    for (size_t id = 1; id < m_counts.size(); ++id) {
        if (m_counts[id] > m_counts[static_cast<size_t>(m_argmax)]) m_argmax = static_cast<int32_t>(id);
    }
}

double UnigramModel::probability(int32_t id) const {
    const double vocab = static_cast<double>(m_counts.size());
    return (static_cast<double>(m_counts[static_cast<size_t>(id)]) + kAddK) /
           (static_cast<double>(m_total) + kAddK * vocab);
}

NgramScore UnigramModel::score(const std::vector<int32_t>& heldOut) const {
    checkIds(heldOut, static_cast<int>(m_counts.size()), "held-out tokens");
    NgramScore score;
    for (size_t i = 1; i < heldOut.size(); ++i) {
        score.lossSum -= std::log(probability(heldOut[i]));
        score.correct += heldOut[i] == m_argmax ? 1 : 0;
        ++score.predictedTokens;
    }
    return score;
}

BigramModel::BigramModel(const std::vector<int32_t>& train, int vocabSize)
    : m_vocabSize(vocabSize),
      m_contextCounts(static_cast<size_t>(vocabSize > 0 ? vocabSize : 0), 0),
      m_followerTypes(m_contextCounts.size(), 0),
      m_predecessorTypes(m_contextCounts.size(), 0),
      m_argmax(m_contextCounts.size(), 0) {
    checkIds(train, vocabSize, "bigram training tokens");
    for (size_t i = 1; i < train.size(); ++i) {
        ++m_contextCounts[static_cast<size_t>(train[i - 1])];
        if (m_pairCounts[key(train[i - 1], train[i])]++ == 0) {
            ++m_followerTypes[static_cast<size_t>(train[i - 1])];
            if (m_predecessorTypes[static_cast<size_t>(train[i])]++ == 0) ++m_continuedTypes;
            ++m_bigramTypes;
        }
    }
    // The best next token of a context is one of its followers or the best continuation overall: any other
    // token scores only the interpolation term, which is at most the best continuation's.
    int32_t bestContinuation = 0;
    for (int32_t id = 1; id < vocabSize; ++id) {
        if (continuationProbability(id) > continuationProbability(bestContinuation)) bestContinuation = id;
    }
    std::vector<double> bestScore(m_contextCounts.size());
    for (int32_t v = 0; v < vocabSize; ++v) {
        m_argmax[static_cast<size_t>(v)] = bestContinuation;
        bestScore[static_cast<size_t>(v)] = probability(v, bestContinuation);
    }
    for (const auto& [pair, count] : m_pairCounts) {
        const auto v = static_cast<int32_t>(pair >> 32);
        const auto w = static_cast<int32_t>(pair & 0xffffffffu);
        const double p = probability(v, w);
        const auto slot = static_cast<size_t>(v);
        if (p > bestScore[slot] || (p == bestScore[slot] && w < m_argmax[slot])) {
            bestScore[slot] = p;
            m_argmax[slot] = w;
        }
    }
}

double BigramModel::continuationProbability(int32_t id) const {
    const double uniform = 1.0 / static_cast<double>(m_vocabSize);
    if (m_bigramTypes == 0) return uniform;
    const double types = static_cast<double>(m_bigramTypes);
    const double discounted =
        std::max(static_cast<double>(m_predecessorTypes[static_cast<size_t>(id)]) - kDiscount, 0.0) / types;
    return discounted + kDiscount * static_cast<double>(m_continuedTypes) / types * uniform;
}

double BigramModel::probability(int32_t previous, int32_t next) const {
    const auto context = static_cast<double>(m_contextCounts[static_cast<size_t>(previous)]);
    if (context == 0) return continuationProbability(next);
    const auto found = m_pairCounts.find(key(previous, next));
    const double pair = found == m_pairCounts.end() ? 0.0 : static_cast<double>(found->second);
    const double weight =
        kDiscount * static_cast<double>(m_followerTypes[static_cast<size_t>(previous)]) / context;
    return std::max(pair - kDiscount, 0.0) / context + weight * continuationProbability(next);
}

NgramScore BigramModel::score(const std::vector<int32_t>& heldOut) const {
    checkIds(heldOut, m_vocabSize, "held-out tokens");
    NgramScore score;
    for (size_t i = 1; i < heldOut.size(); ++i) {
        score.lossSum -= std::log(probability(heldOut[i - 1], heldOut[i]));
        score.correct += heldOut[i] == argmax(heldOut[i - 1]) ? 1 : 0;
        ++score.predictedTokens;
    }
    return score;
}

}  // namespace dha::model
