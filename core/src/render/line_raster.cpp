// Lines are stepped one pixel at a time along their major axis (DDA) and stamped with a square brush;
// clipping happens twice: the segment to the rectangle first (so a far-away point costs nothing), then every
// brush pixel.
#include "render/line_raster.h"

#include <algorithm>
#include <cmath>

namespace dha::render {
namespace {

void plot(io::RgbImage& image, const ClipRect& clip, int x, int y, io::Rgb colour) {
    if (clip.contains(x, y)) image.set(x, y, colour);
}

bool isFinite(const PixelPoint& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

}  // namespace

bool clipSegment(PixelPoint& a, PixelPoint& b, const ClipRect& clip) {
    if (!isFinite(a) || !isFinite(b)) return false;
    const long double dx = b.x - a.x, dy = b.y - a.y;
    long double enter = 0, leave = 1;
    // Each edge as p * t <= q: left, right, top, bottom.
    const long double p[4] = {-dx, dx, -dy, dy};
    const long double q[4] = {a.x - clip.left, clip.right - a.x, a.y - clip.top, clip.bottom - a.y};
    for (int edge = 0; edge < 4; ++edge) {
        if (p[edge] == 0) {
            if (q[edge] < 0) return false;  // parallel to this edge and outside it
            continue;
        }
        const long double t = q[edge] / p[edge];
        if (p[edge] < 0)
            enter = std::max(enter, t);
        else
            leave = std::min(leave, t);
        if (enter > leave) return false;
    }
    const PixelPoint start = a;
    a = {start.x + enter * dx, start.y + enter * dy};
    b = {start.x + leave * dx, start.y + leave * dy};
    return isFinite(a) && isFinite(b);
}

void drawSegment(io::RgbImage& image, const ClipRect& clip, PixelPoint a, PixelPoint b, io::Rgb colour,
                 int thickness, DashPattern& dash) {
    if (!clipSegment(a, b, clip)) return;
    // After clipping both ends lie inside the image-sized rectangle, so these fit an int.
    const double x0 = static_cast<double>(a.x), y0 = static_cast<double>(a.y);
    const double dx = static_cast<double>(b.x - a.x), dy = static_cast<double>(b.y - a.y);
    const int steps = std::max(1, static_cast<int>(std::ceil(std::max(std::abs(dx), std::abs(dy)))));
    const int low = -(thickness - 1) / 2, high = thickness / 2;
    for (int i = 0; i <= steps; ++i) {
        if (dash.on > 0) {
            const bool visible = dash.phase < dash.on;
            dash.phase = (dash.phase + 1) % (dash.on + dash.off);
            if (!visible) continue;
        }
        const int x = static_cast<int>(std::lround(x0 + dx * i / steps));
        const int y = static_cast<int>(std::lround(y0 + dy * i / steps));
        for (int oy = low; oy <= high; ++oy)
            for (int ox = low; ox <= high; ++ox) plot(image, clip, x + ox, y + oy, colour);
    }
}

void drawMarker(io::RgbImage& image, const ClipRect& clip, int x, int y, MarkerShape shape, io::Rgb colour) {
    for (int dy = -5; dy <= 5; ++dy)
        for (int dx = -5; dx <= 5; ++dx) {
            bool inside = false;
            switch (shape) {
                case MarkerShape::Circle:
                    inside = dx * dx + dy * dy <= 20;
                    break;
                case MarkerShape::Square:
                    inside = std::abs(dx) <= 3 && std::abs(dy) <= 3;
                    break;
                case MarkerShape::Diamond:
                    inside = std::abs(dx) + std::abs(dy) <= 5;
                    break;
                // Apex 4 pixels above the data point, base 9 pixels wide 4 pixels below it.
                case MarkerShape::Triangle:
                    inside = dy >= -4 && dy <= 4 && 2 * std::abs(dx) <= dy + 4;
                    break;
            }
            if (inside) plot(image, clip, x + dx, y + dy, colour);
        }
}

}  // namespace dha::render
