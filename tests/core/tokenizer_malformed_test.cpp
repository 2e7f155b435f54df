// Malformed and unsupported tokenizer files: each gives one dha::Exception whose description names the file
// and the problem; a valid control file proves the builders themselves are sound.
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "test_registry.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_support.h"

using namespace dha::tok;
using dha::tok::test::Proto;
using Json = nlohmann::json;

Q_DECLARE_METATYPE(dha::ErrorCode)

namespace {

using dha::tok::test::piece;

// A valid unigram ModelProto with identity normalization; `extraPieces` are appended.
std::string modelWith(const std::vector<Proto>& extraPieces, const Proto& trainer = Proto().varint(3, 1),
                      const Proto& normalizer = Proto().bytes(1, "identity"), bool withUnk = true) {
    Proto model;
    if (withUnk) model.message(1, piece("<unk>", 0, 2));
    model.message(1, piece("<s>", 0, 3)).message(1, piece("</s>", 0, 3));
    model.message(1, piece("\xE2\x96\x81", -1, 1))
        .message(1, piece("a", -2, 1))
        .message(1, piece("b", -3, 1));
    for (const Proto& extra : extraPieces) model.message(1, extra);
    model.message(2, trainer).message(3, normalizer);
    return model.str();
}

// A tiny darts-clone trie whose only rule's leaf value points far outside the replacement strings.
std::string charsmapWithBadLeaf() {
    std::vector<uint32_t> units(0x61, 0);
    units[0] = 1u << 10;             // root: offset 1, so the child for 'a' sits at 0 ^ 1 ^ 0x61 = 0x60
    units[0x60] = 0x61 | (1u << 8);  // label 'a', has a leaf, offset 0: the leaf is this very unit
    std::string blob;
    const uint32_t trieBytes = static_cast<uint32_t>(units.size() * 4);
    for (int i = 0; i < 4; ++i) blob += static_cast<char>((trieBytes >> (8 * i)) & 0xFF);
    for (const uint32_t unit : units) {
        for (int i = 0; i < 4; ++i) blob += static_cast<char>((unit >> (8 * i)) & 0xFF);
    }
    return blob + std::string("b\0", 2);
}

Json validJson() {
    return {{"version", "1.0"},
            {"added_tokens",
             Json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}}})},
            {"normalizer", nullptr},
            {"pre_tokenizer", nullptr},
            {"decoder", nullptr},
            {"model",
             {{"type", "BPE"},
              {"unk_token", "<unk>"},
              {"vocab", {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}}},
              {"merges", Json::array({"a b"})}}}};
}

template <typename Edit>
QByteArray jsonWith(Edit edit) {
    Json root = validJson();
    edit(root);
    return QByteArray::fromStdString(root.dump());
}

void expectFailure(const std::filesystem::path& path, bool json, dha::ErrorCode code,
                   const QString& fragment) {
    try {
        if (json) {
            loadTokenizerJson(path);
        } else {
            loadSentencePieceModel(path);
        }
        QFAIL("the file was accepted");
    } catch (const dha::Exception& error) {
        const QString described = QString::fromStdString(error.error().describe());
        QVERIFY2(described.startsWith(QString::fromStdString(path.string()) + ": "), qPrintable(described));
        QVERIFY2(described.contains(fragment), qPrintable(described));
        QVERIFY2(error.error().code == code, qPrintable(described));
    }
}

}  // namespace

class TokenizerMalformedTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void validControlFilesLoad();
    void rejectsMalformedModel_data();
    void rejectsMalformedModel();
    void rejectsMalformedJson_data();
    void rejectsMalformedJson();
    void rejectsOversizedFiles();
};

void TokenizerMalformedTest::validControlFilesLoad() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path root = dir.path().toStdString();
    QVERIFY(test::writeTextFile(root / "tokenizer.model", modelWith({})));
    const auto model = loadSentencePieceModel(root / "tokenizer.model");
    QCOMPARE(model->encode("ab a"), (std::vector<int32_t>{3, 4, 5, 3, 4}));
    QCOMPARE(model->decode(model->encode("ab a")), std::string("ab a"));
    QVERIFY(test::writeTextFile(root / "tokenizer.json", validJson().dump()));
    const auto json = loadTokenizerJson(root / "tokenizer.json");
    QCOMPARE(json->encode("abxa"), (std::vector<int32_t>{3, 0, 1}));
}

void TokenizerMalformedTest::rejectsMalformedModel_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<dha::ErrorCode>("code");
    QTest::addColumn<QString>("fragment");
    const auto invalid = dha::ErrorCode::InvalidInput;
    const auto model = [](const std::string& bytes) { return QByteArray::fromStdString(bytes); };
    const std::string real = dha::io::readSmallFile(test::fixturePath("unigram_identity.model"), 1 << 20);

    QTest::newRow("truncated protobuf") << model(real.substr(0, real.size() / 2)) << invalid << "claims";
    QTest::newRow("truncated tag") << model(real.substr(0, 1) + "\x80") << invalid << "truncated";
    QTest::newRow("varint longer than 10 bytes")
        << model(modelWith({}) + Proto().append("\x20" + std::string(10, '\xFF') + "\x01").str()) << invalid
        << "longer than 10 bytes";
    QTest::newRow("varint overflow") << model(modelWith({}) +
                                              Proto().append("\x20" + std::string(9, '\xFF') + "\x7F").str())
                                     << invalid << "overflows 64 bits";
    QTest::newRow("length beyond buffer") << model(std::string("\x0A\xE8\x07"
                                                               "abc"))
                                          << invalid << "claims 1000 bytes but only 3 remain";
    QTest::newRow("truncated float") << model(modelWith({Proto().bytes(1, "c").append("\x15\x01\x02")}))
                                     << invalid << "truncated 32-bit value";
    QTest::newRow("group wire type") << model(std::string("\x0B")) << invalid << "unsupported wire type 3";
    QTest::newRow("field number zero")
        << model(std::string("\x02\x00", 2)) << invalid << "invalid field number 0";
    QTest::newRow("score with wrong wire type")
        << model(modelWith({Proto().bytes(1, "c").varint(2, 5)})) << invalid << "score is not a 32-bit float";
    QTest::newRow("piece with invalid UTF-8")
        << model(modelWith({piece("c\xFF", -4, 1)})) << invalid << "piece 6 is not valid UTF-8";
    QTest::newRow("empty piece") << model(modelWith({piece("", -4, 1)})) << invalid << "piece 6 is empty";
    QTest::newRow("absurdly long piece")
        << model(modelWith({piece(std::string(5000, 'c'), -4, 1)})) << invalid << "5000 bytes long";
    QTest::newRow("empty vocabulary")
        << model(Proto().message(2, Proto().varint(3, 1)).str()) << invalid << "the vocabulary is empty";
    QTest::newRow("duplicate piece") << model(modelWith({piece("a", -4, 1)})) << invalid
                                     << "is defined twice";
    QTest::newRow("no unk") << model(modelWith({}, Proto().varint(3, 1), Proto(), false)) << invalid
                            << "type UNKNOWN";
    QTest::newRow("two unk") << model(modelWith({piece("<unk2>", 0, 2)})) << invalid
                             << "both of type UNKNOWN";
    QTest::newRow("unknown piece type")
        << model(modelWith({piece("c", -4, 9)})) << invalid << "unknown piece type 9";
    QTest::newRow("non-finite score")
        << model(modelWith({piece("c", std::numeric_limits<float>::quiet_NaN(), 1)})) << invalid
        << "not a finite number";
    QTest::newRow("byte piece without byte_fallback")
        << model(modelWith({piece("<0x41>", 0, 6)})) << invalid << "byte_fallback is off";
    QTest::newRow("byte_fallback without all bytes")
        << model(modelWith({piece("<0x41>", 0, 6)}, Proto().varint(3, 2).varint(35, 1))) << invalid
        << "byte piece <0x00> is missing";
    QTest::newRow("malformed byte piece")
        << model(modelWith({piece("<0xZZ>", 0, 6)})) << invalid << "not of the form <0xXX>";
    QTest::newRow("word model") << model(modelWith({}, Proto().varint(3, 3))) << dha::ErrorCode::Unsupported
                                << "model type WORD is not supported";
    QTest::newRow("unknown model type")
        << model(modelWith({}, Proto().varint(3, 7))) << dha::ErrorCode::Unsupported << "model type 7";
    QTest::newRow("charsmap too short")
        << model(modelWith({}, Proto().varint(3, 1), Proto().bytes(2, std::string("\x01\x00", 2)))) << invalid
        << "precompiled_charsmap is malformed";
    QTest::newRow("charsmap trie beyond blob")
        << model(modelWith({}, Proto().varint(3, 1),
                           Proto().bytes(2, std::string("\xFF\xFF\x00\x00"
                                                        "abcd",
                                                        8))))
        << invalid << "its trie claims 65535 bytes";
    QTest::newRow("charsmap rule outside replacements")
        << model(modelWith({}, Proto().varint(3, 1), Proto().bytes(2, charsmapWithBadLeaf()))) << invalid
        << "a rule points outside the replacement strings";
}

void TokenizerMalformedTest::rejectsMalformedModel() {
    QFETCH(QByteArray, bytes);
    QFETCH(dha::ErrorCode, code);
    QFETCH(QString, fragment);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto path = std::filesystem::path(dir.path().toStdString()) / "tokenizer.model";
    QVERIFY(test::writeTextFile(path, bytes.toStdString()));
    expectFailure(path, false, code, fragment);
}

void TokenizerMalformedTest::rejectsMalformedJson_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<dha::ErrorCode>("code");
    QTest::addColumn<QString>("fragment");
    const auto invalid = dha::ErrorCode::InvalidInput;
    const auto unsupported = dha::ErrorCode::Unsupported;
    QTest::newRow("not JSON") << QByteArray("{\"model\": ") << invalid << "not valid JSON";
    QTest::newRow("not an object") << QByteArray("[1, 2]") << invalid << "top level: expected an object, got";
    QTest::newRow("no model") << QByteArray("{}") << invalid << "\"model\" is missing";
    QTest::newRow("unknown model type") << jsonWith([](Json& j) { j["model"]["type"] = "WordPiece"; })
                                        << unsupported << "the model type \"WordPiece\" is not supported";
    QTest::newRow("merge names unknown token")
        << jsonWith([](Json& j) { j["model"]["merges"] = {"a zz"}; }) << invalid
        << "model.merges[0]: the token 'zz' is not in the vocabulary";
    QTest::newRow("merged token missing") << jsonWith([](Json& j) { j["model"]["merges"] = {"b a"}; })
                                          << invalid << "the merged token 'ba' is not in the vocabulary";
    QTest::newRow("merge without separator") << jsonWith([](Json& j) { j["model"]["merges"] = {"ab"}; })
                                             << invalid << "two tokens separated by one space";
    QTest::newRow("merge pair of three") << jsonWith([](Json& j) {
        j["model"]["merges"] = {{"a", "b", "c"}};
    }) << invalid << "expected [left, right]";
    QTest::newRow("vocabulary id gap") << jsonWith([](Json& j) { j["model"]["vocab"]["ab"] = 7; })
                                       << unsupported << "vocabulary ids with gaps";
    QTest::newRow("vocabulary id twice")
        << jsonWith([](Json& j) { j["model"]["vocab"]["ab"] = 1; }) << invalid << "the id 1 is used twice";
    QTest::newRow("vocabulary id not integer") << jsonWith([](Json& j) { j["model"]["vocab"]["ab"] = "3"; })
                                               << invalid << "model.vocab['ab']: expected an integer, got";
    QTest::newRow("empty vocabulary") << jsonWith([](Json& j) {
        j["model"]["vocab"] = Json::object();
        j["model"]["merges"] = Json::array();
        j["model"].erase("unk_token");
        j["added_tokens"] = Json::array();
    }) << invalid << "the vocabulary is empty";
    QTest::newRow("unk_token missing") << jsonWith([](Json& j) { j["model"]["unk_token"] = "<oov>"; })
                                       << invalid << "the unk_token '<oov>' is not in the vocabulary";
    QTest::newRow("dropout") << jsonWith([](Json& j) { j["model"]["dropout"] = 0.1; }) << unsupported
                             << "BPE dropout";
    QTest::newRow("unigram score not a number") << jsonWith([](Json& j) {
        j["model"] = {{"type", "Unigram"},
                      {"unk_id", 0},
                      {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", "x"})})}};
    }) << invalid << "model.vocab[1][1]: expected a number, got";
    QTest::newRow("unigram unk_id outside") << jsonWith([](Json& j) {
        j["model"] = {{"type", "Unigram"},
                      {"unk_id", 9},
                      {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", -1.0})})}};
    }) << invalid << "model.unk_id: the id 9 is outside the vocabulary";
    QTest::newRow("unigram without unk_id") << jsonWith([](Json& j) {
        j["model"] = {{"type", "Unigram"},
                      {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", -1.0})})}};
    }) << unsupported << "a Unigram model without unk_id";
    QTest::newRow("NFKC normalizer") << jsonWith([](Json& j) {
        j["normalizer"] = {{"type", "NFKC"}};
    }) << unsupported << "normalizer: the normalizer \"NFKC\" is not supported";
    QTest::newRow("nested unsupported normalizer") << jsonWith([](Json& j) {
        j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Lowercase"}}}}};
    }) << unsupported << "normalizer.normalizers[0]: the normalizer \"Lowercase\"";
    QTest::newRow("unknown Replace regex") << jsonWith([](Json& j) {
        j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}};
    }) << unsupported << "the Replace regex";
    QTest::newRow("Precompiled not base64") << jsonWith([](Json& j) {
        j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "@@@"}};
    }) << invalid << "not valid base64";
    QTest::newRow("Whitespace pre-tokenizer") << jsonWith([](Json& j) {
        j["pre_tokenizer"] = {{"type", "Whitespace"}};
    }) << unsupported << "the pre-tokenizer \"Whitespace\" is not supported";
    QTest::newRow("unknown Split regex") << jsonWith([](Json& j) {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}, {"behavior", "Isolated"}};
    }) << unsupported << "the Split regex";
    QTest::newRow("Metaspace replacement of two characters") << jsonWith([](Json& j) {
        j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
    }) << invalid << "the replacement must be one character";
    QTest::newRow("WordPiece decoder") << jsonWith([](Json& j) {
        j["decoder"] = {{"type", "WordPiece"}};
    }) << unsupported << "the decoder \"WordPiece\" is not supported";
    QTest::newRow("added token content differs") << jsonWith([](Json& j) {
        j["added_tokens"] = {{{"id", 1}, {"content", "<s>"}, {"special", true}}};
    }) << invalid << "differs from the model's piece 'a'";
    QTest::newRow("added token id gap") << jsonWith([](Json& j) {
        j["added_tokens"] = {{{"id", 9}, {"content", "<s>"}, {"special", true}}};
    }) << unsupported << "expected id 4";
    QTest::newRow("single_word added token") << jsonWith([](Json& j) {
        j["added_tokens"] = {{{"id", 4}, {"content", "<s>"}, {"single_word", true}}};
    }) << unsupported << "single_word added tokens";
    QTest::newRow("added token without content") << jsonWith([](Json& j) {
        j["added_tokens"] = {{{"id", 4}}};
    }) << invalid << "added_tokens[0]: the member \"content\" is missing";
    QTest::newRow("nesting too deep")
        << QByteArray(std::string(100, '[').c_str()) << invalid << "nests deeper";
}

void TokenizerMalformedTest::rejectsMalformedJson() {
    QFETCH(QByteArray, bytes);
    QFETCH(dha::ErrorCode, code);
    QFETCH(QString, fragment);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto path = std::filesystem::path(dir.path().toStdString()) / "tokenizer.json";
    QVERIFY(test::writeTextFile(path, bytes.toStdString()));
    expectFailure(path, true, code, fragment);
}

void TokenizerMalformedTest::rejectsOversizedFiles() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
        const auto path = std::filesystem::path(dir.path().toStdString()) / name;
        QVERIFY(test::writeTextFile(path, ""));
        std::filesystem::resize_file(path, (64u << 20) + 1);  // sparse: no disk used
        expectFailure(path, std::string(name) == "tokenizer.json", dha::ErrorCode::InvalidInput,
                      "-byte limit");
    }
}

DHA_TEST_SUITE(TokenizerMalformedTest)
#include "tokenizer_malformed_test.moc"
