// SentencePieceProcessor::Decode of 0.1.97: control pieces vanish, <unk> becomes its surface, runs of byte
// pieces are reassembled into UTF-8, U+2581 becomes a space and the leading dummy-prefix space is dropped.
#include "tokenizer/sentencepiece_decoder.h"

#include "tokenizer/utf8.h"

namespace dha::tok {

void appendBytesAsText(std::string& out, std::string_view bytes) {
    while (!bytes.empty()) {
        size_t length = 0;
        if (startsWithValidUtf8(bytes, &length)) {
            out.append(bytes.substr(0, length));
        } else {
            out.append(kReplacementUtf8);
        }
        bytes.remove_prefix(length);
    }
}

SentencePieceDecoder::SentencePieceDecoder(std::shared_ptr<const Vocabulary> vocabulary,
                                           SentencePieceDecoderOptions options,
                                           std::unique_ptr<SentencePieceNormalizer> denormalizer)
    : m_vocabulary(std::move(vocabulary)),
      m_options(std::move(options)),
      m_denormalizer(std::move(denormalizer)) {}

std::string SentencePieceDecoder::decode(const std::vector<int32_t>& ids) const {
    const Vocabulary& vocab = *m_vocabulary;
    std::string text;
    std::string pendingBytes;
    bool expectLeadingSpace = true;  // the first piece may start with the dummy-prefix U+2581
    bool leadingSpaceSeen = false;
    for (const int32_t id : ids) {
        const PieceType type = vocab.type(id);
        if (type == PieceType::Byte) {
            pendingBytes += static_cast<char>(bytePieceValue(vocab.piece(id)));
            continue;
        }
        appendBytesAsText(text, pendingBytes);
        pendingBytes.clear();
        if (leadingSpaceSeen || !text.empty()) expectLeadingSpace = false;

        leadingSpaceSeen = false;
        if (type == PieceType::Control) continue;
        if (type == PieceType::Unknown) {
            text += m_options.unknownSurface;
            continue;
        }
        std::string_view piece = vocab.piece(id);
        if (expectLeadingSpace && (m_options.addDummyPrefix || m_options.removeExtraWhitespaces)) {
            if (piece.substr(0, kMetaSpace.size()) == kMetaSpace) {
                piece.remove_prefix(kMetaSpace.size());
                // With whitespace removal every leading space goes, so keep expecting one.
                leadingSpaceSeen = !m_options.removeExtraWhitespaces;
            }
        }
        for (size_t i = 0; i < piece.size();) {
            if (piece.substr(i, kMetaSpace.size()) == kMetaSpace) {
                text += ' ';
                i += kMetaSpace.size();
            } else {
                text += piece[i++];
            }
        }
    }
    appendBytesAsText(text, pendingBytes);
    if (m_denormalizer) text = m_denormalizer->normalize(text);
    return text;
}

}  // namespace dha::tok
