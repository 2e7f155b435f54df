// tokenizer.json model sections: BPE (vocab object + merges) and Unigram (vocab list), checked piece by
// piece.
#include "tokenizer/json_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "io/json_reader.h"
#include "tokenizer/merge_bpe_model.h"
#include "tokenizer/unigram_model.h"

namespace dha::tok {
namespace {

std::string quotedExcerpt(std::string_view text) { return "'" + io::printableExcerpt(text) + "'"; }

std::vector<SpmPiece> bpeVocabulary(const Json& model, const JsonFields& fields) {
    const Json& vocab = fields.object(fields.member(model, "vocab", "model"), "model.vocab");
    if (vocab.size() > kMaxVocabularyPieces) {
        fields.invalid("model.vocab", "more than " + std::to_string(kMaxVocabularyPieces) + " pieces");
    }
    std::vector<SpmPiece> pieces(vocab.size());
    std::vector<bool> taken(vocab.size(), false);
    for (const auto& [piece, idValue] : vocab.items()) {
        const std::string where = "model.vocab[" + quotedExcerpt(piece) + "]";
        const int64_t id = fields.integer(idValue, where);
        if (id < 0 || static_cast<uint64_t>(id) >= vocab.size()) {
            fields.unsupported(where, "the id " + std::to_string(id) + " outside 0.." +
                                          std::to_string(vocab.size() - 1) + " (vocabulary ids with gaps)");
        }
        if (taken[static_cast<size_t>(id)])
            fields.invalid(where, "the id " + std::to_string(id) + " is used twice");
        taken[static_cast<size_t>(id)] = true;
        pieces[static_cast<size_t>(id)].piece = piece;
    }
    return pieces;
}

std::vector<SpmPiece> unigramVocabulary(const Json& model, const JsonFields& fields) {
    const Json& vocab = fields.array(fields.member(model, "vocab", "model"), "model.vocab");
    if (vocab.size() > kMaxVocabularyPieces) {
        fields.invalid("model.vocab", "more than " + std::to_string(kMaxVocabularyPieces) + " pieces");
    }
    std::vector<SpmPiece> pieces;
    pieces.reserve(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) {
        const std::string where = elementPath("model.vocab", i);
        const Json& entry = fields.array(vocab[i], where);
        if (entry.size() != 2) fields.invalid(where, "expected [piece, score]");
        SpmPiece piece;
        piece.piece = fields.string(entry[0], where + "[0]");
        const double score = fields.number(entry[1], where + "[1]");
        if (!std::isfinite(score) || std::abs(score) > std::numeric_limits<float>::max()) {
            fields.invalid(where + "[1]", "the score is out of range");
        }
        piece.score = static_cast<float>(score);
        pieces.push_back(std::move(piece));
    }
    return pieces;
}

std::pair<std::string, std::string> mergePair(const Json& entry, const JsonFields& fields,
                                              const std::string& where) {
    if (entry.is_string()) {
        const std::string text = entry.get<std::string>();
        const size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
            fields.invalid(where, "expected two tokens separated by one space, got " + quotedExcerpt(text));
        }
        return {text.substr(0, space), text.substr(space + 1)};
    }
    const Json& pair = fields.array(entry, where);
    if (pair.size() != 2) fields.invalid(where, "expected [left, right]");
    return {fields.string(pair[0], where + "[0]"), fields.string(pair[1], where + "[1]")};
}

// Appends the added tokens beyond the model's pieces and marks special ones as Control.
void mergeAddedTokens(std::vector<SpmPiece>& pieces, const std::vector<AddedToken>& added,
                      const JsonFields& fields) {
    const size_t modelCount = pieces.size();
    std::vector<const AddedToken*> beyond;
    for (const AddedToken& token : added) {
        const std::string where = "added_tokens[id " + std::to_string(token.id) + "]";
        if (static_cast<size_t>(token.id) < modelCount) {
            SpmPiece& piece = pieces[static_cast<size_t>(token.id)];
            if (piece.piece != token.content) {
                fields.invalid(where, "its content " + quotedExcerpt(token.content) +
                                          " differs from the model's piece " + quotedExcerpt(piece.piece) +
                                          " with that id");
            }
            if (token.special) piece.type = PieceType::Control;
        } else {
            beyond.push_back(&token);
        }
    }
    std::sort(beyond.begin(), beyond.end(),
              [](const AddedToken* a, const AddedToken* b) { return a->id < b->id; });
    for (const AddedToken* token : beyond) {
        if (static_cast<size_t>(token->id) != pieces.size()) {
            fields.unsupported(
                "added_tokens[id " + std::to_string(token->id) + "]",
                "an added token id that leaves a gap (expected id " + std::to_string(pieces.size()) + ")");
        }
        SpmPiece piece;
        piece.piece = token->content;
        piece.type = token->special ? PieceType::Control : PieceType::UserDefined;
        pieces.push_back(std::move(piece));
    }
}

}  // namespace

std::vector<AddedToken> addedTokensFromJson(const Json& root, const JsonFields& fields) {
    std::vector<AddedToken> tokens;
    const Json* list = fields.optionalMember(root, "added_tokens");
    if (!list) return tokens;
    fields.array(*list, "added_tokens");
    std::vector<int64_t> ids;
    for (size_t i = 0; i < list->size(); ++i) {
        const std::string where = elementPath("added_tokens", i);
        const Json& entry = fields.object((*list)[i], where);
        AddedToken token;
        const int64_t id = fields.integer(fields.member(entry, "id", where), memberPath(where, "id"));
        if (id < 0 || id >= static_cast<int64_t>(kMaxVocabularyPieces))
            fields.invalid(where, "the id is out of range");
        token.id = static_cast<int32_t>(id);
        token.content = fields.stringMember(entry, "content", where);
        if (token.content.empty()) fields.invalid(where, "the content is empty");
        token.special = fields.boolMember(entry, "special", false, where);
        token.normalized = fields.boolMember(entry, "normalized", !token.special, where);
        token.lstrip = fields.boolMember(entry, "lstrip", false, where);
        token.rstrip = fields.boolMember(entry, "rstrip", false, where);
        if (fields.boolMember(entry, "single_word", false, where))
            fields.unsupported(where, "single_word added tokens");
        if (std::find(ids.begin(), ids.end(), id) != ids.end()) fields.invalid(where, "the id is used twice");
        ids.push_back(id);
        tokens.push_back(std::move(token));
    }
    return tokens;
}

JsonModel modelFromJson(const Json& root, const std::vector<AddedToken>& addedTokens,
                        const JsonFields& fields) {
    const Json& model = fields.object(fields.member(root, "model", "top level"), "model");
    std::string type;
    if (fields.optionalMember(model, "type")) {
        type = fields.stringMember(model, "type", "model");
    } else {
        type = model.contains("merges") ? "BPE" : "Unigram";  // untagged files, as Hugging Face infers them
    }
    JsonModel result;
    if (type == "BPE") {
        std::vector<SpmPiece> pieces = bpeVocabulary(model, fields);
        const size_t modelCount = pieces.size();
        if (const Json* dropout = fields.optionalMember(model, "dropout")) {
            if (fields.number(*dropout, "model.dropout") != 0.0)
                fields.unsupported("model.dropout", "BPE dropout");
        }
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
            const auto value = fields.optionalString(model, key, "model");
            if (value && !value->empty())
                fields.unsupported(memberPath("model", key), "a non-empty " + std::string(key));
        }
        MergeBpeOptions options;
        options.unknown.byteFallback = fields.boolMember(model, "byte_fallback", false, "model");
        options.unknown.fuseUnknown = fields.boolMember(model, "fuse_unk", false, "model");
        options.ignoreMerges = fields.boolMember(model, "ignore_merges", false, "model");
        std::optional<std::string> unkToken = fields.optionalString(model, "unk_token", "model");
        mergeAddedTokens(pieces, addedTokens, fields);
        auto vocab = std::make_shared<Vocabulary>(std::move(pieces), fields.path(), modelCount);
        if (unkToken) {
            const auto unkId = vocab->findModelPiece(*unkToken);
            if (!unkId)
                fields.invalid("model.unk_token",
                               "the unk_token " + quotedExcerpt(*unkToken) + " is not in the vocabulary");
            options.unknown.unkId = *unkId;
            if (vocab->type(*unkId) == PieceType::Normal) vocab->setType(*unkId, PieceType::Unknown);
        }
        const Json& merges = fields.array(fields.member(model, "merges", "model"), "model.merges");
        if (merges.size() > kMaxVocabularyPieces) fields.invalid("model.merges", "too many merges");
        std::vector<std::pair<int32_t, int32_t>> pairs;
        std::vector<int32_t> mergedIds;
        pairs.reserve(merges.size());
        mergedIds.reserve(merges.size());
        for (size_t i = 0; i < merges.size(); ++i) {
            const std::string where = elementPath("model.merges", i);
            const auto [left, right] = mergePair(merges[i], fields, where);
            const auto leftId = vocab->findModelPiece(left);
            const auto rightId = vocab->findModelPiece(right);
            const auto mergedId = vocab->findModelPiece(left + right);
            if (!leftId)
                fields.invalid(where, "the token " + quotedExcerpt(left) + " is not in the vocabulary");
            if (!rightId)
                fields.invalid(where, "the token " + quotedExcerpt(right) + " is not in the vocabulary");
            if (!mergedId)
                fields.invalid(
                    where, "the merged token " + quotedExcerpt(left + right) + " is not in the vocabulary");
            pairs.emplace_back(*leftId, *rightId);
            mergedIds.push_back(*mergedId);
        }
        result.model = std::make_unique<MergeBpeModel>(vocab, pairs, mergedIds, options);
        result.summary = std::string("BPE") + (options.unknown.byteFallback ? " (byte fallback)" : "");
        result.vocabulary = std::move(vocab);
        return result;
    }
    if (type == "Unigram") {
        std::vector<SpmPiece> pieces = unigramVocabulary(model, fields);
        const size_t modelCount = pieces.size();
        UnigramOptions options;
        options.everyPieceMatches = true;
        options.unknown.fuseUnknown = true;
        options.unknown.byteFallback = fields.boolMember(model, "byte_fallback", false, "model");
        if (const Json* unk = fields.optionalMember(model, "unk_id")) {
            const int64_t unkId = fields.integer(*unk, "model.unk_id");
            if (unkId < 0 || static_cast<uint64_t>(unkId) >= modelCount) {
                fields.invalid("model.unk_id",
                               "the id " + std::to_string(unkId) + " is outside the vocabulary");
            }
            options.unknown.unkId = static_cast<int32_t>(unkId);
            pieces[static_cast<size_t>(unkId)].type = PieceType::Unknown;
        } else {
            // Hugging Face fails on the first unknown character then; refuse the file up front instead.
            fields.unsupported("model", "a Unigram model without unk_id");
        }
        mergeAddedTokens(pieces, addedTokens, fields);
        auto vocab = std::make_shared<Vocabulary>(std::move(pieces), fields.path(), modelCount);
        result.model = std::make_unique<UnigramModel>(vocab, options);
        result.summary = std::string("unigram") + (options.unknown.byteFallback ? " (byte fallback)" : "");
        result.vocabulary = std::move(vocab);
        return result;
    }
    fields.unsupported("model.type", "the model type \"" + io::printableExcerpt(type) + "\"");
}

}  // namespace dha::tok
