// Line chart layout: title on top, the legend in a box at the bottom (so it never hides data), axis labels
// and ticks around a framed plot area. Tick density is lowered until neighbouring labels no longer touch.
#include "render/line_chart.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dha/error.h"
#include "render/bitmap_font.h"
#include "render/chart_ticks.h"

namespace dha::render {
namespace {

constexpr io::Rgb kBackground{255, 255, 255};
constexpr io::Rgb kInk{30, 30, 30};
constexpr io::Rgb kFrame{90, 90, 90};
constexpr io::Rgb kGrid{228, 228, 228};
constexpr io::Rgb kReference{85, 85, 85};
constexpr io::Rgb kLegendFrame{170, 170, 170};
constexpr int kMargin = 16;
constexpr int kTextScale = 2;
constexpr int kTitleScale = 3;
constexpr int kTextHeight = kGlyphHeight * kTextScale;
constexpr int kTickLength = 5;
constexpr int kLegendRow = 22;
constexpr int kLegendPadding = 8;
constexpr int kLegendSample = 40;  // the line-and-marker swatch before each legend label
constexpr int kLegendGap = 28;     // between legend entries on one row
constexpr int kSeriesThickness = 3;
constexpr int kMinPlotSide = 40;  // a smaller plot area cannot show a curve
constexpr MarkerShape kShapes[] = {MarkerShape::Circle, MarkerShape::Square, MarkerShape::Diamond,
                                   MarkerShape::Triangle};

DashPattern seriesDash(bool dashed) { return dashed ? DashPattern{12, 8, 0} : DashPattern{}; }

// Cuts `text` and appends ".." when it is wider than `maxWidth` pixels.
std::string fitText(const std::string& text, int scale, int maxWidth) {
    if (textWidth(text, scale) <= maxWidth) return text;
    std::string cut = text;
    while (!cut.empty() && textWidth(cut + "..", scale) > maxWidth) cut.pop_back();
    return cut.empty() ? std::string() : cut + "..";
}

// Text reading bottom to top, its bounding box's top-left at (x, y): the bitmap font has no rotation, so the
// text is drawn upright on a scratch image and copied turned by 90 degrees.
void drawTextUpwards(io::RgbImage& image, int x, int y, const std::string& text, int scale, io::Rgb colour) {
    const int length = textWidth(text, scale);
    if (length <= 0) return;
    io::RgbImage scratch(length, kGlyphHeight * scale, kBackground);
    drawText(scratch, 0, 0, text, scale, kInk);
    for (int sy = 0; sy < scratch.height; ++sy)
        for (int sx = 0; sx < scratch.width; ++sx)
            if (scratch.get(sx, sy).r != kBackground.r) image.set(x + sy, y + length - 1 - sx, colour);
}

double toAxis(const ChartAxis& axis, double value) { return axis.log ? std::log10(value) : value; }

// The densest ticks whose labels keep `gap` pixels between neighbours along an axis `length` pixels long.
template <typename LabelExtent>
TickSet fitTicks(const ChartAxis& axis, int length, int pixelsPerTick, int gap, LabelExtent extent) {
    TickSet ticks;
    const double span = toAxis(axis, axis.high) - toAxis(axis, axis.low);
    for (int target = std::max(2, length / pixelsPerTick); target >= 2; --target) {
        ticks = axis.log ? logTicks(axis.low, axis.high, target) : linearTicks(axis.low, axis.high, target);
        bool fits = true;
        for (size_t i = 1; i < ticks.values.size() && fits; ++i) {
            const double distance =
                (toAxis(axis, ticks.values[i]) - toAxis(axis, ticks.values[i - 1])) / span * (length - 1);
            fits = distance >= (extent(ticks.labels[i - 1]) + extent(ticks.labels[i])) / 2.0 + gap;
        }
        if (fits) break;
    }
    return ticks;
}

struct LegendLayout {
    std::vector<std::string> labels;
    std::vector<int> row, x;  // per entry, x relative to the box's inner left edge
    int rows = 0;
    int height = 0;  // of the whole box; 0 = no legend
};

LegendLayout layoutLegend(const LineChart& chart, int innerWidth) {
    LegendLayout legend;
    int penX = 0;
    for (const ChartSeries& series : chart.series) {
        const std::string label = fitText(series.label, kTextScale, innerWidth - kLegendSample - 8);
        const int entryWidth = kLegendSample + 8 + textWidth(label, kTextScale);
        if (penX > 0 && penX + entryWidth > innerWidth) {
            ++legend.rows;
            penX = 0;
        }
        legend.labels.push_back(label);
        legend.row.push_back(legend.rows);
        legend.x.push_back(penX);
        penX += entryWidth + kLegendGap;
    }
    if (!chart.series.empty()) ++legend.rows;
    legend.height =
        legend.rows > 0 ? legend.rows * kLegendRow + 2 * kLegendPadding - (kLegendRow - kTextHeight) : 0;
    return legend;
}

void drawLegend(io::RgbImage& image, const LineChart& chart, const LegendLayout& legend, int left, int top,
                int width) {
    image.fillRect(left, top, width, 1, kLegendFrame);
    image.fillRect(left, top + legend.height - 1, width, 1, kLegendFrame);
    image.fillRect(left, top, 1, legend.height, kLegendFrame);
    image.fillRect(left + width - 1, top, 1, legend.height, kLegendFrame);
    const ClipRect whole{0, 0, image.width - 1, image.height - 1};
    for (size_t i = 0; i < chart.series.size(); ++i) {
        const int x = left + kLegendPadding + legend.x[i];
        const int y = top + kLegendPadding + legend.row[i] * kLegendRow;
        const int middle = y + kTextHeight / 2;
        DashPattern dash = chart.series[i].dashed ? DashPattern{8, 5, 0} : DashPattern{};
        drawSegment(image, whole, {x + 1.0L, middle + 0.0L}, {x + kLegendSample - 2.0L, middle + 0.0L},
                    seriesColour(static_cast<int>(i)), kSeriesThickness, dash);
        if (chart.series[i].markers)
            drawMarker(image, whole, x + kLegendSample / 2, middle, kShapes[i % 4],
                       seriesColour(static_cast<int>(i)));
        drawText(image, x + kLegendSample + 8, y, legend.labels[i], kTextScale, kInk);
    }
}

// The line's pixel row, or -1 when the value lies outside the y range.
int referenceRow(const ChartGeometry& geometry, double value) {
    const long double y = geometry.toPixel(geometry.x.low, value).y;
    if (y < geometry.plot.top || y > geometry.plot.bottom) return -1;
    return static_cast<int>(std::lround(static_cast<double>(y)));
}

void drawReferenceLine(io::RgbImage& image, const ChartGeometry& geometry, double value) {
    const int y = referenceRow(geometry, value);
    if (y < 0) return;
    DashPattern dash{8, 6, 0};
    const ClipRect& plot = geometry.plot;
    drawSegment(image, plot, {static_cast<long double>(plot.left), static_cast<long double>(y)},
                {static_cast<long double>(plot.right), static_cast<long double>(y)}, kReference, 2, dash);
}

// Drawn after the data, on a white patch, at whichever of four spots along the line (above or below, right or
// left end) covers the fewest data pixels, so the label neither garbles nor hides a curve when it can avoid
// it.
void drawReferenceLabel(io::RgbImage& image, const ChartGeometry& geometry, double value,
                        const std::string& label) {
    const ClipRect& plot = geometry.plot;
    const int y = referenceRow(geometry, value);
    const std::string text = fitText(label, kTextScale, plot.right - plot.left - 16);
    if (y < 0 || text.empty()) return;
    const int width = textWidth(text, kTextScale);
    const int above = y - 5 - kTextHeight, below = y + 6;
    const int spots[4][2] = {{plot.right - 6 - width, above},
                             {plot.left + 6, above},
                             {plot.right - 6 - width, below},
                             {plot.left + 6, below}};
    int best = -1;
    long bestCovered = 0;
    for (int i = 0; i < 4; ++i) {
        const int x = spots[i][0], top = spots[i][1];
        if (top - 2 < plot.top || top + kTextHeight + 2 > plot.bottom) continue;
        long covered = 0;
        for (int py = top - 2; py < top + kTextHeight + 2; ++py)
            for (int px = std::max(plot.left, x - 3); px < std::min(plot.right + 1, x + width + 3); ++px) {
                const io::Rgb c = image.get(px, py);
                const auto is = [c](io::Rgb o) { return c.r == o.r && c.g == o.g && c.b == o.b; };
                covered += !is(kBackground) && !is(kGrid) && !is(kReference);
            }
        if (best < 0 || covered < bestCovered) {
            best = i;
            bestCovered = covered;
        }
    }
    if (best < 0)
        best = spots[0][1] - 2 >= plot.top ? 0 : 2;  // a plot too short for either: keep it in the image
    const int x = spots[best][0], top = spots[best][1];
    const int patchLeft = std::max(plot.left, x - 3);
    image.fillRect(patchLeft, top - 2, std::min(plot.right + 1, x + width + 3) - patchLeft, kTextHeight + 4,
                   kBackground);
    drawText(image, x, top, text, kTextScale, kReference);
}

}  // namespace

PixelPoint ChartGeometry::toPixel(double xValue, double yValue) const {
    // long double: a value far outside a fixed range must give a far but finite coordinate, not infinity.
    auto fraction = [](const ChartAxis& axis, double value) {
        const long double low = axis.log ? std::log10(static_cast<long double>(axis.low)) : axis.low;
        const long double high = axis.log ? std::log10(static_cast<long double>(axis.high)) : axis.high;
        const long double v = axis.log ? std::log10(static_cast<long double>(value)) : value;
        return (v - low) / (high - low);
    };
    return {plot.left + fraction(x, xValue) * (plot.right - plot.left),
            plot.bottom - fraction(y, yValue) * (plot.bottom - plot.top)};
}

io::Rgb seriesColour(int index) {
    static constexpr io::Rgb kPalette[kMaxChartSeries] = {
        {0, 114, 178}, {213, 94, 0},   {0, 158, 115}, {204, 121, 167},
        {230, 159, 0}, {86, 180, 233}, {0, 0, 0},     {240, 228, 66},
    };
    return kPalette[((index % kMaxChartSeries) + kMaxChartSeries) % kMaxChartSeries];
}

RenderedChart renderLineChart(const LineChart& chart, int width, int height) {
    validateLineChart(chart, width, height);
    RenderedChart out{io::RgbImage(width, height, kBackground), ChartGeometry{}};
    io::RgbImage& image = out.image;
    ChartGeometry& geometry = out.geometry;
    geometry.x = xAxisFor(chart);
    geometry.y = yAxisFor(chart);

    // Vertical layout, top down: title, plot, x tick labels, x label, legend.
    const int innerWidth = width - 2 * kMargin;
    const std::string title = fitText(chart.title, kTitleScale, innerWidth);
    const int plotTop = kMargin + (title.empty() ? kTextHeight / 2 : kGlyphHeight * kTitleScale + 14);
    const LegendLayout legend = layoutLegend(chart, innerWidth - 2 * kLegendPadding);
    const std::string xLabel = fitText(chart.xLabel, kTextScale, innerWidth);
    int plotBottom = height - kMargin - legend.height - (legend.height > 0 ? 12 : 0);
    if (!xLabel.empty()) plotBottom -= kTextHeight + 10;
    plotBottom -= kTickLength + 6 + kTextHeight + 1;

    // Horizontal layout: y label, y tick labels, plot; the right margin leaves half a tick label of room.
    const int plotHeight = plotBottom - plotTop + 1;
    if (plotHeight < kMinPlotSide)
        fail(ErrorCode::Usage, "",
             "a " + std::to_string(width) + " x " + std::to_string(height) +
                 " chart leaves no height for the plot after its title, labels and legend",
             "make the chart taller or use fewer series");
    const TickSet yTicks =
        fitTicks(geometry.y, plotHeight, 48, 8, [](const std::string&) { return kTextHeight; });
    int yLabelsWidth = 0;
    for (const std::string& label : yTicks.labels)
        yLabelsWidth = std::max(yLabelsWidth, textWidth(label, kTextScale));
    const std::string yLabel = fitText(chart.yLabel, kTextScale, plotHeight);
    const int plotLeft =
        kMargin + (yLabel.empty() ? 0 : kTextHeight + 12) + yLabelsWidth + 6 + kTickLength + 2;
    const int plotRight = width - kMargin - 28;
    if (plotRight - plotLeft + 1 < kMinPlotSide)
        fail(ErrorCode::Usage, "",
             "a " + std::to_string(width) + " x " + std::to_string(height) +
                 " chart leaves no width for the plot after its tick labels",
             "make the chart wider");
    geometry.plot = ClipRect{plotLeft, plotTop, plotRight, plotBottom};
    const ClipRect& plot = geometry.plot;
    const int plotWidth = plot.right - plot.left + 1;
    const TickSet xTicks = fitTicks(geometry.x, plotWidth, 90, 14,
                                    [](const std::string& label) { return textWidth(label, kTextScale); });

    // Grid and tick marks, then the data, then the frame over the data's edge pixels.
    for (size_t i = 0; i < xTicks.values.size(); ++i) {
        const int x =
            static_cast<int>(std::lround(static_cast<double>(geometry.toPixel(xTicks.values[i], 1).x)));
        image.fillRect(x, plot.top, 1, plotHeight, kGrid);
        image.fillRect(x, plot.bottom + 2, 1, kTickLength, kFrame);
        const int w = textWidth(xTicks.labels[i], kTextScale);
        const int labelX = std::clamp(x - w / 2, 0, width - w);
        drawText(image, labelX, plot.bottom + 2 + kTickLength + 6, xTicks.labels[i], kTextScale, kInk);
    }
    for (size_t i = 0; i < yTicks.values.size(); ++i) {
        const int y =
            static_cast<int>(std::lround(static_cast<double>(geometry.toPixel(1, yTicks.values[i]).y)));
        image.fillRect(plot.left, y, plotWidth, 1, kGrid);
        image.fillRect(plot.left - 1 - kTickLength, y, kTickLength, 1, kFrame);
        const int w = textWidth(yTicks.labels[i], kTextScale);
        drawText(image, plot.left - 2 - kTickLength - 6 - w, y - kTextHeight / 2, yTicks.labels[i],
                 kTextScale, kInk);
    }
    for (const auto& line : chart.horizontalLines) drawReferenceLine(image, geometry, line.first);
    for (size_t s = 0; s < chart.series.size(); ++s) {
        const ChartSeries& series = chart.series[s];
        const io::Rgb colour = seriesColour(static_cast<int>(s));
        DashPattern dash = seriesDash(series.dashed);
        for (size_t i = 1; i < series.x.size(); ++i)
            drawSegment(image, plot, geometry.toPixel(series.x[i - 1], series.y[i - 1]),
                        geometry.toPixel(series.x[i], series.y[i]), colour, kSeriesThickness, dash);
        if (!series.markers) continue;
        for (size_t i = 0; i < series.x.size(); ++i) {
            const PixelPoint p = geometry.toPixel(series.x[i], series.y[i]);
            if (p.x < plot.left - 8 || p.x > plot.right + 8 || p.y < plot.top - 8 || p.y > plot.bottom + 8)
                continue;
            drawMarker(image, plot, static_cast<int>(std::lround(static_cast<double>(p.x))),
                       static_cast<int>(std::lround(static_cast<double>(p.y))), kShapes[s % 4], colour);
        }
    }
    for (const auto& [value, label] : chart.horizontalLines)
        drawReferenceLabel(image, geometry, value, label);
    image.fillRect(plot.left - 1, plot.top - 1, plotWidth + 2, 1, kFrame);
    image.fillRect(plot.left - 1, plot.bottom + 1, plotWidth + 2, 1, kFrame);
    image.fillRect(plot.left - 1, plot.top - 1, 1, plotHeight + 2, kFrame);
    image.fillRect(plot.right + 1, plot.top - 1, 1, plotHeight + 2, kFrame);

    // Words last, so nothing paints over them.
    if (!title.empty())
        drawText(image, (width - textWidth(title, kTitleScale)) / 2, kMargin, title, kTitleScale, kInk);
    const int xLabelY = plot.bottom + 2 + kTickLength + 6 + kTextHeight + 10;
    if (!xLabel.empty())
        drawText(image, plot.left + (plotWidth - textWidth(xLabel, kTextScale)) / 2, xLabelY, xLabel,
                 kTextScale, kInk);
    if (!yLabel.empty())
        drawTextUpwards(image, kMargin, plot.top + (plotHeight - textWidth(yLabel, kTextScale)) / 2, yLabel,
                        kTextScale, kInk);
    if (legend.height > 0)
        drawLegend(image, chart, legend, kMargin, height - kMargin - legend.height, innerWidth);
    return out;
}

}  // namespace dha::render

namespace dha {

void writeLineChartPng(const LineChart& chart, const std::filesystem::path& png, int width, int height) {
    io::writePng(render::renderLineChart(chart, width, height).image, png);
}

}  // namespace dha
