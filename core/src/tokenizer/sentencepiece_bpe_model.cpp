// BPE encoding as SentencePiece 0.1.97's bpe::Model::SampleEncode with no dropout: a priority queue of
// candidate pairs ordered by score, then by leftmost position; stale entries are skipped when popped.
#include "tokenizer/sentencepiece_bpe_model.h"

#include <queue>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

struct SymbolPair {
    int left;
    int right;
    float score;
    size_t size;
};

struct PairOrder {
    bool operator()(const SymbolPair& a, const SymbolPair& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

struct Symbol {
    int prev;
    int next;
    bool frozen;
    std::string_view piece;
};

using ReverseMerges = std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>>;

// Emits a final symbol; an Unused piece is split back into the two pieces that formed it.
void resegment(const Vocabulary& vocab, std::string_view piece, const ReverseMerges& reverseMerges,
               IdEmitter& emitter) {
    const auto id = vocab.find(piece);
    if (!id) {
        emitter.unknown(piece);
        return;
    }
    if (vocab.type(*id) == PieceType::Unused) {
        const auto it = reverseMerges.find(piece);
        if (it != reverseMerges.end()) {
            resegment(vocab, it->second.first, reverseMerges, emitter);
            resegment(vocab, it->second.second, reverseMerges, emitter);
            return;
        }
    }
    if (vocab.type(*id) == PieceType::Unknown) {
        emitter.unknown(piece);
    } else {
        emitter.known(*id);
    }
}

}  // namespace

SentencePieceBpeModel::SentencePieceBpeModel(std::shared_ptr<const Vocabulary> vocabulary,
                                             std::shared_ptr<const PieceTrie> protectedPieces,
                                             UnknownPolicy unknown)
    : m_vocabulary(std::move(vocabulary)),
      m_protectedPieces(std::move(protectedPieces)),
      m_unknown(unknown) {}

int32_t SentencePieceBpeModel::mergeableId(std::string_view piece) const {
    const auto id = m_vocabulary->find(piece);
    if (!id) return -1;
    const PieceType type = m_vocabulary->type(*id);
    return (type == PieceType::Normal || type == PieceType::UserDefined || type == PieceType::Unused) ? *id
                                                                                                      : -1;
}

void SentencePieceBpeModel::encode(std::string_view word, std::vector<int32_t>& ids) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    for (std::string_view rest = word; !rest.empty();) {
        size_t length = 0;
        bool frozen = false;
        if (m_protectedPieces && !m_protectedPieces->empty()) {
            length = m_protectedPieces->longestPrefix(rest).first;
            frozen = length > 0;
        }
        if (length == 0) length = utf8CharLength(rest);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back(
            {index - 1, rest.size() == length ? -1 : index + 1, frozen, rest.substr(0, length)});
        rest.remove_prefix(length);
    }

    std::priority_queue<SymbolPair, std::vector<SymbolPair>, PairOrder> agenda;
    ReverseMerges reverseMerges;
    const auto maybeAddPair = [&](int left, int right) {
        if (left == -1 || right == -1 || symbols[left].frozen || symbols[right].frozen) return;
        const std::string_view piece(symbols[left].piece.data(),
                                     symbols[left].piece.size() + symbols[right].piece.size());
        const int32_t id = mergeableId(piece);
        if (id < 0) return;
        agenda.push({left, right, m_vocabulary->score(id), piece.size()});
        if (m_vocabulary->type(id) == PieceType::Unused) {
            reverseMerges[piece] = {symbols[left].piece, symbols[right].piece};
        }
    };
    for (size_t i = 1; i < symbols.size(); ++i) maybeAddPair(static_cast<int>(i - 1), static_cast<int>(i));

    while (!agenda.empty()) {
        const SymbolPair top = agenda.top();
        agenda.pop();
        Symbol& left = symbols[top.left];
        Symbol& right = symbols[top.right];
        if (left.piece.empty() || right.piece.empty() || left.piece.size() + right.piece.size() != top.size) {
            continue;  // stale: one side was merged away since this pair was queued
        }
        left.piece = std::string_view(left.piece.data(), left.piece.size() + right.piece.size());
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = top.left;
        right.piece = {};
        maybeAddPair(left.prev, top.left);
        maybeAddPair(top.left, left.next);
    }

    IdEmitter emitter(*m_vocabulary, m_unknown, ids);
    for (int index = symbols.empty() ? -1 : 0; index != -1; index = symbols[index].next) {
        resegment(*m_vocabulary, symbols[index].piece, reverseMerges, emitter);
    }
}

}  // namespace dha::tok
