// The parts of SentencePiece's ModelProto (sentencepiece_model.proto) that inference needs, parsed by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dha::tok {

// ModelProto.SentencePiece.Type; the numbers are the proto's.
enum class PieceType : uint8_t {
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6
};

struct SpmPiece {
    std::string piece;
    float score = 0;
    PieceType type = PieceType::Normal;
};

// TrainerSpec, with the proto's defaults.
struct SpmTrainerSpec {
    enum class ModelType { Unigram = 1, Bpe = 2, Word = 3, Char = 4 };
    int32_t modelType = 1;  // raw value; the loader rejects values it does not handle
    int32_t vocabSize = 8000;
    bool byteFallback = false;
    bool treatWhitespaceAsSuffix = false;
    bool splitDigits = false;
    int32_t unkId = 0;
    int32_t bosId = 1;
    int32_t eosId = 2;
    int32_t padId = -1;
    std::string unkPiece;  // empty means the default "<unk>" (SentencePiece treats an empty value so)
    std::string bosPiece;
    std::string eosPiece;
    std::string padPiece;
    std::optional<std::string> unkSurface;  // decoded text of <unk>; " \u2047 " when absent
};

// NormalizerSpec, with the proto's defaults.
struct SpmNormalizerSpec {
    std::string name;
    std::string precompiledCharsmap;
    bool addDummyPrefix = true;
    bool removeExtraWhitespaces = true;
    bool escapeWhitespaces = true;
};

struct SpmModelProto {
    std::vector<SpmPiece> pieces;
    SpmTrainerSpec trainerSpec;
    SpmNormalizerSpec normalizerSpec;
    std::optional<SpmNormalizerSpec> denormalizerSpec;
};

// Parses a serialized ModelProto. Only the wire format and field types are checked here (errors name
// pathForErrors and the field); the vocabulary's consistency is checked by the loader. Unknown fields are
// skipped as protobuf does.
SpmModelProto parseSentencePieceModel(std::string_view serialized, const std::string& pathForErrors);

}  // namespace dha::tok
