// The shipped teacher corpus and tokenizer: the manifest is complete and its hashes match the shipped splits,
// and our tokenizer encodes the test split exactly as Debian's spm_encode does with the shipped
// tokenizer.model.
#include <QCryptographicHash>
#include <QFile>
#include <QTest>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "test_registry.h"
#include "tokenizer/sentencepiece_model_proto.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_support.h"

using Json = nlohmann::json;

namespace {

const std::filesystem::path kCorpusDir = std::filesystem::path(DHA_SOURCE_DIR) / "resources" / "corpus";
const std::filesystem::path kTokenizerPath =
    std::filesystem::path(DHA_SOURCE_DIR) / "resources" / "models" / "dha-teacher" / "tokenizer.model";
const char* const kSplits[] = {"train", "validation", "test"};

std::string readFile(const std::filesystem::path& path) { return dha::io::readSmallFile(path, 64u << 20); }

Json readManifest(const std::filesystem::path& dir) { return Json::parse(readFile(dir / "manifest.json")); }

QString sha256Hex(const std::string& bytes) {
    return QString::fromLatin1(
        QCryptographicHash::hash(QByteArray::fromStdString(bytes), QCryptographicHash::Sha256).toHex());
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

QString idsText(const std::vector<int32_t>& ids) {
    QStringList parts;
    for (const int32_t id : ids) parts << QString::number(id);
    return parts.join(' ');
}

// Documents of a split file: runs of non-empty lines separated by exactly one empty line, newline at the end.
// Fails the test (and returns -1) when the layout is broken.
int countDocuments(const std::string& text, const QString& name) {
    if (text.empty()) return 0;
    if (text.front() == '\n' || text.back() != '\n' || text.find("\n\n\n") != std::string::npos ||
        (text.size() >= 2 && text.compare(text.size() - 2, 2, "\n\n") == 0)) {
        QTest::qFail(qPrintable(name + ": documents must be separated by exactly one empty line"), __FILE__,
                     __LINE__);
        return -1;
    }
    int documents = 1;
    for (size_t at = text.find("\n\n"); at != std::string::npos; at = text.find("\n\n", at + 2)) ++documents;
    return documents;
}

}  // namespace

class CorpusTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void manifestIsWellFormed();
    void byteCountsAddUp();
    void shippedSplitsMatchManifest_data();
    void shippedSplitsMatchManifest();
    void copyrightFilesMatchManifest();
    void rebuiltCorpusMatchesManifest();
    void shippedTokenizerHasDocumentedSettings();
    void tokenizerMatchesSpmEncodeOnTestSplit();
    void tokenizerRoundTripsShippedSplits_data();
    void tokenizerRoundTripsShippedSplits();
};

void CorpusTest::manifestIsWellFormed() {
    const Json manifest = readManifest(kCorpusDir);
    QCOMPARE(manifest.at("format").get<std::string>(), std::string("dha-corpus-manifest"));
    QCOMPARE(manifest.at("format_version").get<int>(), 1);
    const Json& sources = manifest.at("sources");
    QVERIFY(sources.is_array() && !sources.empty());
    for (const Json& source : sources) {
        const QString package = QString::fromStdString(source.at("package").get<std::string>());
        QVERIFY2(!package.isEmpty(), "a source without a package name");
        for (const char* field : {"version", "licence", "copyright_file", "copyright_sha256", "extraction"}) {
            QVERIFY2(source.at(field).is_string() && !source.at(field).get<std::string>().empty(),
                     qPrintable(package + ": missing " + field));
        }
        QVERIFY2(source.at("files").is_array() && !source.at("files").empty(),
                 qPrintable(package + ": no files listed"));
        QVERIFY2(source.at("documents").get<int64_t>() > 0, qPrintable(package + ": no documents"));
        QVERIFY2(source.at("bytes").get<int64_t>() > 0, qPrintable(package + ": no bytes"));
        const double keep = source.at("keep_fraction").get<double>();
        QVERIFY2(keep > 0.0 && keep <= 1.0, qPrintable(package + ": keep_fraction outside (0, 1]"));
    }
    for (const char* split : kSplits) {
        const Json& entry = manifest.at("splits").at(split);
        QCOMPARE(entry.at("file").get<std::string>(), std::string(split) + ".txt");
        const std::string hash = entry.at("sha256").get<std::string>();
        QVERIFY2(hash.size() == 64 && hash.find_first_not_of("0123456789abcdef") == std::string::npos,
                 qPrintable(QString(split) + ": sha256 is not 64 hex digits"));
        QVERIFY(entry.at("documents").get<int64_t>() > 0);
    }
    // The floor: at least 20 MB of text; the shipped splits stay small.
    QVERIFY(manifest.at("splits").at("train").at("bytes").get<int64_t>() >= 20'000'000);
    for (const char* split : {"validation", "test"}) {
        QVERIFY(manifest.at("splits").at(split).at("bytes").get<int64_t>() <= 1'000'000);
    }
}

void CorpusTest::byteCountsAddUp() {
    const Json manifest = readManifest(kCorpusDir);
    int64_t sourceBytes = 0, sourceDocuments = 0;
    std::map<std::string, int64_t> perSplit;
    for (const Json& source : manifest.at("sources")) {
        const QString package = QString::fromStdString(source.at("package").get<std::string>());
        int64_t documents = 0;
        for (const char* split : kSplits) {
            const int64_t count = source.at("documents_per_split").at(split).get<int64_t>();
            QVERIFY2(count >= 0, qPrintable(package + ": negative document count"));
            documents += count;
            perSplit[split] += count;
        }
        QVERIFY2(documents == source.at("documents").get<int64_t>(),
                 qPrintable(package + ": documents_per_split does not add up to documents"));
        sourceBytes += source.at("bytes").get<int64_t>();
        sourceDocuments += documents;
    }
    int64_t splitTextBytes = 0, splitDocuments = 0;
    for (const char* split : kSplits) {
        const Json& entry = manifest.at("splits").at(split);
        const int64_t documents = entry.at("documents").get<int64_t>();
        const int64_t textBytes = entry.at("text_bytes").get<int64_t>();
        QCOMPARE(perSplit[split], documents);
        // Documents joined by "\n\n", plus the final newline.
        QCOMPARE(entry.at("bytes").get<int64_t>(), textBytes + 2 * documents - 1);
        splitTextBytes += textBytes;
        splitDocuments += documents;
    }
    QCOMPARE(sourceBytes, splitTextBytes);
    QCOMPARE(sourceDocuments, splitDocuments);
}

void CorpusTest::shippedSplitsMatchManifest_data() {
    QTest::addColumn<QString>("split");
    QTest::newRow("validation") << "validation";
    QTest::newRow("test") << "test";
}

void CorpusTest::shippedSplitsMatchManifest() {
    QFETCH(QString, split);
    const Json entry = readManifest(kCorpusDir).at("splits").at(split.toStdString());
    const std::string text = readFile(kCorpusDir / (split.toStdString() + ".txt"));
    QCOMPARE(static_cast<int64_t>(text.size()), entry.at("bytes").get<int64_t>());
    QCOMPARE(sha256Hex(text), QString::fromStdString(entry.at("sha256").get<std::string>()));
    QVERIFY2(dha::tok::isValidUtf8(text), "the split is not valid UTF-8");
    const int documents = countDocuments(text, split);
    QCOMPARE(static_cast<int64_t>(documents), entry.at("documents").get<int64_t>());
    for (const std::string& line : splitLines(text)) {
        QVERIFY2(line.empty() || (line.back() != ' ' && line.back() != '\t'),
                 qPrintable(split + ": trailing whitespace in: " + QString::fromStdString(line)));
        QVERIFY2(line.find('\r') == std::string::npos, qPrintable(split + ": carriage return"));
    }
}

void CorpusTest::copyrightFilesMatchManifest() {
    // Every package whose text is shipped has its copyright file shipped next to it, unchanged.
    for (const Json& source : readManifest(kCorpusDir).at("sources")) {
        const std::string package = source.at("package").get<std::string>();
        const auto path = kCorpusDir / "copyright" / package;
        QVERIFY2(std::filesystem::is_regular_file(path), qPrintable(QString::fromStdString(path.string())));
        QCOMPARE(sha256Hex(readFile(path)),
                 QString::fromStdString(source.at("copyright_sha256").get<std::string>()));
    }
}

void CorpusTest::rebuiltCorpusMatchesManifest() {
    // scripts/build-corpus.sh output (DHA_CORPUS_DIR, else build/corpus): built from the same package
    // versions, it must be byte-identical to what the shipped manifest records, train split included.
    const QByteArray override = qgetenv("DHA_CORPUS_DIR");
    const std::filesystem::path dir = override.isEmpty()
                                          ? std::filesystem::path(DHA_SOURCE_DIR) / "build" / "corpus"
                                          : std::filesystem::path(override.toStdString());
    if (!std::filesystem::exists(dir / "manifest.json")) {
        QSKIP("no rebuilt corpus (run scripts/build-corpus.sh, or set DHA_CORPUS_DIR)");
    }
    const Json shipped = readManifest(kCorpusDir);
    const Json rebuilt = readManifest(dir);
    std::map<std::string, std::string> versions;
    for (const Json& source : rebuilt.at("sources")) {
        versions[source.at("package").get<std::string>()] = source.at("version").get<std::string>();
    }
    for (const Json& source : shipped.at("sources")) {
        const std::string package = source.at("package").get<std::string>();
        const std::string version = source.at("version").get<std::string>();
        const auto found = versions.find(package);
        if (found != versions.end() && found->second != version) {
            QSKIP(qPrintable(QString::fromStdString("the rebuilt corpus used " + package + " " +
                                                    found->second + ", the shipped one " + version)));
        }
    }
    QCOMPARE(QString::fromStdString(rebuilt.dump()), QString::fromStdString(shipped.dump()));
    for (const char* split : kSplits) {
        const std::string text = readFile(dir / (std::string(split) + ".txt"));
        QCOMPARE(sha256Hex(text),
                 QString::fromStdString(shipped.at("splits").at(split).at("sha256").get<std::string>()));
    }
}

void CorpusTest::shippedTokenizerHasDocumentedSettings() {
    // The flags scripts/train-tokenizer.sh passes and resources/models/README.md documents.
    const auto proto = dha::tok::parseSentencePieceModel(readFile(kTokenizerPath), kTokenizerPath.string());
    QCOMPARE(proto.trainerSpec.modelType, static_cast<int32_t>(dha::tok::SpmTrainerSpec::ModelType::Bpe));
    QCOMPARE(proto.trainerSpec.vocabSize, 4096);
    QCOMPARE(static_cast<int>(proto.pieces.size()), 4096);
    QVERIFY(proto.trainerSpec.byteFallback);
    QVERIFY(proto.trainerSpec.splitDigits);
    QCOMPARE(proto.normalizerSpec.name, std::string("identity"));
    QVERIFY(proto.normalizerSpec.addDummyPrefix);
    QVERIFY(!proto.normalizerSpec.removeExtraWhitespaces);
    const auto tokenizer = dha::tok::loadSentencePieceModel(kTokenizerPath);
    QCOMPARE(tokenizer->vocabSize(), 4096);
    QCOMPARE(tokenizer->bosId(), std::optional<int32_t>(1));
    QCOMPARE(tokenizer->eosId(), std::optional<int32_t>(2));
    for (int byte = 0; byte < 256; ++byte) {  // <unk> <s> </s>, then the 256 byte pieces
        QCOMPARE(tokenizer->pieceOf(3 + byte), QString::asprintf("<0x%02X>", byte).toStdString());
    }
}

void CorpusTest::tokenizerMatchesSpmEncodeOnTestSplit() {
    // spm_encode encodes one line at a time, so the comparison is line by line (empty lines give no ids).
    const std::string text = readFile(kCorpusDir / "test.txt");
    std::vector<std::string> expected;
    if (!dha::tok::test::runSpmTool(
            "spm_encode",
            {"--model=" + QString::fromStdString(kTokenizerPath.string()), "--output_format=id"},
            QByteArray::fromStdString(text), expected)) {
        return;
    }
    const std::vector<std::string> lines = splitLines(text);
    QCOMPARE(expected.size(), lines.size());
    const auto tokenizer = dha::tok::loadSentencePieceModel(kTokenizerPath);
    int64_t tokens = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto ids = tokenizer->encode(lines[i]);
        tokens += static_cast<int64_t>(ids.size());
        if (idsText(ids) != QString::fromStdString(expected[i])) {
            QFAIL(qPrintable(QString("test.txt line %1 '%2': ours %3, spm_encode %4")
                                 .arg(i + 1)
                                 .arg(QString::fromStdString(dha::tok::test::printable(lines[i])))
                                 .arg(idsText(ids), QString::fromStdString(expected[i]))));
        }
    }
    QVERIFY(tokens > 0);
}

void CorpusTest::tokenizerRoundTripsShippedSplits_data() {
    QTest::addColumn<QString>("split");
    QTest::newRow("validation") << "validation";
    QTest::newRow("test") << "test";
}

void CorpusTest::tokenizerRoundTripsShippedSplits() {
    // Evaluation encodes a split as one stream, newlines included (byte fallback turns them into <0x0A>):
    // identity normalisation and byte fallback make that lossless, so the loss covers exactly the shipped
    // text.
    QFETCH(QString, split);
    const std::string text = readFile(kCorpusDir / (split.toStdString() + ".txt"));
    const auto tokenizer = dha::tok::loadSentencePieceModel(kTokenizerPath);
    const auto ids = tokenizer->encode(text);
    QVERIFY(!ids.empty());
    QVERIFY2(std::find(ids.begin(), ids.end(), 0) == ids.end(), "the stream holds <unk>");
    const std::string decoded = tokenizer->decode(ids);
    if (decoded != text) {
        size_t at = 0;
        while (at < text.size() && at < decoded.size() && text[at] == decoded[at]) ++at;
        QFAIL(
            qPrintable(QString("%1: decode(encode(text)) differs at byte %2: '%3' vs '%4'")
                           .arg(split)
                           .arg(at)
                           .arg(QString::fromStdString(dha::tok::test::printable(text.substr(at, 40))),
                                QString::fromStdString(dha::tok::test::printable(decoded.substr(at, 40))))));
    }
}

DHA_TEST_SUITE(CorpusTest)
#include "corpus_test.moc"
