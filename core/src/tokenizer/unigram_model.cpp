// Viterbi segmentation as SentencePiece 0.1.97's EncodeOptimized, including its float/double arithmetic,
// so that ties and near-ties resolve exactly as spm_encode does.
#include "tokenizer/unigram_model.h"

#include <algorithm>
#include <cfloat>

#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

constexpr float kUnknownPenalty = 10.0f;

}  // namespace

UnigramModel::UnigramModel(std::shared_ptr<const Vocabulary> vocabulary, UnigramOptions options)
    : m_vocabulary(std::move(vocabulary)), m_options(options) {
    const Vocabulary& vocab = *m_vocabulary;
    // SentencePiece: min/max over Normal pieces, starting from FLT_MAX / FLT_MIN (the smallest positive
    // float, so the user-defined bonus is about -0.1 when every score is negative). Hugging Face: min over
    // all.
    float minScore = FLT_MAX;
    float maxScore = FLT_MIN;
    std::vector<std::pair<std::string_view, int32_t>> entries;
    entries.reserve(static_cast<size_t>(vocab.size()));
    for (int32_t id = 0; id < vocab.modelSize(); ++id) {
        const PieceType type = vocab.type(id);
        if (m_options.everyPieceMatches || type == PieceType::Normal) {
            minScore = std::min(minScore, vocab.score(id));
            maxScore = std::max(maxScore, vocab.score(id));
        }
        if (m_options.everyPieceMatches || type == PieceType::Normal || type == PieceType::UserDefined ||
            type == PieceType::Unused) {
            entries.emplace_back(vocab.piece(id), id);
        }
    }
    m_trie = PieceTrie(std::move(entries));
    m_unknownScore = minScore - kUnknownPenalty;
    m_maxScore = maxScore;
}

void UnigramModel::encode(std::string_view word, std::vector<int32_t>& ids) const {
    const Vocabulary& vocab = *m_vocabulary;
    struct BestPath {
        int32_t id = -1;
        float score = 0;
        int64_t startsAt = -1;  // byte position where the last piece of the best path ending here starts
    };
    const size_t size = word.size();
    std::vector<BestPath> bestEndingAt(size + 1);
    size_t startsAt = 0;
    while (startsAt < size) {
        const float scoreTillHere = bestEndingAt[startsAt].score;
        const size_t charLength = utf8CharLength(word.substr(startsAt));
        bool hasSingleCharPiece = false;
        m_trie.forEachPrefix(word.substr(startsAt), [&](size_t length, int32_t id) {
            if (!m_options.everyPieceMatches && vocab.type(id) == PieceType::Unused) return;
            BestPath& target = bestEndingAt[startsAt + length];
            // As SentencePiece: the user-defined bonus is double, so the candidate sum is double and is
            // compared with the float already stored.
            const double score = (!m_options.everyPieceMatches && vocab.type(id) == PieceType::UserDefined)
                                     ? static_cast<double>(static_cast<float>(length) * m_maxScore) - 0.1
                                     : static_cast<double>(vocab.score(id));
            const double candidate = score + scoreTillHere;
            if (target.startsAt == -1 || candidate > target.score) {
                target.score = static_cast<float>(candidate);
                target.startsAt = static_cast<int64_t>(startsAt);
                target.id = id;
            }
            if (length == charLength) hasSingleCharPiece = true;
        });
        if (!hasSingleCharPiece) {
            BestPath& target = bestEndingAt[startsAt + charLength];
            const float candidate = m_unknownScore + scoreTillHere;
            if (target.startsAt == -1 || candidate > target.score) {
                target.score = candidate;
                target.startsAt = static_cast<int64_t>(startsAt);
                target.id = -1;  // unknown
            }
        }
        startsAt += charLength;
    }

    // Backtrack, then emit left to right.
    std::vector<std::pair<size_t, int32_t>> pieces;  // (start, id)
    for (size_t end = size; end > 0;) {
        const BestPath& node = bestEndingAt[end];
        pieces.emplace_back(static_cast<size_t>(node.startsAt), node.id);
        end = static_cast<size_t>(node.startsAt);
    }
    std::reverse(pieces.begin(), pieces.end());
    IdEmitter emitter(vocab, m_options.unknown, ids);
    for (size_t i = 0; i < pieces.size(); ++i) {
        const size_t begin = pieces[i].first;
        const size_t end = i + 1 < pieces.size() ? pieces[i + 1].first : size;
        const int32_t id = pieces[i].second;
        if (id < 0) {  // text no piece covers (a piece matched in the lattice is emitted as is)
            emitter.unknown(word.substr(begin, end - begin));
        } else {
            emitter.known(id);
        }
    }
}

}  // namespace dha::tok
