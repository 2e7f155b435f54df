// tokenizer.json: Llama-style files converted from the .model fixtures encode and decode exactly as the
// .model does; byte-level (Llama 3) files, added tokens and BOS/EOS discovery behave as Hugging Face's do.
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "test_registry.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/sentencepiece_decoder.h"
#include "tokenizer/token_decoders.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_support.h"

using namespace dha::tok;
using dha::tok::test::fixturePath;
using dha::tok::test::JsonFlavor;
using dha::tok::test::printable;
using Json = nlohmann::json;

Q_DECLARE_METATYPE(std::vector<std::string>)

namespace {

struct Flavor {
    const char* name;
    const char* model;
    JsonFlavor flavor;
};
const Flavor kFlavors[] = {
    {"llama bpe", "bpe_bytefallback", JsonFlavor::LlamaBpe},
    {"llama unigram", "unigram_identity", JsonFlavor::LlamaUnigram},
    {"spm unigram nfkc", "unigram_nfkc", JsonFlavor::SpmUnigram},
};

std::unique_ptr<Tokenizer> loadJsonText(const QTemporaryDir& dir, const std::string& text,
                                        const char* name = "tokenizer.json") {
    const auto path = std::filesystem::path(dir.path().toStdString()) / name;
    if (!test::writeTextFile(path, text)) return nullptr;
    return loadTokenizerJson(path);
}

// A small Llama-3 style byte-level tokenizer: 256 byte characters, a few merges, two special tokens.
std::string byteLevelJson(bool ignoreMerges) {
    Json vocab = Json::object();
    int next = 0;
    for (int b = 0; b < 256; ++b) vocab[byteLevelEncode(std::string(1, static_cast<char>(b)))] = next++;
    const std::vector<std::pair<std::string, std::string>> merges{
        {"H", "e"},          {"l", "l"}, {"ll", "o"},           {"He", "llo"}, {"\xC4\xA0", "w"}, {"o", "r"},
        {"\xC4\xA0w", "or"}, {"l", "d"}, {"\xC4\xA0wor", "ld"}, {"1", "2"},    {"12", "3"}};
    Json mergeList = Json::array();
    for (const auto& [left, right] : merges) {
        vocab[left + right] = next++;
        mergeList.push_back(Json::array({left, right}));
    }
    const Json special = {{"single_word", false},
                          {"lstrip", false},
                          {"rstrip", false},
                          {"normalized", false},
                          {"special", true}};
    Json begin = special, end = special;
    begin["id"] = next;
    begin["content"] = "<|begin_of_text|>";
    end["id"] = next + 1;
    end["content"] = "<|end_of_text|>";
    const std::string regex =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    const Json root = {
        {"version", "1.0"},
        {"added_tokens", Json::array({begin, end})},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers", Json::array({{{"type", "Split"},
                                          {"pattern", {{"Regex", regex}}},
                                          {"behavior", "Isolated"},
                                          {"invert", false}},
                                         {{"type", "ByteLevel"},
                                          {"add_prefix_space", false},
                                          {"trim_offsets", true},
                                          {"use_regex", false}}})}}},
        {"post_processor", nullptr},
        {"decoder",
         {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", ignoreMerges},
          {"vocab", vocab},
          {"merges", mergeList}}}};
    return root.dump();
}

int32_t idOf(const Tokenizer& tokenizer, const std::string& piece) {
    for (int32_t id = 0; id < tokenizer.vocabSize(); ++id) {
        if (tokenizer.pieceOf(id) == piece) return id;
    }
    return -1;
}

}  // namespace

class TokenizerJsonTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void encodesAsTheModelFile_data();
    void encodesAsTheModelFile();
    void decodesAsTheModelFile();
    void addedTokensSplitBeforeNormalization();
    void findsBosAndEos();
    void byteLevelTokenizerEncodesAndRoundTrips();
    void byteLevelMergesFollowRanks();
    void splitPatternsMatchTheRegexes_data();
    void splitPatternsMatchTheRegexes();
    void metaspacePrependSchemes_data();
    void metaspacePrependSchemes();
    void byteFallbackDecoderReplacesInvalidRuns();
    void utf8LossyReplacesMaximalSubparts_data();
    void utf8LossyReplacesMaximalSubparts();
};

void TokenizerJsonTest::encodesAsTheModelFile_data() {
    QTest::addColumn<int>("flavor");
    QTest::addColumn<QByteArray>("text");
    const auto strings = test::readEscapedLines("parity_strings.txt");
    for (int f = 0; f < 3; ++f) {
        for (size_t i = 0; i < strings.size(); ++i) {
            const std::string& text = strings[i];
            // Hugging Face matches special and user-defined tokens in the text itself (SentencePiece does
            // not), and its strings are valid UTF-8.
            if (text.find('<') != std::string::npos || !isValidUtf8(text)) continue;
            QTest::addRow("%s line %d", kFlavors[f].name, static_cast<int>(i + 1))
                << f << QByteArray::fromStdString(text);
        }
    }
}

void TokenizerJsonTest::encodesAsTheModelFile() {
    QFETCH(int, flavor);
    QFETCH(QByteArray, text);
    const Flavor& f = kFlavors[flavor];
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto modelPath = fixturePath(std::string(f.model) + ".model");
    const auto json = loadJsonText(dir, test::tokenizerJsonFromModel(modelPath, f.flavor));
    QVERIFY(json);
    const auto model = loadSentencePieceModel(modelPath);
    QCOMPARE(json->vocabSize(), model->vocabSize());
    const std::string input = text.toStdString();
    const auto expected = model->encode(input);
    const auto actual = json->encode(input);
    if (actual != expected) {
        std::string a, e;
        for (const int32_t id : actual) a += json->pieceOf(id) + " ";
        for (const int32_t id : expected) e += model->pieceOf(id) + " ";
        QFAIL(qPrintable(
            QString::fromStdString("text '" + printable(input) + "': json " + a + "| model " + e)));
    }
}

void TokenizerJsonTest::decodesAsTheModelFile() {
    // Llama's decoder chain (Replace, ByteFallback, Fuse, Strip) reproduces SentencePiece's decoding.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto modelPath = fixturePath("bpe_bytefallback.model");
    const auto json = loadJsonText(dir, test::tokenizerJsonFromModel(modelPath, JsonFlavor::LlamaBpe));
    QVERIFY(json);
    const auto model = loadSentencePieceModel(modelPath);
    for (const std::string& text : test::readEscapedLines("parity_strings.txt")) {
        if (text.find('<') != std::string::npos || !isValidUtf8(text)) continue;
        const auto ids = model->encode(text);
        QCOMPARE(QString::fromStdString(printable(json->decode(ids))),
                 QString::fromStdString(printable(model->decode(ids))));
    }
    // Special tokens are skipped.
    const auto ids = model->encode("Hello");
    std::vector<int32_t> framed{1};
    framed.insert(framed.end(), ids.begin(), ids.end());
    framed.push_back(2);
    QCOMPARE(json->decode(framed), std::string("Hello"));
}

void TokenizerJsonTest::addedTokensSplitBeforeNormalization() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto json = loadJsonText(
        dir, test::tokenizerJsonFromModel(fixturePath("bpe_bytefallback.model"), JsonFlavor::LlamaBpe));
    QVERIFY(json);
    // Each text segment is normalized on its own, so "world" gets its own "▁" (Hugging Face's legacy Llama).
    std::vector<int32_t> expected = json->encode("Hello");
    expected.push_back(1);
    const auto world = json->encode("world");
    expected.insert(expected.end(), world.begin(), world.end());
    expected.push_back(2);
    QCOMPARE(json->encode("Hello<s>world</s>"), expected);
    QCOMPARE(json->encode("<s>"), std::vector<int32_t>{1});
}

void TokenizerJsonTest::findsBosAndEos() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string text =
        test::tokenizerJsonFromModel(fixturePath("bpe_bytefallback.model"), JsonFlavor::LlamaBpe);
    // BOS from the post-processor template, EOS from the conventional name "</s>".
    auto json = loadJsonText(dir, text);
    QVERIFY(json);
    QVERIFY(json->bosId() == std::optional<int32_t>(1));
    QVERIFY(json->eosId() == std::optional<int32_t>(2));
    // tokenizer_config.json takes precedence; null means "none".
    const auto root = std::filesystem::path(dir.path().toStdString());
    QVERIFY(test::writeTextFile(root / "tokenizer_config.json",
                                R"({"bos_token": null, "eos_token": {"content": "<s>", "special": true}})"));
    json = loadJsonText(dir, text);
    QVERIFY(!json->bosId());
    QVERIFY(json->eosId() == std::optional<int32_t>(1));
    // A byte-level file without template or config: the Llama 3 names.
    QVERIFY(test::writeTextFile(root / "tokenizer_config.json", "{}"));
    json = loadJsonText(dir, byteLevelJson(true));
    QVERIFY(json->bosId() == std::optional<int32_t>(idOf(*json, "<|begin_of_text|>")));
    QVERIFY(json->eosId() == std::optional<int32_t>(idOf(*json, "<|end_of_text|>")));
    // A malformed config is an error naming it.
    QVERIFY(test::writeTextFile(root / "tokenizer_config.json", R"({"bos_token": 5})"));
    try {
        loadJsonText(dir, text);
        QFAIL("a malformed tokenizer_config.json was accepted");
    } catch (const dha::Exception& error) {
        QVERIFY2(error.error().path == (root / "tokenizer_config.json").string(), error.what());
    }
}

void TokenizerJsonTest::byteLevelTokenizerEncodesAndRoundTrips() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto json = loadJsonText(dir, byteLevelJson(true));
    QVERIFY(json);
    QCOMPARE(json->description(), std::string("Hugging Face BPE, 269 pieces (tokenizer.json)"));
    const int32_t hello = idOf(*json, "Hello");
    const int32_t world = idOf(*json, "\xC4\xA0world");
    QCOMPARE(json->encode("Hello world"), (std::vector<int32_t>{hello, world}));
    // \p{N}{1,3}: "12345" is "123" then "45"; "4" and "5" are single bytes.
    QCOMPARE(json->encode("12345"), (std::vector<int32_t>{idOf(*json, "123"), '4', '5'}));
    const int32_t begin = idOf(*json, "<|begin_of_text|>");
    QCOMPARE(json->encode("<|begin_of_text|>Hello"), (std::vector<int32_t>{begin, hello}));
    for (const std::string text :
         {"Hello world", "  spaces\tand\ttabs\n\nnew lines  ", "Café 東京 😀 I'm", "x\r\ny", ""}) {
        QCOMPARE(QString::fromStdString(json->decode(json->encode(text))), QString::fromStdString(text));
    }
    QCOMPARE(json->decode({begin, hello}), std::string("Hello"));  // special tokens are skipped
}

void TokenizerJsonTest::byteLevelMergesFollowRanks() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto json = loadJsonText(dir, byteLevelJson(false));
    QVERIFY(json);
    // Without ignore_merges "Hello" is still reached through the ranked merges H+e, l+l, ll+o, He+llo.
    QCOMPARE(json->encode("Hello"), std::vector<int32_t>{idOf(*json, "Hello")});
    // "Hel" cannot reach "Hello": H+e merges first (rank 0), then nothing joins "He" and "l".
    QCOMPARE(json->encode("Hel"), (std::vector<int32_t>{idOf(*json, "He"), 'l'}));
}

void TokenizerJsonTest::splitPatternsMatchTheRegexes_data() {
    QTest::addColumn<int>("pattern");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("pieces");
    const int llama3 = static_cast<int>(SplitPattern::Llama3);
    const int gpt2 = static_cast<int>(SplitPattern::Gpt2);
    const int qwen2 = static_cast<int>(SplitPattern::Qwen2);
    QTest::newRow("llama3 words") << llama3 << "Hello world" << QStringList{"Hello", " world"};
    QTest::newRow("llama3 contraction") << llama3 << "I'm HERE'S" << QStringList{"I", "'m", " HERE", "'S"};
    QTest::newRow("llama3 digits") << llama3 << "12345 x7" << QStringList{"123", "45", " x", "7"};
    QTest::newRow("llama3 spaces") << llama3 << "a  b   " << QStringList{"a", " ", " b", "   "};
    QTest::newRow("llama3 newlines") << llama3 << "a\n\nb" << QStringList{"a", "\n\n", "b"};
    QTest::newRow("llama3 spaces newline") << llama3 << "  \n  x" << QStringList{"  \n", " ", " x"};
    QTest::newRow("llama3 punctuation")
        << llama3 << "x!!\n(y)...z" << QStringList{"x", "!!\n", "(y", ")...", "z"};
    QTest::newRow("llama3 unicode") << llama3 << "東京 Ωmega ½" << QStringList{"東京", " Ωmega", " ", "½"};
    QTest::newRow("gpt2 contraction") << gpt2 << "HERE'S it's" << QStringList{"HERE", "'", "S", " it", "'s"};
    QTest::newRow("gpt2 digits") << gpt2 << "12345 x7" << QStringList{"12345", " x", "7"};
    QTest::newRow("gpt2 punctuation") << gpt2 << "(y)  z" << QStringList{"(", "y", ")", " ", " z"};
    QTest::newRow("qwen2 digits") << qwen2 << "2024" << QStringList{"2", "0", "2", "4"};
}

void TokenizerJsonTest::splitPatternsMatchTheRegexes() {
    QFETCH(int, pattern);
    QFETCH(QString, text);
    QFETCH(QStringList, pieces);
    std::vector<std::string> actual;
    splitByPattern(text.toStdString(), static_cast<SplitPattern>(pattern), actual);
    QStringList actualList;
    for (const auto& piece : actual) actualList << QString::fromStdString(piece);
    QCOMPARE(actualList, pieces);
}

void TokenizerJsonTest::metaspacePrependSchemes_data() {
    QTest::addColumn<int>("scheme");
    QTest::addColumn<bool>("split");
    QTest::addColumn<bool>("atStart");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("words");
    const int always = static_cast<int>(PrependScheme::Always);
    const int first = static_cast<int>(PrependScheme::First);
    const int never = static_cast<int>(PrependScheme::Never);
    QTest::newRow("always") << always << true << false << "a b" << QStringList{"▁a", "▁b"};
    QTest::newRow("always, leading space") << always << true << true << " a" << QStringList{"▁a"};
    QTest::newRow("runs split per mark") << always << true << true << "a  b" << QStringList{"▁a", "▁", "▁b"};
    QTest::newRow("first at start") << first << false << true << "a b" << QStringList{"▁a▁b"};
    QTest::newRow("first later") << first << false << false << "a b" << QStringList{"a▁b"};
    QTest::newRow("never") << never << true << true << "a b " << QStringList{"a", "▁b", "▁"};
}

void TokenizerJsonTest::metaspacePrependSchemes() {
    QFETCH(int, scheme);
    QFETCH(bool, split);
    QFETCH(bool, atStart);
    QFETCH(QString, text);
    QFETCH(QStringList, words);
    const MetaspacePreTokenizer metaspace(std::string(kMetaSpace), static_cast<PrependScheme>(scheme), split);
    std::vector<std::string> actual;
    metaspace.split(text.toStdString(), atStart, actual);
    QStringList actualList;
    for (const auto& word : actual) actualList << QString::fromStdString(word);
    QCOMPARE(actualList, words);
}

void TokenizerJsonTest::byteFallbackDecoderReplacesInvalidRuns() {
    const JsonFields fields("test.json");
    const auto step = decoderStepFromJson(Json{{"type", "ByteFallback"}}, fields, "decoder");
    std::vector<std::string> tokens{"a",      "<0xE6>", "<0x9D>", "<0xB1>", "b",
                                    "<0xE6>", "<0x9D>", "c",      "<0x41>"};
    step->apply(tokens);
    // A whole valid run becomes its text; an invalid run is one U+FFFD per byte (unlike SentencePiece,
    // which decodes run by character).
    QCOMPARE(tokens,
             (std::vector<std::string>{"a", "\xE6\x9D\xB1", "b", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "c", "A"}));
    std::string spm;
    appendBytesAsText(spm,
                      "\xE6\x9D"
                      "A");
    QCOMPARE(spm, std::string("\xEF\xBF\xBD\xEF\xBF\xBD"
                              "A"));
}

void TokenizerJsonTest::utf8LossyReplacesMaximalSubparts_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QByteArray>("text");
    const QByteArray r = "\xEF\xBF\xBD";
    QTest::newRow("valid") << QByteArray("a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80")
                           << QByteArray("a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80");
    QTest::newRow("truncated 3-byte") << QByteArray(
                                             "\xE6\x9D"
                                             "a")
                                      << r + "a";
    QTest::newRow("stray continuation") << QByteArray("\x80\x80") << r + r;
    QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80") << r + r + r;
    QTest::newRow("overlong") << QByteArray("\xC0\xAF") << r + r;
    QTest::newRow("truncated 4-byte at end") << QByteArray("x\xF0\x9F\x98") << QByteArray("x") + r;
}

void TokenizerJsonTest::utf8LossyReplacesMaximalSubparts() {
    QFETCH(QByteArray, bytes);
    QFETCH(QByteArray, text);
    QCOMPARE(QByteArray::fromStdString(utf8Lossy(bytes.toStdString())), text);
}

DHA_TEST_SUITE(TokenizerJsonTest)
#include "tokenizer_json_test.moc"
