// GPT-2 style byte-level BPE support: the byte <-> printable-character table, the ByteLevel pre-tokenizer,
// the Split pre-tokenizer for the known GPT-2 / Llama-3 / Qwen2 regexes, and the ByteLevel decoder.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/json_fields.h"
#include "tokenizer/pipeline_stages.h"
#include "tokenizer/token_decoders.h"

namespace dha::tok {

// The word-splitting regexes of byte-level tokenizers, matched by hand (no regex engine is linked).
enum class SplitPattern {
    Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Llama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
             // ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,   // as Llama3 but \p{N} (one number character per piece)
};

// Splits `text` into the matches of `pattern` (and any unmatched gaps), in order (behavior "Isolated").
void splitByPattern(std::string_view text, SplitPattern pattern, std::vector<std::string>& pieces);

// Each byte of `text` as its printable stand-in character (bytes_to_unicode of GPT-2).
std::string byteLevelEncode(std::string_view text);

// A "ByteLevel" or "Split" pre-tokenizer object of tokenizer.json.
std::unique_ptr<PreTokenizer> byteLevelStageFromJson(const std::string& type, const Json& value,
                                                     const JsonFields& fields, const std::string& where);
// The ByteLevel decoder: stand-in characters back to bytes, then UTF-8 with U+FFFD for malformed parts.
std::unique_ptr<DecoderStep> byteLevelDecoderStep();

// Bytes to text as Rust's String::from_utf8_lossy: one U+FFFD per maximal malformed subpart.
std::string utf8Lossy(std::string_view bytes);

}  // namespace dha::tok
