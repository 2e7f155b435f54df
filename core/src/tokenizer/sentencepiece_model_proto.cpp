// ModelProto parsing on top of ProtobufReader; field numbers follow sentencepiece_model.proto.
#include "tokenizer/sentencepiece_model_proto.h"

#include "tokenizer/protobuf_reader.h"

namespace dha::tok {
namespace {

// Caps that keep a hostile file from making us allocate without bound (the file itself is capped at 64 MiB).
constexpr size_t kMaxPieces = 4'000'000;

SpmPiece parsePiece(std::string_view message, const std::string& path, const ProtobufReader& parent,
                    const ProtobufField& at, size_t index) {
    ProtobufReader reader(message, path, parent.context() + ".pieces[" + std::to_string(index) + "]",
                          parent.payloadOffset(at));
    SpmPiece piece;
    ProtobufField field;
    while (reader.next(field)) {
        switch (field.number) {
            case 1:
                piece.piece = std::string(reader.bytes(field, "piece"));
                break;
            case 2:
                piece.score = reader.float32(field, "score");
                break;
            case 3: {
                const int32_t type = reader.int32(field, "type");
                if (type < 1 || type > 6) reader.fail("unknown piece type " + std::to_string(type));
                piece.type = static_cast<PieceType>(type);
                break;
            }
            default:
                break;
        }
    }
    return piece;
}

void parseTrainerSpec(std::string_view message, const std::string& path, const ProtobufReader& parent,
                      const ProtobufField& at, SpmTrainerSpec& spec) {
    ProtobufReader reader(message, path, parent.context() + ".trainer_spec", parent.payloadOffset(at));
    ProtobufField field;
    while (reader.next(field)) {
        switch (field.number) {
            case 3:
                spec.modelType = reader.int32(field, "model_type");
                break;
            case 4:
                spec.vocabSize = reader.int32(field, "vocab_size");
                break;
            case 24:
                spec.treatWhitespaceAsSuffix = reader.boolean(field, "treat_whitespace_as_suffix");
                break;
            case 25:
                spec.splitDigits = reader.boolean(field, "split_digits");
                break;
            case 35:
                spec.byteFallback = reader.boolean(field, "byte_fallback");
                break;
            case 40:
                spec.unkId = reader.int32(field, "unk_id");
                break;
            case 41:
                spec.bosId = reader.int32(field, "bos_id");
                break;
            case 42:
                spec.eosId = reader.int32(field, "eos_id");
                break;
            case 43:
                spec.padId = reader.int32(field, "pad_id");
                break;
            case 44:
                spec.unkSurface = std::string(reader.bytes(field, "unk_surface"));
                break;
            case 45:
                spec.unkPiece = std::string(reader.bytes(field, "unk_piece"));
                break;
            case 46:
                spec.bosPiece = std::string(reader.bytes(field, "bos_piece"));
                break;
            case 47:
                spec.eosPiece = std::string(reader.bytes(field, "eos_piece"));
                break;
            case 48:
                spec.padPiece = std::string(reader.bytes(field, "pad_piece"));
                break;
            default:
                break;
        }
    }
}

void parseNormalizerSpec(std::string_view message, const std::string& path, const ProtobufReader& parent,
                         const ProtobufField& at, const char* name, SpmNormalizerSpec& spec) {
    ProtobufReader reader(message, path, parent.context() + "." + name, parent.payloadOffset(at));
    ProtobufField field;
    while (reader.next(field)) {
        switch (field.number) {
            case 1:
                spec.name = std::string(reader.bytes(field, "name"));
                break;
            case 2:
                spec.precompiledCharsmap = std::string(reader.bytes(field, "precompiled_charsmap"));
                break;
            case 3:
                spec.addDummyPrefix = reader.boolean(field, "add_dummy_prefix");
                break;
            case 4:
                spec.removeExtraWhitespaces = reader.boolean(field, "remove_extra_whitespaces");
                break;
            case 5:
                spec.escapeWhitespaces = reader.boolean(field, "escape_whitespaces");
                break;
            default:
                break;
        }
    }
}

}  // namespace

SpmModelProto parseSentencePieceModel(std::string_view serialized, const std::string& pathForErrors) {
    SpmModelProto model;
    ProtobufReader reader(serialized, pathForErrors, "ModelProto");
    ProtobufField field;
    while (reader.next(field)) {
        switch (field.number) {
            case 1:
                if (model.pieces.size() >= kMaxPieces) {
                    reader.fail("more than " + std::to_string(kMaxPieces) + " pieces");
                }
                model.pieces.push_back(parsePiece(reader.bytes(field, "pieces"), pathForErrors, reader, field,
                                                  model.pieces.size()));
                break;
            case 2:
                // A repeated embedded message merges into the earlier one, as protobuf does.
                parseTrainerSpec(reader.bytes(field, "trainer_spec"), pathForErrors, reader, field,
                                 model.trainerSpec);
                break;
            case 3:
                parseNormalizerSpec(reader.bytes(field, "normalizer_spec"), pathForErrors, reader, field,
                                    "normalizer_spec", model.normalizerSpec);
                break;
            case 5:
                if (!model.denormalizerSpec) model.denormalizerSpec.emplace();
                parseNormalizerSpec(reader.bytes(field, "denormalizer_spec"), pathForErrors, reader, field,
                                    "denormalizer_spec", *model.denormalizerSpec);
                break;
            default:
                break;
        }
    }
    return model;
}

}  // namespace dha::tok
