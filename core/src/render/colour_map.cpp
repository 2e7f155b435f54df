// Viridis by linear interpolation between nine samples of the matplotlib table (exact at the samples).
#include "render/colour_map.h"

#include <algorithm>
#include <cmath>

namespace dha::render {

io::Rgb viridis(double t) {
    static constexpr unsigned char kStops[9][3] = {
        {68, 1, 84},    {71, 44, 122},  {59, 81, 139},   {44, 113, 142}, {33, 144, 141},
        {39, 173, 129}, {92, 200, 99},  {170, 220, 50},  {253, 231, 37},
    };
    if (std::isnan(t)) return io::Rgb{128, 128, 128};
    const double clamped = std::clamp(t, 0.0, 1.0) * 8.0;
    const int low = std::min(7, static_cast<int>(clamped));
    const double f = clamped - low;
    auto mix = [&](int channel) {
        return static_cast<uint8_t>(std::lround(kStops[low][channel] * (1.0 - f) + kStops[low + 1][channel] * f));
    };
    return io::Rgb{mix(0), mix(1), mix(2)};
}

}  // namespace dha::render
