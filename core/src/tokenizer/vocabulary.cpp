// Vocabulary validation and indexing, shared by the tokenizer.model and tokenizer.json loaders.
#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "dha/error.h"
#include "io/json_reader.h"
#include "tokenizer/utf8.h"

namespace dha::tok {

int bytePieceValue(std::string_view piece) {
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
    int value = 0;
    for (size_t i = 3; i < 5; ++i) {
        const char c = piece[i];
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit < 0) return -1;
        value = value * 16 + digit;
    }
    return value;
}

std::string bytePieceName(unsigned char byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    return name;
}

Vocabulary::Vocabulary(std::vector<SpmPiece> pieces, const std::string& pathForErrors, size_t modelPieceCount)
    : m_pieces(std::move(pieces)) {
    m_byteIds.fill(-1);
    if (m_pieces.empty()) failInput(pathForErrors, "the vocabulary is empty");
    if (m_pieces.size() > kMaxVocabularyPieces) {
        failInput(pathForErrors, "the vocabulary has " + std::to_string(m_pieces.size()) +
                                     " pieces, more than " + std::to_string(kMaxVocabularyPieces));
    }
    m_modelSize = static_cast<int>(std::min(modelPieceCount, m_pieces.size()));
    m_ids.reserve(m_pieces.size());
    for (size_t id = 0; id < m_pieces.size(); ++id) {
        const SpmPiece& p = m_pieces[id];
        const std::string where = "piece " + std::to_string(id);
        if (p.piece.empty()) failInput(pathForErrors, where + " is empty");
        if (p.piece.size() > kMaxPieceBytes) {
            failInput(pathForErrors, where + " is " + std::to_string(p.piece.size()) +
                                         " bytes long, more than " + std::to_string(kMaxPieceBytes));
        }
        if (!isValidUtf8(p.piece)) failInput(pathForErrors, where + " is not valid UTF-8");
        if (!std::isfinite(p.score))
            failInput(pathForErrors, where + " has a score that is not a finite number");
        if (!m_ids.emplace(std::string_view(p.piece), static_cast<int32_t>(id)).second) {
            failInput(pathForErrors, where + " '" + io::printableExcerpt(p.piece) +
                                         "' is defined twice (first as " + std::to_string(m_ids.at(p.piece)) +
                                         ")");
        }
        const int byte = bytePieceValue(p.piece);
        if (p.type == PieceType::Byte && byte < 0) {
            failInput(pathForErrors, where + " '" + io::printableExcerpt(p.piece) +
                                         "' has type BYTE but is not of the form <0xXX>");
        }
        if (byte >= 0 && id < static_cast<size_t>(m_modelSize))
            m_byteIds[static_cast<size_t>(byte)] = static_cast<int32_t>(id);
    }
}

std::optional<int32_t> Vocabulary::find(std::string_view piece) const {
    const auto it = m_ids.find(piece);
    if (it == m_ids.end()) return std::nullopt;
    return it->second;
}

bool Vocabulary::hasAllBytePieces() const {
    for (const int32_t id : m_byteIds) {
        if (id < 0) return false;
    }
    return true;
}

}  // namespace dha::tok
