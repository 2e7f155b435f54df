// Ids back to text the way SentencePiece 0.1.97 decodes them.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/pipeline_stages.h"
#include "tokenizer/sentencepiece_normalizer.h"
#include "tokenizer/vocabulary.h"

namespace dha::tok {

struct SentencePieceDecoderOptions {
    bool addDummyPrefix = true;
    bool removeExtraWhitespaces = true;
    std::string unknownSurface = " \xE2\x81\x87 ";  // " ⁇ "
};

class SentencePieceDecoder : public IdDecoder {
public:
    // `denormalizer` may be null; when set it rewrites the decoded text (NormalizerSpec denormalizer_spec).
    SentencePieceDecoder(std::shared_ptr<const Vocabulary> vocabulary, SentencePieceDecoderOptions options,
                         std::unique_ptr<SentencePieceNormalizer> denormalizer);
    std::string decode(const std::vector<int32_t>& ids) const override;

private:
    std::shared_ptr<const Vocabulary> m_vocabulary;
    SentencePieceDecoderOptions m_options;
    std::unique_ptr<SentencePieceNormalizer> m_denormalizer;
};

// Appends `bytes` as UTF-8 text; each byte of a malformed sequence becomes U+FFFD (SentencePiece and
// Hugging Face's ByteFallback decoder agree on this).
void appendBytesAsText(std::string& out, std::string_view bytes);

}  // namespace dha::tok
