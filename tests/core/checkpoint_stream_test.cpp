// Streamed checkpoint reads for analysis: released pages leave the resident set but keep their data, tensor
// copies and row gathers, header checks, and the model fingerprint.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/checkpoint_stream.h"
#include "analysis_test_support.h"
#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/model_fingerprint.h"
#include "io/safetensors.h"
#include "test_registry.h"

using namespace dha;
using namespace dha::test;
namespace fs = std::filesystem;

namespace {

// This process's resident file-backed memory (mapped files), in KiB, from /proc/self/status.
long residentFileKib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("RssFile:", 0) == 0) return std::stol(line.substr(8));
    }
    return -1;
}

RawTensor patternTensor(const std::string& name, int64_t rows, int64_t cols) {
    RawTensor tensor{name, io::DType::F32, {rows, cols}, std::vector<std::byte>(size_t(rows * cols) * 4)};
    for (int64_t i = 0; i < rows * cols; ++i) {
        const float value = static_cast<float>(i % 1000) * 0.5f;
        std::memcpy(tensor.bytes.data() + i * 4, &value, 4);
    }
    return tensor;
}

Error errorOf(const std::function<void()>& body) {
    try {
        body();
    } catch (const Exception& error) {
        return error.error();
    }
    return Error{ErrorCode::Internal, {}, "no error was thrown", {}};
}

}  // namespace

class CheckpointStreamTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void releasedPagesLeaveTheResidentSet();
    void readsAndGathers();
    void checkTensorNamesTheFile();
    void fingerprintIdentifiesConfigAndTensorTable();
};

void CheckpointStreamTest::releasedPagesLeaveTheResidentSet() {
    QTemporaryDir dir;
    const fs::path file = fs::path(dir.path().toStdString()) / "model.safetensors";
    // 16 MiB between two small tensors, so the release must stay inside the file's pages.
    writeRawTensors(file,
                    {patternTensor("a", 1, 3), patternTensor("big", 1024, 4096), patternTensor("z", 1, 5)});
    const auto safetensors = io::SafetensorsFile::open(file);
    const io::TensorInfo& big = *safetensors->find("big");
    const auto* values = reinterpret_cast<const unsigned char*>(safetensors->data(big));
    const auto touchAll = [&] {
        unsigned long sum = 0;
        for (uint64_t i = 0; i < big.byteSize(); i += 512) sum += values[i];
        return sum;
    };
    const unsigned long expected = touchAll();
    const long before = residentFileKib();
    QVERIFY2(before > 16 * 1024 - 64,
             qPrintable(QString("RssFile %1 KiB after touching 16 MiB").arg(before)));
    safetensors->releasePages(big);
    const long after = residentFileKib();
    QVERIFY2(before - after > 15 * 1024, qPrintable(QString("RssFile %1 -> %2 KiB").arg(before).arg(after)));
    // The data is still there: the pages fault back in from the file.
    QCOMPARE(touchAll(), expected);
    float last = 0;
    std::memcpy(&last, values + big.byteSize() - 4, 4);
    QCOMPARE(last, static_cast<float>((1024 * 4096 - 1) % 1000) * 0.5f);
    // The neighbours sharing the first and last pages are intact too.
    const auto* tail = reinterpret_cast<const float*>(safetensors->data(*safetensors->find("z")));
    float z4 = 0;
    std::memcpy(&z4, tail + 4, 4);
    QCOMPARE(z4, 2.0f);
}

void CheckpointStreamTest::readsAndGathers() {
    QTemporaryDir dir;
    const fs::path modelDir(dir.path().toStdString());
    RawTensor table = patternTensor("table", 10, 6);
    // A bf16 copy: bf16 is the upper half of each float (the pattern's values are exact in bf16).
    RawTensor half{"half", io::DType::BF16, {10, 6}, std::vector<std::byte>(10 * 6 * 2)};
    for (size_t i = 0; i < 60; ++i) std::memcpy(half.bytes.data() + 2 * i, table.bytes.data() + 4 * i + 2, 2);
    writeRawTensors(modelDir / "model.safetensors", {table, half});
    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(modelDir);

    const at::Tensor whole = analysis::readTensor(checkpoint, "half");
    QCOMPARE(whole.scalar_type(), at::kBFloat16);  // stored dtype kept: the bf16 Gram path needs it
    QCOMPARE(whole.sizes().vec(), (std::vector<int64_t>{10, 6}));
    QCOMPARE(whole[3][2].item<float>(), 10.0f);  // element 20 -> 20 * 0.5
    const at::Tensor rows = analysis::gatherRows(checkpoint, "half", {7, 0, 7});
    QCOMPARE(rows.scalar_type(), at::kFloat);
    QCOMPARE(rows.sizes().vec(), (std::vector<int64_t>{3, 6}));
    QVERIFY(at::equal(rows[0], analysis::readTensor(checkpoint, "table")[7]));
    QVERIFY(at::equal(rows[1], rows[1]) && rows[1][5].item<float>() == 2.5f);
    QVERIFY(at::equal(rows[0], rows[2]));
}

void CheckpointStreamTest::checkTensorNamesTheFile() {
    QTemporaryDir dir;
    const fs::path modelDir(dir.path().toStdString());
    RawTensor integer{"ints", io::DType::I32, {2, 2}, std::vector<std::byte>(16)};
    writeRawTensors(modelDir / "model.safetensors", {patternTensor("table", 4, 4), integer});
    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(modelDir);
    const std::string file = (modelDir / "model.safetensors").string();

    analysis::checkTensor(checkpoint, modelDir, "table", {4, 4});  // no throw
    Error error = errorOf([&] { analysis::checkTensor(checkpoint, modelDir, "absent", {4, 4}); });
    QCOMPARE(error.code, ErrorCode::InvalidInput);
    QCOMPARE(error.path, file);
    QCOMPARE(error.message, std::string("missing tensor 'absent'"));
    error = errorOf([&] { analysis::checkTensor(checkpoint, modelDir, "table", {4, 8}); });
    QCOMPARE(error.path, file);
    QCOMPARE(error.message, std::string("tensor 'table' has shape [4, 4], expected [4, 8]"));
    error = errorOf([&] { analysis::checkTensor(checkpoint, modelDir, "ints", {2, 2}); });
    QCOMPARE(error.code, ErrorCode::InvalidInput);
    QVERIFY(error.message.find("dtype I32") != std::string::npos);
}

void CheckpointStreamTest::fingerprintIdentifiesConfigAndTensorTable() {
    QTemporaryDir dir;
    const fs::path root(dir.path().toStdString());
    const ModelConfig config = tinyConfig();
    writeTinyModel(root / "a", config, 1);
    writeTinyModel(root / "same-shape-other-weights", config, 2);
    writeTinyModel(root / "bf16", config, 1, io::DType::BF16);
    const std::string a = io::modelFingerprint(root / "a");
    QCOMPARE(a.size(), size_t{64});
    QCOMPARE(a.find_first_not_of("0123456789abcdef"), std::string::npos);
    QCOMPARE(io::modelFingerprint(root / "a"), a);  // stable
    // Data is not hashed (headers only), so retrained weights of one shape share a fingerprint...
    QCOMPARE(io::modelFingerprint(root / "same-shape-other-weights"), a);
    // ...but a dtype, a shape or a config byte changes it.
    QVERIFY(io::modelFingerprint(root / "bf16") != a);
    fs::copy(root / "a", root / "edited", fs::copy_options::recursive);
    io::writeFileAtomically(root / "edited" / "config.json",
                            io::readSmallFile(root / "a" / "config.json") + " ");
    QVERIFY(io::modelFingerprint(root / "edited") != a);
    fs::copy(root / "a", root / "reshaped", fs::copy_options::recursive);
    std::vector<RawTensor> tensors = readRawTensors(root / "reshaped" / "model.safetensors");
    RawTensor& norm = rawTensorNamed(tensors, "model.norm.weight");
    norm.shape = {1, norm.shape[0]};
    writeRawTensors(root / "reshaped" / "model.safetensors", tensors);
    QVERIFY(io::modelFingerprint(root / "reshaped") != a);
    // Errors name the file.
    const Error error = errorOf([&] { io::modelFingerprint(root / "missing"); });
    QVERIFY(error.path.find("missing") != std::string::npos);
}

DHA_TEST_SUITE(CheckpointStreamTest)
#include "checkpoint_stream_test.moc"
