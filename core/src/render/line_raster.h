// Rasterising chart primitives onto an RgbImage: thick, optionally dashed polylines and markers, all clipped
// to a rectangle so out-of-range data never paints outside the plot area.
#pragma once

#include "io/png_writer.h"

namespace dha::render {

// Pixels with left <= x <= right and top <= y <= bottom.
struct ClipRect {
    int left = 0, top = 0, right = 0, bottom = 0;
    bool contains(int x, int y) const { return x >= left && x <= right && y >= top && y <= bottom; }
};

// Dash state carried from segment to segment so a dashed polyline keeps its rhythm across vertices.
struct DashPattern {
    int on = 0;   // pixels drawn per dash; 0 = solid line
    int off = 0;  // pixels skipped between dashes
    int phase = 0;
};

enum class MarkerShape { Circle, Square, Diamond, Triangle };

// Pixel coordinates are long double so a data point far outside a fixed axis range (1e300 on a 0..1 axis)
// maps to a huge but finite coordinate instead of overflowing; non-finite coordinates draw nothing.
struct PixelPoint {
    long double x = 0, y = 0;
};

// Clips the segment to `clip` (Liang-Barsky); false if nothing is left, else a and b become the visible part.
bool clipSegment(PixelPoint& a, PixelPoint& b, const ClipRect& clip);

// A line `thickness` pixels wide from a to b, clipped to `clip` (a thick line's edge pixels included).
void drawSegment(io::RgbImage& image, const ClipRect& clip, PixelPoint a, PixelPoint b, io::Rgb colour,
                 int thickness, DashPattern& dash);
// A filled marker about 9 pixels across centred on (x, y); pixels outside `clip` are left alone.
void drawMarker(io::RgbImage& image, const ClipRect& clip, int x, int y, MarkerShape shape, io::Rgb colour);

}  // namespace dha::render
