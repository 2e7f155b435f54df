// Fixture access, spm_encode/spm_decode processes and the .model -> tokenizer.json converter used by the
// tokenizer tests.
#include "tokenizer_test_support.h"

#include <QProcess>
#include <QStandardPaths>
#include <QTest>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "tokenizer/sentencepiece_model_proto.h"

namespace dha::tok::test {

std::filesystem::path fixturePath(const std::string& name) {
    return std::filesystem::path(DHA_TEST_DATA_DIR) / "tokenizers" / name;
}

const std::vector<std::string>& fixtureModels() {
    static const std::vector<std::string> models{"unigram_nfkc", "unigram_identity", "bpe_bytefallback"};
    return models;
}

namespace {

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string unescape(const std::string& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] != '\\' || i + 1 == line.size()) {
            out += line[i];
            continue;
        }
        const char code = line[++i];
        if (code == 't') {
            out += '\t';
        } else if (code == 'r') {
            out += '\r';
        } else if (code == '\\') {
            out += '\\';
        } else if (code == 'x' && i + 2 < line.size()) {
            out += static_cast<char>(std::stoi(line.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += '\\';
            out += code;
        }
    }
    return out;
}

}  // namespace

std::vector<std::string> readEscapedLines(const std::string& fixtureName) {
    std::vector<std::string> lines;
    for (const std::string& line : splitLines(io::readSmallFile(fixturePath(fixtureName), 1u << 20))) {
        lines.push_back(unescape(line));
    }
    return lines;
}

std::vector<std::vector<int32_t>> readIdLines(const std::string& fixtureName) {
    std::vector<std::vector<int32_t>> result;
    for (const std::string& line : splitLines(io::readSmallFile(fixturePath(fixtureName), 1u << 20))) {
        std::istringstream in(line);
        std::vector<int32_t> ids;
        for (int32_t id = 0; in >> id;) ids.push_back(id);
        result.push_back(std::move(ids));
    }
    return result;
}

std::string printable(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '\t') {
            out += "\\t";
        } else if (byte == '\r') {
            out += "\\r";
        } else if (byte == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

bool runSpmTool(const QString& tool, const QStringList& arguments, const QByteArray& input,
                std::vector<std::string>& outputLines) {
    const QString program = QStandardPaths::findExecutable(tool);
    if (program.isEmpty()) {
        QTest::qFail(
            qPrintable(tool + " is not on PATH: install the Debian package `sentencepiece` "
                              "(apt-get install sentencepiece); the parity tests need it as their oracle"),
            __FILE__, __LINE__);
        return false;
    }
    QProcess process;
    process.start(program, arguments);
    if (!process.waitForStarted(30000)) {
        QTest::qFail(qPrintable("could not start " + program), __FILE__, __LINE__);
        return false;
    }
    process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(120000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        QTest::qFail(qPrintable(program + " failed: " + QString::fromUtf8(process.readAllStandardError())),
                     __FILE__, __LINE__);
        return false;
    }
    outputLines = splitLines(process.readAllStandardOutput().toStdString());
    return true;
}

Proto& Proto::varint(uint32_t field, uint64_t value) {
    tag(field, 0);
    raw(value);
    return *this;
}

Proto& Proto::bytes(uint32_t field, const std::string& value) {
    tag(field, 2);
    raw(value.size());
    m_bytes += value;
    return *this;
}

Proto& Proto::float32(uint32_t field, float value) {
    tag(field, 5);
    uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) m_bytes += static_cast<char>((bits >> (8 * i)) & 0xFF);
    return *this;
}

Proto& Proto::append(const std::string& rawBytes) {
    m_bytes += rawBytes;
    return *this;
}

void Proto::tag(uint32_t field, int wire) {
    raw((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire));
}

void Proto::raw(uint64_t value) {
    do {
        m_bytes += static_cast<char>((value & 0x7F) | (value > 0x7F ? 0x80 : 0));
        value >>= 7;
    } while (value != 0);
}

Proto piece(const std::string& text, float score, int type) {
    return Proto().bytes(1, text).float32(2, score).varint(3, static_cast<uint64_t>(type));
}

bool writeTextFile(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        QTest::qFail(qPrintable(QString::fromStdString("cannot write " + path.string())), __FILE__, __LINE__);
        return false;
    }
    return true;
}

namespace {

using Json = nlohmann::json;

std::string base64(const std::string& bytes) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
        for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
    }
    if (i < bytes.size()) {
        uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// Split points of a UTF-8 string at character boundaries (Python's merge[:index] over code points).
std::vector<size_t> characterBoundaries(const std::string& piece) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < piece.size(); ++i) {
        if ((static_cast<unsigned char>(piece[i]) & 0xC0) != 0x80) cuts.push_back(i);
    }
    return cuts;
}

// SentencePieceExtractor.extract(vocab_scores): every split of a piece into two pieces, ordered within the
// piece by (left id, right id), then stably by the merged piece's score, highest first.
Json bpeMerges(const SpmModelProto& proto) {
    std::map<std::string, int> ids;
    for (size_t i = 0; i < proto.pieces.size(); ++i) ids[proto.pieces[i].piece] = static_cast<int>(i);
    struct Merge {
        std::string left, right;
        float score;
    };
    std::vector<Merge> merges;
    for (const SpmPiece& piece : proto.pieces) {
        std::vector<Merge> local;
        for (const size_t cut : characterBoundaries(piece.piece)) {
            const std::string left = piece.piece.substr(0, cut);
            const std::string right = piece.piece.substr(cut);
            if (ids.count(left) && ids.count(right)) local.push_back({left, right, piece.score});
        }
        std::sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
            return std::make_pair(ids[a.left], ids[a.right]) < std::make_pair(ids[b.left], ids[b.right]);
        });
        merges.insert(merges.end(), local.begin(), local.end());
    }
    std::stable_sort(merges.begin(), merges.end(),
                     [](const Merge& a, const Merge& b) { return a.score > b.score; });
    Json list = Json::array();
    for (const Merge& merge : merges) list.push_back(merge.left + " " + merge.right);
    return list;
}

Json addedTokens(const SpmModelProto& proto) {
    Json list = Json::array();
    for (size_t i = 0; i < proto.pieces.size(); ++i) {
        const PieceType type = proto.pieces[i].type;
        if (type != PieceType::Control && type != PieceType::Unknown && type != PieceType::UserDefined)
            continue;
        list.push_back({{"id", i},
                        {"content", proto.pieces[i].piece},
                        {"single_word", false},
                        {"lstrip", false},
                        {"rstrip", false},
                        {"normalized", false},
                        {"special", type != PieceType::UserDefined}});
    }
    return list;
}

Json llamaNormalizer() {
    return {
        {"type", "Sequence"},
        {"normalizers",
         Json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                      {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}})}};
}

Json llamaDecoder() {
    return {{"type", "Sequence"},
            {"decoders",
             Json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                          {{"type", "ByteFallback"}},
                          {{"type", "Fuse"}},
                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
}

}  // namespace

std::string tokenizerJsonFromModel(const std::filesystem::path& modelPath, JsonFlavor flavor) {
    const SpmModelProto proto =
        parseSentencePieceModel(io::readSmallFile(modelPath, 64u << 20), modelPath.string());
    std::string unkPiece = "<unk>";
    int unkId = 0;
    for (size_t i = 0; i < proto.pieces.size(); ++i) {
        if (proto.pieces[i].type == PieceType::Unknown) {
            unkPiece = proto.pieces[i].piece;
            unkId = static_cast<int>(i);
        }
    }
    Json root;
    root["version"] = "1.0";
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    root["added_tokens"] = addedTokens(proto);
    Json model;
    if (flavor == JsonFlavor::LlamaBpe) {
        Json vocab = Json::object();
        for (size_t i = 0; i < proto.pieces.size(); ++i) vocab[proto.pieces[i].piece] = i;
        model = {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", unkPiece},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", true},
                 {"byte_fallback", proto.trainerSpec.byteFallback},
                 {"ignore_merges", false},
                 {"vocab", vocab},
                 {"merges", bpeMerges(proto)}};
    } else {
        Json vocab = Json::array();
        for (const SpmPiece& piece : proto.pieces) vocab.push_back(Json::array({piece.piece, piece.score}));
        model = {{"type", "Unigram"},
                 {"unk_id", unkId},
                 {"vocab", vocab},
                 {"byte_fallback", proto.trainerSpec.byteFallback}};
    }
    if (flavor == JsonFlavor::SpmUnigram) {
        Json steps = Json::array();
        if (!proto.normalizerSpec.precompiledCharsmap.empty()) {
            steps.push_back({{"type", "Precompiled"},
                             {"precompiled_charsmap", base64(proto.normalizerSpec.precompiledCharsmap)}});
        }
        steps.push_back({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}});
        steps.push_back(
            {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", "\xE2\x96\x81"}});
        root["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
        root["pre_tokenizer"] = {{"type", "Metaspace"},
                                 {"replacement", "\xE2\x96\x81"},
                                 {"prepend_scheme", "always"},
                                 {"split", true}};
        root["post_processor"] = nullptr;
        root["decoder"] = {{"type", "Metaspace"},
                           {"replacement", "\xE2\x96\x81"},
                           {"prepend_scheme", "always"},
                           {"split", true}};
    } else {
        root["normalizer"] = llamaNormalizer();
        root["pre_tokenizer"] = nullptr;
        root["post_processor"] = {
            {"type", "TemplateProcessing"},
            {"single", Json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"pair", Json::array()},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
        root["decoder"] = llamaDecoder();
    }
    root["model"] = model;
    return root.dump(2);
}

}  // namespace dha::tok::test
