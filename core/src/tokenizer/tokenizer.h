// The tokenizer interface the engine codes against, and the loaders for tokenizer.model / tokenizer.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dha::tok {

// Loaded tokenizers are immutable: encode/decode may be called from several threads at once.
class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    // Token ids of `text`; never adds BOS/EOS.
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;
    // Text of `ids`; BOS/EOS/control (special) pieces are skipped. An id outside the vocabulary throws
    // dha::Exception (ErrorCode::Usage).
    virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
    virtual int vocabSize() const = 0;
    virtual std::optional<int32_t> bosId() const = 0;
    virtual std::optional<int32_t> eosId() const = 0;
    // The vocabulary string of `id` (for display); empty for an id outside the vocabulary.
    virtual std::string pieceOf(int32_t id) const = 0;
    // For example "SentencePiece unigram, 4096 pieces (tokenizer.model)".
    virtual std::string description() const = 0;
};

// Loads <modelDir>/tokenizer.model when present, else <modelDir>/tokenizer.json; errors name the file.
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& modelDir);
// A SentencePiece ModelProto (unigram or BPE), encoded exactly as SentencePiece 0.1.97 does.
std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::filesystem::path& tokenizerModelPath);
// A Hugging Face tokenizer.json (BPE or Unigram model, Llama-family normalizers, pre-tokenizers and
// decoders). BOS/EOS come from a tokenizer_config.json next to it when present, else from the post-processor
// template, else from the conventional special tokens "<s>" / "</s>".
std::unique_ptr<Tokenizer> loadTokenizerJson(const std::filesystem::path& tokenizerJsonPath);

}  // namespace dha::tok
