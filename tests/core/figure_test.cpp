// PNG encoding (decoded back with zlib, CRCs checked) and the similarity figure's layout and colours.
#include <QTemporaryDir>
#include <QTest>

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "dha/error.h"
#include "dha/similarity_image.h"
#include "io/png_writer.h"
#include "render/colour_map.h"
#include "render/similarity_grid.h"
#include "test_registry.h"

namespace {

uint32_t readBigEndian32(const std::string& bytes, size_t at) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3]));
}

// A strict decoder for what encodePng writes: checks signature, chunk order, every CRC, the header fields and
// filter bytes, and returns the pixels.
dha::io::RgbImage decodePng(const std::string& png) {
    dha::io::RgbImage image;
    if (png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) throw std::runtime_error("bad signature");
    size_t at = 8;
    std::string idat;
    std::vector<std::string> order;
    while (at + 12 <= png.size()) {
        const uint32_t length = readBigEndian32(png, at);
        const std::string type = png.substr(at + 4, 4);
        const std::string data = png.substr(at + 8, length);
        const uint32_t crc = readBigEndian32(png, at + 8 + length);
        const std::string typed = type + data;
        const uLong expected = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(typed.data()),
                                     static_cast<uInt>(typed.size()));
        if (crc != expected) throw std::runtime_error("bad CRC in " + type);
        order.push_back(type);
        if (type == "IHDR") {
            image.width = static_cast<int>(readBigEndian32(data, 0));
            image.height = static_cast<int>(readBigEndian32(data, 4));
            if (data.substr(8) != std::string{'\x08', '\x02', '\0', '\0', '\0'}) throw std::runtime_error("IHDR");
        } else if (type == "IDAT") {
            idat += data;
        }
        at += 12 + length;
    }
    if (at != png.size() || order.front() != "IHDR" || order.back() != "IEND") throw std::runtime_error("chunks");
    const size_t rowBytes = static_cast<size_t>(image.width) * 3;
    std::string raw((rowBytes + 1) * image.height, '\0');
    uLongf rawSize = static_cast<uLongf>(raw.size());
    if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &rawSize, reinterpret_cast<const Bytef*>(idat.data()),
                   static_cast<uLong>(idat.size())) != Z_OK ||
        rawSize != raw.size())
        throw std::runtime_error("inflate");
    for (int y = 0; y < image.height; ++y) {
        if (raw[y * (rowBytes + 1)] != '\0') throw std::runtime_error("filter byte");
        image.pixels.insert(image.pixels.end(), raw.begin() + y * (rowBytes + 1) + 1,
                            raw.begin() + (y + 1) * (rowBytes + 1));
    }
    return image;
}

bool sameColour(dha::io::Rgb a, dha::io::Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

dha::SimilarityReport twoLayerReport() {
    dha::SimilarityReport report;
    report.metric = dha::SimilarityMetric::WeightCka;
    for (int layer = 0; layer < 2; ++layer) {
        dha::LayerSimilarity entry;
        entry.layer = layer;
        entry.key = dha::Matrix(4, 4, 0.25f);
        entry.value = dha::Matrix(4, 4, 0.5f);
        for (int i = 0; i < 4; ++i) entry.key.at(i, i) = entry.value.at(i, i) = 1.0f;
        report.layers.push_back(entry);
    }
    return report;
}

}  // namespace

class PngWriterTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripsEveryPixel() {
        dha::io::RgbImage image(37, 11, dha::io::Rgb{1, 2, 3});
        for (int y = 0; y < image.height; ++y)
            for (int x = 0; x < image.width; ++x)
                image.set(x, y, dha::io::Rgb{static_cast<uint8_t>(x * 7), static_cast<uint8_t>(y * 23),
                                             static_cast<uint8_t>(x ^ y)});
        const dha::io::RgbImage decoded = decodePng(dha::io::encodePng(image));
        QCOMPARE(decoded.width, 37);
        QCOMPARE(decoded.height, 11);
        QVERIFY(decoded.pixels == image.pixels);
    }
    void clipsDrawingOutsideTheImage() {
        dha::io::RgbImage image(4, 4, dha::io::Rgb{0, 0, 0});
        image.fillRect(-2, -2, 3, 3, dha::io::Rgb{9, 9, 9});
        image.set(10, 10, dha::io::Rgb{1, 1, 1});
        QVERIFY(sameColour(image.get(0, 0), {9, 9, 9}));
        QVERIFY(sameColour(image.get(1, 1), {0, 0, 0}));
    }
    void refusesImpossibleSizes() {
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::io::RgbImage(0, 5, {}));
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::io::RgbImage(5, 100000, {}));
        dha::io::RgbImage broken;
        broken.width = 2;
        broken.height = 2;  // no pixels
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::io::encodePng(broken));
    }
};

class SimilarityFigureTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void viridisEndsAndNan() {
        QVERIFY(sameColour(dha::render::viridis(0.0), {68, 1, 84}));
        QVERIFY(sameColour(dha::render::viridis(1.0), {253, 231, 37}));
        QVERIFY(sameColour(dha::render::viridis(7.0), {253, 231, 37}));  // clamped
        QVERIFY(sameColour(dha::render::viridis(std::nan("")), {128, 128, 128}));
    }
    void cellsCarryTheirValuesColour() {
        dha::SimilarityImageOptions options;
        options.cellPixels = 10;
        options.columns = 2;
        const dha::io::RgbImage image = dha::render::renderSimilarityGrid(twoLayerReport(), options);
        // Count pixels of each value's colour: 2 layers x (4 diagonal cells of 1.0 in K and V) and the
        // off-diagonal cells, 100 pixels per cell. The colour bar adds a few columns of these colours too, so
        // the counts are lower bounds, and the distinct off-diagonal colours must both be present.
        auto count = [&](dha::io::Rgb colour) {
            int n = 0;
            for (int y = 0; y < image.height; ++y)
                for (int x = 0; x < image.width; ++x) n += sameColour(image.get(x, y), colour);
            return n;
        };
        QVERIFY(count(dha::render::viridis(1.0)) >= 2 * 8 * 100);
        QVERIFY(count(dha::render::viridis(0.25)) >= 2 * 12 * 100);
        QVERIFY(count(dha::render::viridis(0.5)) >= 2 * 12 * 100);
    }
    void cosineUsesTheSymmetricScale() {
        QCOMPARE(dha::render::colourScaleFor(dha::SimilarityMetric::WeightCosine).low, -1.0);
        QCOMPARE(dha::render::colourScaleFor(dha::SimilarityMetric::WeightCka).low, 0.0);
    }
    void writesADecodablePngFile() {
        QTemporaryDir dir;
        const std::filesystem::path path = std::filesystem::path(dir.path().toStdString()) / "similarity.png";
        dha::writeSimilarityPng(twoLayerReport(), path);
        std::ifstream in(path, std::ios::binary);
        std::stringstream bytes;
        bytes << in.rdbuf();
        const dha::io::RgbImage decoded = decodePng(bytes.str());
        QVERIFY(decoded.width > 100 && decoded.height > 100);
    }
    void refusesAnEmptyReport() {
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::render::renderSimilarityGrid(dha::SimilarityReport{}, {}));
    }
};

DHA_TEST_SUITE(PngWriterTest)
DHA_TEST_SUITE(SimilarityFigureTest)
#include "figure_test.moc"
