// Builds a PipelineTokenizer from a SentencePiece tokenizer.model, checking it as SentencePiece's
// ModelInterface::InitializePieces does (one <unk>, byte pieces consistent with byte_fallback).
#include <memory>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/sentencepiece_bpe_model.h"
#include "tokenizer/sentencepiece_decoder.h"
#include "tokenizer/sentencepiece_model_proto.h"
#include "tokenizer/sentencepiece_normalizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unigram_model.h"

namespace dha::tok {
namespace {

constexpr size_t kMaxModelFileBytes = 64u << 20;

void checkSpecialPieces(const Vocabulary& vocab, const SpmTrainerSpec& spec, const std::string& path) {
    int32_t unkId = -1;
    for (int32_t id = 0; id < vocab.size(); ++id) {
        const PieceType type = vocab.type(id);
        if (type == PieceType::Unknown) {
            if (unkId >= 0) {
                failInput(path, "pieces " + std::to_string(unkId) + " and " + std::to_string(id) +
                                    " are both of type UNKNOWN; a model has one");
            }
            unkId = id;
        }
        if (type == PieceType::Byte && !spec.byteFallback) {
            failInput(path, "piece " + std::to_string(id) + " is a byte piece although byte_fallback is off");
        }
    }
    if (unkId < 0) failInput(path, "no piece has type UNKNOWN (the <unk> piece is missing)");
    if (spec.byteFallback) {
        for (int byte = 0; byte < 256; ++byte) {
            const int32_t id = vocab.byteId(static_cast<unsigned char>(byte));
            if (id < 0 || vocab.type(id) != PieceType::Byte) {
                failInput(path, "byte_fallback is on but the byte piece " +
                                    bytePieceName(static_cast<unsigned char>(byte)) + " is missing");
            }
        }
    }
}

std::optional<int32_t> controlPieceId(const Vocabulary& vocab, const std::string& piece,
                                      const char* fallback) {
    // SentencePieceProcessor::bos_id(): the id of bos_piece when that piece is a control symbol.
    const auto id = vocab.find(piece.empty() ? fallback : piece);
    if (id && vocab.type(*id) == PieceType::Control) return id;
    return std::nullopt;
}

std::shared_ptr<const PrecompiledCharsMap> charsMapOf(const SpmNormalizerSpec& spec,
                                                      const std::string& path) {
    if (spec.precompiledCharsmap.empty()) return nullptr;
    return std::make_shared<const PrecompiledCharsMap>(spec.precompiledCharsmap, path);
}

}  // namespace

std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::filesystem::path& tokenizerModelPath) {
    const std::string path = tokenizerModelPath.string();
    const std::string bytes = io::readSmallFile(tokenizerModelPath, kMaxModelFileBytes);
    SpmModelProto proto = parseSentencePieceModel(bytes, path);
    const SpmTrainerSpec& trainer = proto.trainerSpec;

    const char* kindName = nullptr;
    if (trainer.modelType == static_cast<int32_t>(SpmTrainerSpec::ModelType::Unigram)) kindName = "unigram";
    if (trainer.modelType == static_cast<int32_t>(SpmTrainerSpec::ModelType::Bpe)) kindName = "BPE";
    if (kindName == nullptr) {
        const char* name = trainer.modelType == 3 ? "WORD" : trainer.modelType == 4 ? "CHAR" : nullptr;
        fail(ErrorCode::Unsupported, path,
             "SentencePiece model type " + (name ? std::string(name) : std::to_string(trainer.modelType)) +
                 " is not supported (only unigram and BPE are)");
    }

    auto vocab = std::make_shared<Vocabulary>(std::move(proto.pieces), path);
    checkSpecialPieces(*vocab, trainer, path);
    int32_t unkId = -1;
    std::vector<std::pair<std::string_view, int32_t>> userDefined;
    for (int32_t id = 0; id < vocab->size(); ++id) {
        if (vocab->type(id) == PieceType::Unknown) unkId = id;
        if (vocab->type(id) == PieceType::UserDefined) userDefined.emplace_back(vocab->piece(id), id);
    }
    auto protectedPieces = std::make_shared<const PieceTrie>(std::move(userDefined));

    const SpmNormalizerSpec& spec = proto.normalizerSpec;
    TokenizerParts parts;
    parts.vocabulary = vocab;
    parts.normalizer = std::make_unique<SentencePieceNormalizer>(
        SentencePieceNormalizerOptions{spec.addDummyPrefix, spec.removeExtraWhitespaces,
                                       spec.escapeWhitespaces, trainer.treatWhitespaceAsSuffix},
        charsMapOf(spec, path), protectedPieces);

    // Unknown text: byte pieces with byte_fallback, else one <unk> per run (PopulateSentencePieceText).
    const UnknownPolicy unknown{unkId, /*fuseUnknown=*/true, trainer.byteFallback};
    if (trainer.modelType == static_cast<int32_t>(SpmTrainerSpec::ModelType::Unigram)) {
        parts.model = std::make_unique<UnigramModel>(vocab, UnigramOptions{false, unknown});
    } else {
        parts.model = std::make_unique<SentencePieceBpeModel>(vocab, protectedPieces, unknown);
    }

    std::unique_ptr<SentencePieceNormalizer> denormalizer;
    if (proto.denormalizerSpec && !proto.denormalizerSpec->precompiledCharsmap.empty()) {
        const SpmNormalizerSpec& d = *proto.denormalizerSpec;
        denormalizer = std::make_unique<SentencePieceNormalizer>(
            SentencePieceNormalizerOptions{d.addDummyPrefix, d.removeExtraWhitespaces, d.escapeWhitespaces,
                                           false},
            charsMapOf(d, path), nullptr);
    }
    SentencePieceDecoderOptions decoderOptions;
    decoderOptions.addDummyPrefix = spec.addDummyPrefix;
    decoderOptions.removeExtraWhitespaces = spec.removeExtraWhitespaces;
    if (trainer.unkSurface) decoderOptions.unknownSurface = *trainer.unkSurface;
    parts.decoder = std::make_unique<SentencePieceDecoder>(vocab, decoderOptions, std::move(denormalizer));

    parts.bosId = controlPieceId(*vocab, trainer.bosPiece, "<s>");
    parts.eosId = controlPieceId(*vocab, trainer.eosPiece, "</s>");
    parts.description =
        std::string("SentencePiece ") + kindName + (trainer.byteFallback ? " (byte fallback)" : "") + ", " +
        std::to_string(vocab->size()) + " pieces (" + tokenizerModelPath.filename().string() + ")";
    return std::make_unique<PipelineTokenizer>(std::move(parts));
}

}  // namespace dha::tok
