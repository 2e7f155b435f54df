// Shared helpers of the tokenizer tests: fixture paths, parity strings, SentencePiece tool processes and a
// ModelProto -> tokenizer.json converter that writes what Hugging Face's converters write.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dha::tok::test {

// tests/data/tokenizers/<name>
std::filesystem::path fixturePath(const std::string& name);
// The three committed SentencePiece models.
const std::vector<std::string>& fixtureModels();

// Lines of a fixture text file with the escapes \t \r \\ \xHH decoded (see
// scripts/tokenizer_fixture_escapes.py).
std::vector<std::string> readEscapedLines(const std::string& fixtureName);
// Lines of space-separated ids.
std::vector<std::vector<int32_t>> readIdLines(const std::string& fixtureName);
std::string printable(const std::string& text);  // for failure messages

// Runs a SentencePiece command-line tool with `input` on stdin and returns stdout split into lines. Fails the
// current test (and returns false) when the tool is not on PATH, saying which package to install.
bool runSpmTool(const QString& tool, const QStringList& arguments, const QByteArray& input,
                std::vector<std::string>& outputLines);

// Protobuf wire-format writer for hand-made ModelProtos.
class Proto {
public:
    Proto& varint(uint32_t field, uint64_t value);
    Proto& bytes(uint32_t field, const std::string& value);
    Proto& message(uint32_t field, const Proto& value) { return bytes(field, value.m_bytes); }
    Proto& float32(uint32_t field, float value);
    Proto& append(const std::string& rawBytes);
    const std::string& str() const { return m_bytes; }

private:
    void tag(uint32_t field, int wire);
    void raw(uint64_t value);
    std::string m_bytes;
};

// A ModelProto.SentencePiece message.
Proto piece(const std::string& text, float score, int type);

enum class JsonFlavor {
    LlamaBpe,      // LlamaConverter (legacy): Prepend + Replace normalizer, BPE with byte fallback, Llama
                   // decoders
    LlamaUnigram,  // the same normalizer and decoders around a Unigram model
    SpmUnigram,    // SpmConverter: Precompiled + Strip + Replace(" {2,}") normalizer, Metaspace pre-tokenizer
};
// Converts a .model into an equivalent tokenizer.json text (vocabulary, merges/scores, added tokens).
std::string tokenizerJsonFromModel(const std::filesystem::path& modelPath, JsonFlavor flavor);
// Writes `text` to `path` (creating it); fails the test on error.
bool writeTextFile(const std::filesystem::path& path, const std::string& text);

}  // namespace dha::tok::test
