// PNG encoding with zlib: filter type 0 on every row (figures are flat colour blocks, which deflate
// compresses well without prediction).
#include "io/png_writer.h"

#include <zlib.h>

#include <algorithm>
#include <array>

#include "dha/error.h"
#include "io/atomic_file.h"

namespace dha::io {
namespace {

constexpr int kMaxSide = 16384;  // a figure bigger than this is a bug, not a request

void appendBigEndian32(std::string& out, uint32_t value) {
    out.push_back(static_cast<char>((value >> 24) & 0xff));
    out.push_back(static_cast<char>((value >> 16) & 0xff));
    out.push_back(static_cast<char>((value >> 8) & 0xff));
    out.push_back(static_cast<char>(value & 0xff));
}

void appendChunk(std::string& out, const char type[4], const std::string& data) {
    appendBigEndian32(out, static_cast<uint32_t>(data.size()));
    std::string typed(type, 4);
    typed += data;
    out += typed;
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(typed.data()),
                            static_cast<uInt>(typed.size()));
    appendBigEndian32(out, static_cast<uint32_t>(crc));
}

}  // namespace

RgbImage::RgbImage(int w, int h, Rgb fill) : width(w), height(h) {
    if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide)
        fail(ErrorCode::Usage, "", "image size " + std::to_string(w) + " x " + std::to_string(h) +
                                             " is outside 1.." + std::to_string(kMaxSide));
    pixels.resize(static_cast<size_t>(w) * h * 3);
    for (size_t i = 0; i < pixels.size(); i += 3) {
        pixels[i] = fill.r;
        pixels[i + 1] = fill.g;
        pixels[i + 2] = fill.b;
    }
}

void RgbImage::set(int x, int y, Rgb colour) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    uint8_t* p = &pixels[(static_cast<size_t>(y) * width + x) * 3];
    p[0] = colour.r;
    p[1] = colour.g;
    p[2] = colour.b;
}

Rgb RgbImage::get(int x, int y) const {
    const uint8_t* p = &pixels[(static_cast<size_t>(y) * width + x) * 3];
    return Rgb{p[0], p[1], p[2]};
}

void RgbImage::fillRect(int x, int y, int w, int h, Rgb colour) {
    const int x0 = std::max(0, x), y0 = std::max(0, y);
    const int x1 = std::min(width, x + w), y1 = std::min(height, y + h);
    for (int row = y0; row < y1; ++row)
        for (int col = x0; col < x1; ++col) set(col, row, colour);
}

std::string encodePng(const RgbImage& image) {
    if (image.width <= 0 || image.height <= 0 || image.width > kMaxSide || image.height > kMaxSide ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
        fail(ErrorCode::Usage, "", "cannot encode a malformed image as PNG");

    const size_t rowBytes = static_cast<size_t>(image.width) * 3;
    std::string raw;
    raw.reserve((rowBytes + 1) * image.height);
    for (int y = 0; y < image.height; ++y) {
        raw.push_back('\0');  // filter type 0 (None)
        raw.append(reinterpret_cast<const char*>(&image.pixels[y * rowBytes]), rowBytes);
    }
    uLongf compressedSize = compressBound(static_cast<uLong>(raw.size()));
    std::string compressed(compressedSize, '\0');
    if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressedSize,
                  reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9) != Z_OK)
        fail(ErrorCode::Internal, "", "zlib failed to compress the image");
    compressed.resize(compressedSize);

    std::string header;
    appendBigEndian32(header, static_cast<uint32_t>(image.width));
    appendBigEndian32(header, static_cast<uint32_t>(image.height));
    header += std::string{'\x08', '\x02', '\0', '\0', '\0'};  // 8-bit, truecolour, deflate, filter 0, no interlace

    std::string png("\x89PNG\r\n\x1a\n", 8);
    appendChunk(png, "IHDR", header);
    appendChunk(png, "IDAT", compressed);
    appendChunk(png, "IEND", std::string());
    return png;
}

void writePng(const RgbImage& image, const std::filesystem::path& path) {
    writeFileAtomically(path, encodePng(image));
}

}  // namespace dha::io
