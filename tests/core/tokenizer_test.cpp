// SentencePiece parity: our encode/decode of the committed .model fixtures equals spm_encode/spm_decode, both
// against committed golden files and live (the tools of the Debian package `sentencepiece`).
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cstdio>
#include <fstream>
#include <random>

#include "dha/error.h"
#include "test_registry.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_support.h"

using namespace dha::tok;
using dha::tok::test::fixtureModels;
using dha::tok::test::fixturePath;
using dha::tok::test::printable;

namespace {

std::unique_ptr<Tokenizer> loadFixture(const std::string& model) {
    return loadSentencePieceModel(fixturePath(model + ".model"));
}

QString idsText(const std::vector<int32_t>& ids) {
    QStringList parts;
    for (const int32_t id : ids) parts << QString::number(id);
    return parts.join(' ');
}

QByteArray joinedLines(const std::vector<std::string>& lines) {
    QByteArray bytes;
    for (const std::string& line : lines) bytes += QByteArray::fromStdString(line) + '\n';
    return bytes;
}

// Deterministic id sequences (with runs of byte pieces, controls and <unk>) for decode parity.
std::vector<std::vector<int32_t>> randomIdSequences(int vocabSize, int count) {
    std::mt19937 generator(1234);
    std::uniform_int_distribution<int> length(0, 14);
    std::uniform_int_distribution<int> id(0, vocabSize - 1);
    std::vector<std::vector<int32_t>> sequences(static_cast<size_t>(count));
    for (auto& sequence : sequences) {
        const int n = length(generator);
        for (int i = 0; i < n; ++i) sequence.push_back(id(generator));
    }
    return sequences;
}

using test::piece;
using test::Proto;

// ModelProto bytes: <unk>, <s>, </s>, then `pieces`.
std::string handMadeModel(const std::vector<Proto>& pieces, const Proto& trainer, const Proto& normalizer) {
    Proto model;
    model.message(1, piece("<unk>", 0, 2)).message(1, piece("<s>", 0, 3)).message(1, piece("</s>", 0, 3));
    for (const Proto& p : pieces) model.message(1, p);
    return model.message(2, trainer).message(3, normalizer).str();
}

const std::string kSpace = "\xE2\x96\x81";  // U+2581

// A precompiled_charsmap with single-byte rules, laid out as darts-clone does: the root's children sit at
// 1 ^ byte, each child's leaf at byte. Rule bytes must not differ only in their lowest bit.
std::string singleByteCharsMap(const std::vector<std::pair<char, std::string>>& rules) {
    std::vector<uint32_t> units(256, 0);
    units[0] = 1u << 10;  // root: offset 1
    std::string replacements;
    for (const auto& [byte, replacement] : rules) {
        const auto label = static_cast<unsigned char>(byte);
        units[1u ^ label] = label | (1u << 8) | (1u << 10);                      // label, has leaf, offset 1
        units[label] = (1u << 31) | static_cast<uint32_t>(replacements.size());  // leaf: the replacement
        replacements += replacement + std::string(1, '\0');
    }
    std::string blob;
    const auto put = [&blob](uint32_t value) {
        for (int i = 0; i < 4; ++i) blob += static_cast<char>((value >> (8 * i)) & 0xFF);
    };
    put(static_cast<uint32_t>(units.size() * 4));
    for (const uint32_t unit : units) put(unit);
    return blob + replacements;
}

}  // namespace

class TokenizerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void encodeMatchesGoldenIds_data();
    void encodeMatchesGoldenIds();
    void decodeMatchesGoldenText_data();
    void decodeMatchesGoldenText();
    void encodeMatchesLiveSpmEncode_data();
    void encodeMatchesLiveSpmEncode();
    void decodeMatchesLiveSpmDecode_data();
    void decodeMatchesLiveSpmDecode();
    void handMadeModelsMatchLiveSpm_data();
    void handMadeModelsMatchLiveSpm();
    void byteFallbackBpeRoundTripsExactly();
    void newlinesFollowEachNormalization();
    void unknownRunsBecomeOneUnk();
    void userDefinedSymbolsStayWhole();
    void reportsVocabularyAndSpecialIds_data();
    void reportsVocabularyAndSpecialIds();
    void decodeSkipsControlPieces();
    void decodeRejectsIdsOutsideVocabulary();
    void emptyTextHasNoTokens();
    void loadTokenizerPrefersModelThenJson();
    void loadTokenizerNamesDirectoryWithoutTokenizer();
};

void TokenizerTest::encodeMatchesGoldenIds_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("line");
    const auto strings = test::readEscapedLines("parity_strings.txt");
    for (const std::string& model : fixtureModels()) {
        for (size_t i = 0; i < strings.size(); ++i) {
            QTest::addRow("%s line %d", model.c_str(), static_cast<int>(i + 1))
                << QString::fromStdString(model) << static_cast<int>(i);
        }
    }
}

void TokenizerTest::encodeMatchesGoldenIds() {
    QFETCH(QString, model);
    QFETCH(int, line);
    const auto strings = test::readEscapedLines("parity_strings.txt");
    const auto golden = test::readIdLines(model.toStdString() + ".ids.txt");
    QCOMPARE(golden.size(), strings.size());
    const auto tokenizer = loadFixture(model.toStdString());
    const std::string& text = strings[static_cast<size_t>(line)];
    const auto ids = tokenizer->encode(text);
    if (ids != golden[static_cast<size_t>(line)]) {
        QFAIL(qPrintable(QString("text '%1': ours %2, spm_encode %3")
                             .arg(QString::fromStdString(printable(text)), idsText(ids),
                                  idsText(golden[static_cast<size_t>(line)]))));
    }
}

void TokenizerTest::decodeMatchesGoldenText_data() { encodeMatchesGoldenIds_data(); }

void TokenizerTest::decodeMatchesGoldenText() {
    QFETCH(QString, model);
    QFETCH(int, line);
    const auto golden = test::readIdLines(model.toStdString() + ".ids.txt");
    const auto decoded = test::readEscapedLines(model.toStdString() + ".decoded.txt");
    QCOMPARE(decoded.size(), golden.size());
    const auto tokenizer = loadFixture(model.toStdString());
    const size_t index = static_cast<size_t>(line);
    QCOMPARE(QString::fromStdString(printable(tokenizer->decode(golden[index]))),
             QString::fromStdString(printable(decoded[index])));
    // decode(encode(x)) is what spm_decode(spm_encode(x)) gives.
    const auto strings = test::readEscapedLines("parity_strings.txt");
    QCOMPARE(QString::fromStdString(printable(tokenizer->decode(tokenizer->encode(strings[index])))),
             QString::fromStdString(printable(decoded[index])));
}

void TokenizerTest::encodeMatchesLiveSpmEncode_data() {
    QTest::addColumn<QString>("model");
    for (const std::string& model : fixtureModels())
        QTest::newRow(model.c_str()) << QString::fromStdString(model);
}

void TokenizerTest::encodeMatchesLiveSpmEncode() {
    QFETCH(QString, model);
    // The parity strings plus lines of a license text the models were trained on.
    auto strings = test::readEscapedLines("parity_strings.txt");
    std::ifstream license("/usr/share/common-licenses/Apache-2.0");
    for (std::string line; std::getline(license, line);) strings.push_back(line);
    const auto path = fixturePath(model.toStdString() + ".model");
    std::vector<std::string> expected;
    if (!test::runSpmTool("spm_encode",
                          {"--model=" + QString::fromStdString(path.string()), "--output_format=id"},
                          joinedLines(strings), expected)) {
        return;
    }
    QCOMPARE(expected.size(), strings.size());
    const auto tokenizer = loadSentencePieceModel(path);
    for (size_t i = 0; i < strings.size(); ++i) {
        const QString ours = idsText(tokenizer->encode(strings[i]));
        if (ours != QString::fromStdString(expected[i])) {
            QFAIL(qPrintable(QString("text '%1': ours %2, spm_encode %3")
                                 .arg(QString::fromStdString(printable(strings[i])), ours,
                                      QString::fromStdString(expected[i]))));
        }
    }
}

void TokenizerTest::decodeMatchesLiveSpmDecode_data() { encodeMatchesLiveSpmEncode_data(); }

void TokenizerTest::decodeMatchesLiveSpmDecode() {
    QFETCH(QString, model);
    const auto path = fixturePath(model.toStdString() + ".model");
    const auto tokenizer = loadSentencePieceModel(path);
    auto sequences = randomIdSequences(tokenizer->vocabSize(), 400);
    for (const auto& ids : test::readIdLines(model.toStdString() + ".ids.txt")) sequences.push_back(ids);
    QByteArray input;
    for (const auto& ids : sequences) input += idsText(ids).toUtf8() + '\n';
    std::vector<std::string> expected;
    if (!test::runSpmTool("spm_decode",
                          {"--model=" + QString::fromStdString(path.string()), "--input_format=id"}, input,
                          expected)) {
        return;
    }
    // spm_decode writes one line per input line; decoded text may itself contain a newline byte piece.
    std::string ours;
    for (const auto& ids : sequences) ours += tokenizer->decode(ids) + '\n';
    std::string theirs;
    for (const std::string& line : expected) theirs += line + '\n';
    QCOMPARE(QString::fromStdString(printable(ours)), QString::fromStdString(printable(theirs)));
}

void TokenizerTest::handMadeModelsMatchLiveSpm_data() {
    // Models spm_train does not produce (UNUSED pieces, user-defined symbols in BPE, whitespace as suffix,
    // no escaping) checked against the SentencePiece tools, which load any valid ModelProto.
    QTest::addColumn<QByteArray>("model");
    QTest::addColumn<QStringList>("texts");
    const int normal = 1, userDefined = 4, unused = 5, byte = 6;
    const QStringList texts{"abc",   "ab c",   "<u>abc<u>", "xabcx", "  abc  ",
                            "a<u>b", "cab ab", "a b ",      " a",    ""};

    const std::string bpe = handMadeModel(
        {piece("<u>", 0, userDefined), piece(kSpace, -1, normal), piece("a", -2, normal),
         piece("b", -3, normal), piece("c", -4, normal), piece("ab", -5, normal), piece("bc", -6, normal),
         piece("abc", -7, unused), piece(kSpace + "ab", -8, normal), piece(kSpace + "abc", -9, normal)},
        Proto().varint(3, 2), Proto().bytes(1, "identity").varint(4, 0));
    QTest::newRow("bpe with unused and user-defined pieces") << QByteArray::fromStdString(bpe) << texts;

    const std::string suffix = handMadeModel(
        {piece("a" + kSpace, -1, normal), piece("b" + kSpace, -1.5f, normal), piece("a", -2, normal),
         piece("b", -2.5f, normal), piece(kSpace, -3, normal), piece("ab" + kSpace, -2.2f, normal),
         piece("<u>", 0, userDefined), piece("c", -0.5f, unused)},
        Proto().varint(3, 1).varint(24, 1), Proto().bytes(1, "identity"));
    QTest::newRow("unigram with whitespace as suffix") << QByteArray::fromStdString(suffix) << texts;

    const std::string raw = handMadeModel(
        {piece(" ", -1, normal), piece("a", -1, normal), piece(" a", -1.5f, normal), piece("b", -2, normal),
         piece("c", -2, normal)},
        Proto().varint(3, 1), Proto().bytes(1, "identity").varint(3, 0).varint(4, 0).varint(5, 0));
    QTest::newRow("unigram without dummy prefix or escaping") << QByteArray::fromStdString(raw) << texts;

    // Custom normalization rules (a -> b, x deleted) and a denormalizer (b -> B) applied after decoding.
    Proto charsMapModel;
    charsMapModel.message(1, piece("<unk>", 0, 2))
        .message(1, piece("<s>", 0, 3))
        .message(1, piece("</s>", 0, 3));
    charsMapModel.message(1, piece(kSpace, -1, normal)).message(1, piece("b", -2, normal));
    charsMapModel.message(1, piece("c", -2, normal)).message(1, piece(kSpace + "b", -1.5f, normal));
    charsMapModel.message(2, Proto().varint(3, 1));
    charsMapModel.message(
        3, Proto().bytes(1, "user_defined").bytes(2, singleByteCharsMap({{'a', "b"}, {'x', ""}})));
    charsMapModel.message(
        5, Proto().bytes(2, singleByteCharsMap({{'b', "B"}})).varint(3, 0).varint(4, 0).varint(5, 0));
    QTest::newRow("custom charsmap and denormalizer")
        << QByteArray::fromStdString(charsMapModel.str()) << (texts + QStringList{"xax bxc", "x", "axxa"});

    std::vector<Proto> bytePieces;
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        bytePieces.push_back(piece(name, 0, byte));
    }
    bytePieces.push_back(piece(kSpace, -1, normal));
    bytePieces.push_back(piece("a", -2, normal));
    bytePieces.push_back(piece(kSpace + "a", -1.5f, normal));
    const std::string fallback = handMadeModel(bytePieces, Proto().varint(3, 1).varint(35, 1), Proto());
    QTest::newRow("unigram with byte fallback")
        << QByteArray::fromStdString(fallback)
        << (texts + QStringList{"a \u00e9 \u6771 \U0001F600", "aa\u00e9\u00e9"});
}

void TokenizerTest::handMadeModelsMatchLiveSpm() {
    QFETCH(QByteArray, model);
    QFETCH(QStringList, texts);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto path = std::filesystem::path(dir.path().toStdString()) / "hand.model";
    QVERIFY(test::writeTextFile(path, model.toStdString()));
    const auto tokenizer = loadSentencePieceModel(path);
    std::vector<std::string> strings;
    for (const QString& text : texts) strings.push_back(text.toStdString());
    const QString modelArgument = "--model=" + QString::fromStdString(path.string());
    std::vector<std::string> expectedIds;
    if (!test::runSpmTool("spm_encode", {modelArgument, "--output_format=id"}, joinedLines(strings),
                          expectedIds)) {
        return;
    }
    QCOMPARE(expectedIds.size(), strings.size());
    QByteArray idLines;
    for (size_t i = 0; i < strings.size(); ++i) {
        const auto ids = tokenizer->encode(strings[i]);
        QCOMPARE(idsText(ids), QString::fromStdString(expectedIds[i]));
        idLines += idsText(ids).toUtf8() + '\n';
    }
    if (QByteArray(QTest::currentDataTag()) == "custom charsmap and denormalizer") {
        // x is deleted, a becomes b on the way in; b becomes B on the way out.
        QCOMPARE(tokenizer->decode(tokenizer->encode("xax bxc")), std::string("B Bc"));
    }
    std::vector<std::string> expectedText;
    if (!test::runSpmTool("spm_decode", {modelArgument, "--input_format=id"}, idLines, expectedText)) return;
    QCOMPARE(expectedText.size(), strings.size());
    for (size_t i = 0; i < strings.size(); ++i) {
        const auto ids = tokenizer->encode(strings[i]);
        QCOMPARE(QString::fromStdString(printable(tokenizer->decode(ids))),
                 QString::fromStdString(printable(expectedText[i])));
    }
}

void TokenizerTest::byteFallbackBpeRoundTripsExactly() {
    // Identity normalization, no whitespace removal and byte fallback: SentencePiece guarantees
    // decode(encode(x)) == x for valid UTF-8.
    const auto tokenizer = loadFixture("bpe_bytefallback");
    auto strings = test::readEscapedLines("parity_strings.txt");
    strings.push_back("two\nlines\n\nand a trailing newline\n");
    strings.push_back("\x01\x02 control bytes \x7f");
    for (const std::string& text : strings) {
        // Invalid UTF-8 is replaced by U+FFFD on the way in, and a literal U+2581 reads back as a space.
        if (!dha::tok::isValidUtf8(text) || text.find("\xE2\x96\x81") != std::string::npos) continue;
        QCOMPARE(QString::fromStdString(printable(tokenizer->decode(tokenizer->encode(text)))),
                 QString::fromStdString(printable(text)));
    }
}

void TokenizerTest::newlinesFollowEachNormalization() {
    // spm_encode reads one sentence per line, so newlines are checked through what each model does with them:
    // nmt_nfkc maps "\n" to a space, identity leaves it to byte fallback (or <unk>).
    const auto nfkc = loadFixture("unigram_nfkc");
    QCOMPARE(nfkc->encode("two\nlines"), nfkc->encode("two lines"));
    QCOMPARE(nfkc->encode("a\n\n\nb\n"), nfkc->encode("a b"));

    const auto bpe = loadFixture("bpe_bytefallback");
    const auto ids = bpe->encode("a\nb");
    QVERIFY(std::find(ids.begin(), ids.end(), 3 + 0x0A) != ids.end());  // <0x0A> follows <unk>, <s>, </s>
    QCOMPARE(bpe->pieceOf(3 + 0x0A), std::string("<0x0A>"));

    const auto identity = loadFixture("unigram_identity");
    const auto withNewline = identity->encode("a\nb");
    QVERIFY(std::find(withNewline.begin(), withNewline.end(), 0) != withNewline.end());  // <unk>
    QCOMPARE(identity->decode(withNewline), std::string("a \xE2\x81\x87 b"));
}

void TokenizerTest::unknownRunsBecomeOneUnk() {
    const auto tokenizer = loadFixture("unigram_identity");
    const auto single = tokenizer->encode("x\xE2\x98\x83y");                          // x☃y
    const auto triple = tokenizer->encode("x\xE2\x98\x83\xE2\x98\x83\xE2\x98\x83y");  // x☃☃☃y
    QCOMPARE(triple, single);
    QCOMPARE(std::count(single.begin(), single.end(), 0), 1L);
}

void TokenizerTest::userDefinedSymbolsStayWhole() {
    const auto tokenizer = loadFixture("unigram_nfkc");
    int32_t sepId = -1;
    for (int32_t id = 0; id < tokenizer->vocabSize(); ++id) {
        if (tokenizer->pieceOf(id) == "<sep>") sepId = id;
    }
    QVERIFY(sepId >= 0);
    const auto ids = tokenizer->encode("left<sep>right");
    QCOMPARE(std::count(ids.begin(), ids.end(), sepId), 1L);
    QCOMPARE(tokenizer->decode(ids), std::string("left<sep>right"));
}

void TokenizerTest::reportsVocabularyAndSpecialIds_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("vocabSize");
    QTest::addColumn<QString>("description");
    QTest::newRow("unigram_nfkc") << "unigram_nfkc" << 600
                                  << "SentencePiece unigram, 600 pieces (unigram_nfkc.model)";
    QTest::newRow("unigram_identity")
        << "unigram_identity" << 500 << "SentencePiece unigram, 500 pieces (unigram_identity.model)";
    QTest::newRow("bpe_bytefallback")
        << "bpe_bytefallback" << 800
        << "SentencePiece BPE (byte fallback), 800 pieces (bpe_bytefallback.model)";
}

void TokenizerTest::reportsVocabularyAndSpecialIds() {
    QFETCH(QString, model);
    QFETCH(int, vocabSize);
    QFETCH(QString, description);
    const auto tokenizer = loadFixture(model.toStdString());
    QCOMPARE(tokenizer->vocabSize(), vocabSize);
    QCOMPARE(QString::fromStdString(tokenizer->description()), description);
    QVERIFY(tokenizer->bosId() == std::optional<int32_t>(1));
    QVERIFY(tokenizer->eosId() == std::optional<int32_t>(2));
    QCOMPARE(tokenizer->pieceOf(0), std::string("<unk>"));
    QCOMPARE(tokenizer->pieceOf(1), std::string("<s>"));
    QCOMPARE(tokenizer->pieceOf(vocabSize), std::string());
    QCOMPARE(tokenizer->pieceOf(-1), std::string());
}

void TokenizerTest::decodeSkipsControlPieces() {
    for (const std::string& model : fixtureModels()) {
        const auto tokenizer = loadFixture(model);
        auto ids = tokenizer->encode("Hello world");
        QVERIFY(!ids.empty());
        QVERIFY(std::find(ids.begin(), ids.end(), *tokenizer->bosId()) == ids.end());  // encode adds no BOS
        std::vector<int32_t> framed{*tokenizer->bosId()};
        framed.insert(framed.end(), ids.begin(), ids.end());
        framed.push_back(*tokenizer->eosId());
        QCOMPARE(tokenizer->decode(framed), std::string("Hello world"));
    }
}

void TokenizerTest::decodeRejectsIdsOutsideVocabulary() {
    const auto tokenizer = loadFixture("unigram_identity");
    for (const int32_t bad : {-1, 500, 1 << 30}) {
        try {
            tokenizer->decode({5, bad});
            QFAIL("decode accepted an id outside the vocabulary");
        } catch (const dha::Exception& error) {
            QCOMPARE(error.error().code, dha::ErrorCode::Usage);
            QVERIFY2(error.error().message.find(std::to_string(bad)) != std::string::npos, error.what());
        }
    }
}

void TokenizerTest::emptyTextHasNoTokens() {
    for (const std::string& model : fixtureModels()) {
        const auto tokenizer = loadFixture(model);
        QVERIFY(tokenizer->encode("").empty());
        QCOMPARE(tokenizer->decode({}), std::string());
    }
}

void TokenizerTest::loadTokenizerPrefersModelThenJson() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path root = dir.path().toStdString();
    QVERIFY(test::writeTextFile(
        root / "tokenizer.json",
        test::tokenizerJsonFromModel(fixturePath("bpe_bytefallback.model"), test::JsonFlavor::LlamaBpe)));
    QCOMPARE(loadTokenizer(root)->description(),
             std::string("Hugging Face BPE (byte fallback), 800 pieces (tokenizer.json)"));
    std::filesystem::copy_file(fixturePath("bpe_bytefallback.model"), root / "tokenizer.model");
    QCOMPARE(loadTokenizer(root)->description(),
             std::string("SentencePiece BPE (byte fallback), 800 pieces (tokenizer.model)"));
}

void TokenizerTest::loadTokenizerNamesDirectoryWithoutTokenizer() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    try {
        loadTokenizer(dir.path().toStdString());
        QFAIL("an empty directory loaded");
    } catch (const dha::Exception& error) {
        QCOMPARE(QString::fromStdString(error.error().path), dir.path());
        QVERIFY2(error.error().describe().find("tokenizer.model") != std::string::npos, error.what());
    }
}

DHA_TEST_SUITE(TokenizerTest)
#include "tokenizer_test.moc"
