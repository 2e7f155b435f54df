// Lays out and rasterises a dha::LineChart; exposes the plot geometry so tests can find a data point's pixel.
#pragma once

#include "dha/line_chart.h"
#include "io/png_writer.h"
#include "render/line_raster.h"

namespace dha::render {

struct ChartAxis {
    bool log = false;
    double low = 0.0, high = 1.0;  // the axis range in data units (positive on a log axis)
};

struct ChartGeometry {
    ClipRect plot;  // the plot area: data, grid and reference lines are drawn only inside it
    ChartAxis x, y;
    // Where a data point lands; points outside the axis ranges land outside `plot`.
    PixelPoint toPixel(double xValue, double yValue) const;
};

struct RenderedChart {
    io::RgbImage image;
    ChartGeometry geometry;
};

// The palette: Okabe-Ito, ordered so the first series are the most distinct on white.
io::Rgb seriesColour(int index);

// Throws dha::Exception (ErrorCode::Usage) naming the series or reference line at fault.
void validateLineChart(const LineChart& chart, int width, int height);
// Axis ranges of a valid chart: the data (and, for y, the reference lines) padded by 5%, or the fixed y ends.
ChartAxis xAxisFor(const LineChart& chart);
ChartAxis yAxisFor(const LineChart& chart);
RenderedChart renderLineChart(const LineChart& chart, int width, int height);

}  // namespace dha::render
