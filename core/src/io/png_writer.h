// RGB images and their PNG encoding (zlib-compressed, 8-bit truecolour): how the engine writes figures
// without Qt (the CLI's `dha analyse --png`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dha::io {

struct Rgb {
    uint8_t r = 0, g = 0, b = 0;
};

struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;  // width * height * 3, row-major, top row first

    RgbImage() = default;
    RgbImage(int w, int h, Rgb fill);
    void set(int x, int y, Rgb colour);  // ignores coordinates outside the image
    Rgb get(int x, int y) const;
    void fillRect(int x, int y, int w, int h, Rgb colour);  // clipped to the image
};

// A complete PNG file (signature, IHDR, IDAT, IEND). Throws dha::Exception for empty or oversized images.
std::string encodePng(const RgbImage& image);
// encodePng + atomic publication (temp + fsync + rename).
void writePng(const RgbImage& image, const std::filesystem::path& path);

}  // namespace dha::io
