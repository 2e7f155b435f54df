// The pieces of a tokenizer (string, score, type) with id lookup and the byte-fallback table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/sentencepiece_model_proto.h"

namespace dha::tok {

// Limits on untrusted vocabularies.
inline constexpr size_t kMaxVocabularyPieces = 4'000'000;
inline constexpr size_t kMaxPieceBytes = 4096;

class Vocabulary {
public:
    // Validates and indexes `pieces` (ids are positions). Throws InvalidInput naming pathForErrors when there
    // are no pieces or too many, a piece is empty, longer than kMaxPieceBytes, not valid UTF-8 or defined
    // twice, a score is not finite, or a Byte piece is not of the form <0xXX>. The first `modelPieceCount`
    // pieces belong to the model; later ones are added tokens that only the added-token matcher produces
    // (tokenizer.json). Default: all.
    Vocabulary(std::vector<SpmPiece> pieces, const std::string& pathForErrors,
               size_t modelPieceCount = static_cast<size_t>(-1));
    Vocabulary(const Vocabulary&) = delete;  // m_ids holds views into m_pieces
    Vocabulary& operator=(const Vocabulary&) = delete;

    int size() const { return static_cast<int>(m_pieces.size()); }
    bool contains(int32_t id) const { return id >= 0 && id < size(); }
    const std::string& piece(int32_t id) const { return m_pieces[static_cast<size_t>(id)].piece; }
    float score(int32_t id) const { return m_pieces[static_cast<size_t>(id)].score; }
    PieceType type(int32_t id) const { return m_pieces[static_cast<size_t>(id)].type; }
    void setType(int32_t id, PieceType type) { m_pieces[static_cast<size_t>(id)].type = type; }
    const std::vector<SpmPiece>& pieces() const { return m_pieces; }

    int modelSize() const { return m_modelSize; }
    std::optional<int32_t> find(std::string_view piece) const;
    // find() restricted to the model's pieces.
    std::optional<int32_t> findModelPiece(std::string_view piece) const {
        const auto id = find(piece);
        return (id && *id < m_modelSize) ? id : std::nullopt;
    }
    // Id of the piece "<0xXX>" for `byte`, or -1 when the vocabulary lacks it.
    int32_t byteId(unsigned char byte) const { return m_byteIds[byte]; }
    bool hasAllBytePieces() const;

private:
    std::vector<SpmPiece> m_pieces;
    std::unordered_map<std::string_view, int32_t> m_ids;  // views into m_pieces
    std::array<int32_t, 256> m_byteIds{};
    int m_modelSize = 0;
};

// The byte value named by a byte-fallback piece "<0xXX>" (upper-case hex, as SentencePiece writes them), or
// -1.
int bytePieceValue(std::string_view piece);
std::string bytePieceName(unsigned char byte);

}  // namespace dha::tok
