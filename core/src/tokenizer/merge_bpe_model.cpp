// Ranked-merge BPE as Hugging Face tokenizers' BPE::merge_word + Word::merge_all (no dropout, no cache):
// byte fallback and <unk> fusion per character first, then the lowest-rank (then leftmost) pair merges.
#include "tokenizer/merge_bpe_model.h"

#include <queue>

#include "tokenizer/utf8.h"

namespace dha::tok {
namespace {

struct Symbol {
    int32_t id;
    int prev;
    int next;
    size_t length;  // bytes; 0 once merged into its left neighbour
};

struct QueuedMerge {
    size_t position;
    uint32_t rank;
    int32_t mergedId;
};

// Lowest rank first, then leftmost position (BinaryHeap of Merge in tokenizers/src/models/bpe/word.rs).
struct QueueOrder {
    bool operator()(const QueuedMerge& a, const QueuedMerge& b) const {
        return a.rank != b.rank ? a.rank > b.rank : a.position > b.position;
    }
};

}  // namespace

MergeBpeModel::MergeBpeModel(std::shared_ptr<const Vocabulary> vocabulary,
                             const std::vector<std::pair<int32_t, int32_t>>& merges,
                             const std::vector<int32_t>& mergedIds, MergeBpeOptions options)
    : m_vocabulary(std::move(vocabulary)), m_options(options) {
    m_merges.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        m_merges[pairKey(merges[rank].first, merges[rank].second)] = {static_cast<uint32_t>(rank),
                                                                      mergedIds[rank]};
    }
}

const MergeBpeModel::Merge* MergeBpeModel::findMerge(int32_t left, int32_t right) const {
    const auto it = m_merges.find(pairKey(left, right));
    return it == m_merges.end() ? nullptr : &it->second;
}

void MergeBpeModel::encode(std::string_view word, std::vector<int32_t>& ids) const {
    const Vocabulary& vocab = *m_vocabulary;
    if (m_options.ignoreMerges) {
        if (const auto id = vocab.findModelPiece(word)) {
            ids.push_back(*id);
            return;
        }
    }
    // Characters to symbols; unknown ones become byte pieces or (fused) <unk>.
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    const auto add = [&](int32_t id, size_t length) {
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({id, index - 1, index + 1, length});
    };
    IdEmitter byteCheck(vocab, m_options.unknown, ids);  // only its bytesAvailable() is used
    int32_t pendingUnk = -1;
    size_t pendingUnkLength = 0;
    for (std::string_view rest = word; !rest.empty();) {
        const size_t length = utf8CharLength(rest);
        const std::string_view character = rest.substr(0, length);
        rest.remove_prefix(length);
        if (const auto id = vocab.findModelPiece(character)) {
            if (pendingUnk >= 0) add(pendingUnk, pendingUnkLength);
            pendingUnk = -1;
            add(*id, length);
            continue;
        }
        if (byteCheck.bytesAvailable(character)) {
            // Hugging Face does not flush a pending <unk> here; the byte pieces go first.
            for (const char c : character) add(vocab.byteId(static_cast<unsigned char>(c)), 1);
            continue;
        }
        if (m_options.unknown.unkId < 0) continue;
        if (pendingUnk >= 0 && m_options.unknown.fuseUnknown) {
            pendingUnkLength += length;
        } else {
            if (pendingUnk >= 0) add(pendingUnk, pendingUnkLength);
            pendingUnk = m_options.unknown.unkId;
            pendingUnkLength = length;
        }
    }
    if (pendingUnk >= 0) add(pendingUnk, pendingUnkLength);
    if (symbols.empty()) return;
    symbols.back().next = -1;

    std::priority_queue<QueuedMerge, std::vector<QueuedMerge>, QueueOrder> queue;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const Merge* merge = findMerge(symbols[i].id, symbols[i + 1].id)) {
            queue.push({i, merge->rank, merge->mergedId});
        }
    }
    while (!queue.empty()) {
        const QueuedMerge top = queue.top();
        queue.pop();
        Symbol& current = symbols[top.position];
        if (current.length == 0 || current.next == -1) continue;
        const Symbol right = symbols[static_cast<size_t>(current.next)];
        const Merge* expected = findMerge(current.id, right.id);
        if (expected == nullptr || expected->mergedId != top.mergedId) continue;  // stale entry

        const int rightIndex = current.next;
        current.id = top.mergedId;
        current.length += right.length;
        current.next = right.next;
        symbols[static_cast<size_t>(rightIndex)].length = 0;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = static_cast<int>(top.position);

        if (current.prev >= 0) {
            const auto prev = static_cast<size_t>(current.prev);
            if (const Merge* merge = findMerge(symbols[prev].id, current.id)) {
                queue.push({prev, merge->rank, merge->mergedId});
            }
        }
        if (current.next >= 0) {
            if (const Merge* merge = findMerge(current.id, symbols[static_cast<size_t>(current.next)].id)) {
                queue.push({top.position, merge->rank, merge->mergedId});
            }
        }
    }
    for (const Symbol& symbol : symbols) {
        if (symbol.length != 0) ids.push_back(symbol.id);
    }
}

}  // namespace dha::tok
