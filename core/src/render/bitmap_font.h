// A built-in 5x7 pixel font for figure labels, so the engine can letter a PNG without Qt or FreeType.
#pragma once

#include <string>

#include "io/png_writer.h"

namespace dha::render {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = 6;  // glyph plus one column of spacing

// Draws `text` with its top-left corner at (x, y), each font pixel a scale x scale block. Lower-case letters are
// drawn as capitals; characters the font lacks are drawn as a hollow box.
void drawText(io::RgbImage& image, int x, int y, const std::string& text, int scale, io::Rgb colour);
int textWidth(const std::string& text, int scale);

}  // namespace dha::render
