// Safetensors reading and writing on valid files: round trips, exact bytes, metadata, edge shapes, shards.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <numeric>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "test_registry.h"

using dha::io::DType;
using dha::io::SafetensorsCheckpoint;
using dha::io::SafetensorsFile;
using dha::io::TensorToWrite;

namespace {

QByteArray readAll(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    return file.readAll();
}

void writeRaw(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

// Bytes 0, 1, 2, ... so every tensor's content is distinct and recognisable.
std::vector<unsigned char> patternBytes(size_t count, unsigned char start) {
    std::vector<unsigned char> bytes(count);
    std::iota(bytes.begin(), bytes.end(), start);
    return bytes;
}

QByteArray safetensorsBytes(const QByteArray& header, const QByteArray& data) {
    QByteArray bytes;
    quint64 length = static_cast<quint64>(header.size());
    for (int i = 0; i < 8; ++i) bytes.append(static_cast<char>((length >> (8 * i)) & 0xff));
    return bytes + header + data;
}

std::string path(const QTemporaryDir& dir, const char* name) {
    return QDir(dir.path()).filePath(name).toStdString();
}

}  // namespace

class SafetensorsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void dtypeNamesAndSizes();
    void roundTripsEveryDtype_data();
    void roundTripsEveryDtype();
    void writesDeterministicExactBytes();
    void rewritingReadDataGivesIdenticalFile();
    void keepsMetadata();
    void readsScalarAndZeroSizeTensors();
    void dataPointersMatchFileOffsets();
    void readsHandWrittenFileWithUnsortedHeader();
    void opensSingleFileCheckpoint();
    void opensShardedCheckpoint();
    void prefersSingleFileLikeTransformers();
    void writerReplacesAtomicallyAndLeavesNoTemporaryFiles();
    void abandonedWriterKeepsOldFile();
    void writerRejectsBadArgumentsBeforeWriting();
    void writeIntoMissingDirectoryIsIoError();
    void readSmallFileEnforcesLimit();
    void mapsEmptyFile();
};

void SafetensorsTest::dtypeNamesAndSizes() {
    QCOMPARE(QString(dha::io::dtypeName(DType::BF16)), QString("BF16"));
    QCOMPARE(QString(dha::io::dtypeName(DType::Bool)), QString("BOOL"));
    QCOMPARE(dha::io::dtypeSize(DType::F32), size_t{4});
    QCOMPARE(dha::io::dtypeSize(DType::F16), size_t{2});
    QCOMPARE(dha::io::dtypeSize(DType::BF16), size_t{2});
    QCOMPARE(dha::io::dtypeSize(DType::I64), size_t{8});
    QVERIFY(dha::io::isFloatingPoint(DType::BF16));
    QVERIFY(!dha::io::isFloatingPoint(DType::I32));
    for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::I16,
                        DType::I8, DType::U8, DType::Bool}) {
        QCOMPARE(dha::io::dtypeFromName(dha::io::dtypeName(dtype)), std::optional<DType>(dtype));
    }
    QVERIFY(!dha::io::dtypeFromName("f32"));  // the format is case-sensitive
    QVERIFY(!dha::io::dtypeFromName("F8_E9"));
    QVERIFY(dha::io::isKnownUnsupportedDtypeName("F8_E4M3"));
}

void SafetensorsTest::roundTripsEveryDtype_data() {
    QTest::addColumn<int>("dtype");
    QTest::newRow("F32") << static_cast<int>(DType::F32);
    QTest::newRow("F16") << static_cast<int>(DType::F16);
    QTest::newRow("BF16") << static_cast<int>(DType::BF16);
    QTest::newRow("I64") << static_cast<int>(DType::I64);
    QTest::newRow("U8") << static_cast<int>(DType::U8);
}

void SafetensorsTest::roundTripsEveryDtype() {
    QFETCH(int, dtype);
    const auto type = static_cast<DType>(dtype);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto bytes = patternBytes(2 * 3 * dha::io::dtypeSize(type), 7);
    const auto target = path(dir, "t.safetensors");
    dha::io::writeSafetensors(target, {TensorToWrite{"w", type, {2, 3}, bytes.data()}});

    const auto file = SafetensorsFile::open(target);
    QCOMPARE(file->tensors().size(), size_t{1});
    const auto* info = file->find("w");
    QVERIFY(info != nullptr);
    QCOMPARE(info->dtype, type);
    QCOMPARE(info->shape, (std::vector<int64_t>{2, 3}));
    QCOMPARE(info->numel(), int64_t{6});
    QCOMPARE(info->byteSize(), static_cast<uint64_t>(bytes.size()));
    QCOMPARE(std::memcmp(file->data(*info), bytes.data(), bytes.size()), 0);
    QVERIFY(file->find("missing") == nullptr);
}

void SafetensorsTest::writesDeterministicExactBytes() {
    QTemporaryDir dir;
    const float values[2] = {1.0f, -2.5f};
    const uint16_t half[1] = {0x3c00};
    const std::vector<TensorToWrite> tensors{{"b.weight", DType::F32, {2}, values},
                                             {"a.bias", DType::BF16, {1}, half}};
    dha::io::writeSafetensors(path(dir, "x.safetensors"), tensors, {{"format", "pt"}});
    const QByteArray bytes = readAll(QString::fromStdString(path(dir, "x.safetensors")));

    // Given order (not sorted), compact JSON, metadata first, spaces up to a multiple of 8.
    QByteArray header =
        R"({"__metadata__":{"format":"pt"},"b.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("a.bias":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}})";
    while (header.size() % 8 != 0) header.append(' ');
    QByteArray data(reinterpret_cast<const char*>(values), 8);
    data.append(reinterpret_cast<const char*>(half), 2);
    QCOMPARE(bytes, safetensorsBytes(header, data));

    dha::io::writeSafetensors(path(dir, "y.safetensors"), tensors, {{"format", "pt"}});
    QCOMPARE(readAll(QString::fromStdString(path(dir, "y.safetensors"))), bytes);
}

void SafetensorsTest::rewritingReadDataGivesIdenticalFile() {
    QTemporaryDir dir;
    const auto f32 = patternBytes(4 * 4 * 4, 1);
    const auto f16 = patternBytes(3 * 2, 100);
    const auto bf16 = patternBytes(5 * 2, 200);
    dha::io::writeSafetensors(path(dir, "first.safetensors"), {{"z", DType::F32, {4, 4}, f32.data()},
                                                               {"m", DType::F16, {3}, f16.data()},
                                                               {"a", DType::BF16, {5, 1}, bf16.data()}});
    const auto file = SafetensorsFile::open(path(dir, "first.safetensors"));
    std::vector<TensorToWrite> again;
    for (const char* name : {"z", "m", "a"}) {
        const auto* info = file->find(name);
        QVERIFY(info != nullptr);
        again.push_back({info->name, info->dtype, info->shape, file->data(*info)});
    }
    dha::io::writeSafetensors(path(dir, "second.safetensors"), again);
    const QByteArray first = readAll(QString::fromStdString(path(dir, "first.safetensors")));
    QVERIFY(!first.isEmpty());
    QCOMPARE(readAll(QString::fromStdString(path(dir, "second.safetensors"))), first);
}

void SafetensorsTest::keepsMetadata() {
    QTemporaryDir dir;
    const float value = 3.0f;
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "héllo \"quoted\""}};
    dha::io::writeSafetensors(path(dir, "m.safetensors"), {{"v", DType::F32, {}, &value}}, metadata);
    const auto file = SafetensorsFile::open(path(dir, "m.safetensors"));
    QCOMPARE(file->metadata(), metadata);
    QCOMPARE(file->tensors().size(), size_t{1});  // __metadata__ is not a tensor
}

void SafetensorsTest::readsScalarAndZeroSizeTensors() {
    QTemporaryDir dir;
    const double scalar = 42.5;
    const uint16_t tail[2] = {1, 2};
    dha::io::writeSafetensors(path(dir, "e.safetensors"), {{"scalar", DType::F64, {}, &scalar},
                                                           {"empty_rows", DType::F32, {0, 3}, nullptr},
                                                           {"empty_cols", DType::BF16, {3, 0}, nullptr},
                                                           {"tail", DType::F16, {2}, tail}});
    const auto file = SafetensorsFile::open(path(dir, "e.safetensors"));
    const auto* s = file->find("scalar");
    QVERIFY(s != nullptr);
    QVERIFY(s->shape.empty());
    QCOMPARE(s->numel(), int64_t{1});
    double read = 0;
    std::memcpy(&read, file->data(*s), sizeof read);
    QCOMPARE(read, scalar);
    for (const char* name : {"empty_rows", "empty_cols"}) {
        const auto* e = file->find(name);
        QVERIFY(e != nullptr);
        QCOMPARE(e->numel(), int64_t{0});
        QCOMPARE(e->byteSize(), uint64_t{0});
    }
    const auto* t = file->find("tail");
    QCOMPARE(std::memcmp(file->data(*t), tail, sizeof tail), 0);
}

void SafetensorsTest::dataPointersMatchFileOffsets() {
    QTemporaryDir dir;
    const auto a = patternBytes(12, 0), b = patternBytes(6, 50), c = patternBytes(40, 90);
    dha::io::writeSafetensors(path(dir, "p.safetensors"), {{"a", DType::F32, {3}, a.data()},
                                                           {"b", DType::I16, {3}, b.data()},
                                                           {"c", DType::F64, {5}, c.data()}});
    const QByteArray raw = readAll(QString::fromStdString(path(dir, "p.safetensors")));
    quint64 headerLength = 0;
    for (int i = 7; i >= 0; --i) headerLength = (headerLength << 8) | static_cast<unsigned char>(raw[i]);
    const auto file = SafetensorsFile::open(path(dir, "p.safetensors"));
    // tensors() is in data order: begin offsets ascend and tile the data section.
    QCOMPARE(file->tensors().size(), size_t{3});
    QCOMPARE(file->tensors()[0].name, std::string("a"));
    QCOMPARE(file->tensors()[1].dataBegin, uint64_t{12});
    QCOMPARE(file->tensors()[2].dataBegin, uint64_t{18});
    const std::byte* base = file->data(file->tensors()[0]);
    for (const auto& tensor : file->tensors()) {
        QCOMPARE(file->data(tensor) - base, static_cast<std::ptrdiff_t>(tensor.dataBegin));
        const QByteArray expected = raw.mid(static_cast<int>(8 + headerLength + tensor.dataBegin),
                                            static_cast<int>(tensor.byteSize()));
        QCOMPARE(QByteArray(reinterpret_cast<const char*>(file->data(tensor)),
                            static_cast<int>(tensor.byteSize())),
                 expected);
    }
    QCOMPARE(std::memcmp(file->data(*file->find("c")), c.data(), c.size()), 0);
    // A TensorInfo that is not this file's own is refused rather than turned into a wild pointer.
    dha::io::TensorInfo foreign = file->tensors()[0];
    QVERIFY_THROWS_EXCEPTION(dha::Exception, file->data(foreign));
}

void SafetensorsTest::readsHandWrittenFileWithUnsortedHeader() {
    // As other writers produce: keys out of data order, unpadded header, a gap, metadata last.
    QTemporaryDir dir;
    const QByteArray header =
        R"({"late":{"data_offsets":[8,12],"dtype":"U8","shape":[4]},)"
        R"("early":{"shape":[2],"dtype":"I16","data_offsets":[0,4]},"__metadata__":{}})";
    writeRaw(QDir(dir.path()).filePath("h.safetensors"), safetensorsBytes(header, "ABCD....WXYZ"));
    const auto file = SafetensorsFile::open(path(dir, "h.safetensors"));
    QCOMPARE(file->tensors().size(), size_t{2});
    QCOMPARE(file->tensors()[0].name, std::string("early"));
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(file->data(*file->find("late"))), 4),
             QByteArray("WXYZ"));
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(file->data(*file->find("early"))), 4),
             QByteArray("ABCD"));
    QVERIFY(file->metadata().empty());
}

void SafetensorsTest::opensSingleFileCheckpoint() {
    QTemporaryDir dir;
    const float v[2] = {1, 2};
    dha::io::writeSafetensors(path(dir, "model.safetensors"),
                              {{"x", DType::F32, {2}, v}, {"a", DType::F32, {1}, v}});
    const auto checkpoint = SafetensorsCheckpoint::open(dir.path().toStdString());
    QCOMPARE(checkpoint.names(), (std::vector<std::string>{"a", "x"}));
    QCOMPARE(checkpoint.files().size(), size_t{1});
    QCOMPARE(checkpoint.fileNameOf("x"), std::string("model.safetensors"));
    QVERIFY(checkpoint.find("nope") == nullptr);
    QCOMPARE(checkpoint.fileNameOf("nope"), std::string());
}

void SafetensorsTest::opensShardedCheckpoint() {
    QTemporaryDir dir;
    const auto one = patternBytes(16, 1), two = patternBytes(8, 77);
    dha::io::writeSafetensors(path(dir, "model-00001-of-00002.safetensors"),
                              {{"model.embed_tokens.weight", DType::F32, {2, 2}, one.data()},
                               {"model.norm.weight", DType::F16, {2}, two.data()}});
    dha::io::writeSafetensors(path(dir, "model-00002-of-00002.safetensors"),
                              {{"lm_head.weight", DType::BF16, {2, 2}, two.data()}});
    writeRaw(QDir(dir.path()).filePath("model.safetensors.index.json"),
             R"({"metadata": {"total_size": 28}, "weight_map": {
                   "lm_head.weight": "model-00002-of-00002.safetensors",
                   "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                   "model.norm.weight": "./model-00001-of-00002.safetensors"}})");
    const auto checkpoint = SafetensorsCheckpoint::open(dir.path().toStdString());
    QCOMPARE(checkpoint.names(),
             (std::vector<std::string>{"lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"}));
    // "./x" and "x" spell one file: each shard is opened once.
    QCOMPARE(checkpoint.files().size(), size_t{2});
    QCOMPARE(checkpoint.fileNameOf("lm_head.weight"), std::string("model-00002-of-00002.safetensors"));
    const auto* entry = checkpoint.find("model.embed_tokens.weight");
    QVERIFY(entry != nullptr);
    QCOMPARE(entry->tensor->shape, (std::vector<int64_t>{2, 2}));
    QCOMPARE(std::memcmp(entry->file->data(*entry->tensor), one.data(), one.size()), 0);
    const auto* head = checkpoint.find("lm_head.weight");
    QCOMPARE(head->tensor->dtype, DType::BF16);
    QCOMPARE(std::memcmp(head->file->data(*head->tensor), two.data(), 8), 0);
}

void SafetensorsTest::prefersSingleFileLikeTransformers() {
    QTemporaryDir dir;
    const float v = 1;
    dha::io::writeSafetensors(path(dir, "model.safetensors"), {{"only", DType::F32, {}, &v}});
    writeRaw(QDir(dir.path()).filePath("model.safetensors.index.json"), "not even json");
    const auto checkpoint = SafetensorsCheckpoint::open(dir.path().toStdString());
    QCOMPARE(checkpoint.names(), std::vector<std::string>{"only"});
}

void SafetensorsTest::writerReplacesAtomicallyAndLeavesNoTemporaryFiles() {
    QTemporaryDir dir;
    const QString target = QDir(dir.path()).filePath("out.safetensors");
    writeRaw(target, "old content");
    const float v = 5;
    dha::io::writeSafetensors(target.toStdString(), {{"v", DType::F32, {}, &v}});
    QCOMPARE(SafetensorsFile::open(target.toStdString())->tensors().size(), size_t{1});
    dha::io::writeFileAtomically(QDir(dir.path()).filePath("note.txt").toStdString(), "text");
    QCOMPARE(readAll(QDir(dir.path()).filePath("note.txt")), QByteArray("text"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             (QStringList{"note.txt", "out.safetensors"}));
}

void SafetensorsTest::abandonedWriterKeepsOldFile() {
    QTemporaryDir dir;
    const QString target = QDir(dir.path()).filePath("keep.txt");
    writeRaw(target, "old");
    {
        dha::io::AtomicFileWriter writer(target.toStdString());
        writer.write("new and longer");
        const QString temp = QString::fromStdString(writer.temporaryPath().string());
        QVERIFY(QFileInfo(temp).fileName().startsWith(".keep.txt.tmp-"));
        QVERIFY(QFile::exists(temp));
    }  // destroyed without commit(): as if the process had failed half-way
    QCOMPARE(readAll(target), QByteArray("old"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{"keep.txt"});
}

void SafetensorsTest::writerRejectsBadArgumentsBeforeWriting() {
    QTemporaryDir dir;
    const float v = 1;
    const auto target = path(dir, "bad.safetensors");
    const std::vector<std::vector<TensorToWrite>> bad{
        {{"x", DType::F32, {2}, nullptr}},                       // bytes but no data
        {{"x", DType::F32, {}, &v}, {"x", DType::F32, {}, &v}},  // repeated name
        {{"__metadata__", DType::F32, {}, &v}},                  // reserved name
        {{"x", DType::F32, {-1}, &v}},                           // negative dimension
        {{"x", DType::F32, {int64_t{1} << 62, 8}, &v}},          // size overflows
    };
    for (const auto& tensors : bad) {
        try {
            dha::io::writeSafetensors(target, tensors);
            QFAIL("expected a dha::Exception");
        } catch (const dha::Exception& error) {
            QCOMPARE(error.error().code, dha::ErrorCode::Usage);
            QCOMPARE(error.error().path, target);
        }
    }
    QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).isEmpty());
}

void SafetensorsTest::writeIntoMissingDirectoryIsIoError() {
    QTemporaryDir dir;
    const auto target = QDir(dir.path()).filePath("no/such/dir/x.safetensors").toStdString();
    try {
        dha::io::writeFileAtomically(target, "x");
        QFAIL("expected a dha::Exception");
    } catch (const dha::Exception& error) {
        QCOMPARE(error.error().code, dha::ErrorCode::Io);
        QCOMPARE(error.error().path, target);
    }
}

void SafetensorsTest::readSmallFileEnforcesLimit() {
    QTemporaryDir dir;
    const QString file = QDir(dir.path()).filePath("ten.txt");
    writeRaw(file, "0123456789");
    QCOMPARE(dha::io::readSmallFile(file.toStdString(), 10), std::string("0123456789"));
    try {
        dha::io::readSmallFile(file.toStdString(), 9);
        QFAIL("expected a dha::Exception");
    } catch (const dha::Exception& error) {
        QCOMPARE(error.error().path, file.toStdString());
        QVERIFY(error.error().message.find("limit") != std::string::npos);
    }
    QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::io::readSmallFile(dir.path().toStdString()));
}

void SafetensorsTest::mapsEmptyFile() {
    QTemporaryDir dir;
    const QString file = QDir(dir.path()).filePath("empty");
    writeRaw(file, {});
    const auto mapped = dha::io::MappedFile::open(file.toStdString());
    QCOMPARE(mapped->size(), size_t{0});
    QVERIFY(mapped->data() == nullptr);
    writeRaw(file, "abc");
    QCOMPARE(dha::io::MappedFile::open(file.toStdString())->size(), size_t{3});
}

DHA_TEST_SUITE(SafetensorsTest)
#include "safetensors_test.moc"
