// Input checks and axis ranges for line charts: every number is checked before it reaches a pixel
// computation, so a NaN or a zero on a log axis is a clear error rather than an empty or garbled figure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "dha/error.h"
#include "render/line_chart.h"

namespace dha::render {
namespace {

constexpr int kMinSide = 160;  // smaller leaves no room for tick labels
constexpr int kMaxSide = 8192;
constexpr double kPadding = 0.05;  // fraction of the data span added at each automatic end

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::string seriesName(const ChartSeries& series, size_t index) {
    return series.label.empty() ? "series " + std::to_string(index + 1) : "series \"" + series.label + "\"";
}

void checkValues(const std::vector<double>& values, const std::string& name, const char* axis, bool logAxis) {
    for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]))
            fail(ErrorCode::Usage, name,
                 std::string(axis) + " value " + std::to_string(i + 1) + " is not finite");
        if (logAxis && values[i] <= 0.0)
            fail(ErrorCode::Usage, name,
                 std::string(axis) + " value " + std::to_string(i + 1) + " is " + number(values[i]) +
                     ", but the " + axis + " axis is logarithmic and needs positive values");
    }
}

void checkLimit(const std::optional<double>& limit, const char* name, bool logAxis) {
    if (!limit) return;
    if (!std::isfinite(*limit)) fail(ErrorCode::Usage, name, "is not finite");
    if (logAxis && *limit <= 0.0) fail(ErrorCode::Usage, name, "must be positive on a logarithmic y axis");
}

// Works in axis space (log10 on a log axis) so padding looks even on screen.
ChartAxis axisFor(double dataLow, double dataHigh, bool haveData, bool log, std::optional<double> fixedLow,
                  std::optional<double> fixedHigh) {
    auto toAxis = [log](double v) { return log ? std::log10(v) : v; };
    auto fromAxis = [log](double t) { return log ? std::pow(10.0, t) : t; };
    double low = 0.0, high = 1.0;
    if (haveData) {
        low = toAxis(dataLow);
        high = toAxis(dataHigh);
        // A flat or nearly flat series still gets a readable range around it.
        const double least = std::max(1e-9 * std::max(std::abs(low), std::abs(high)), 1e-300);
        if (high - low < least) {
            const double half = log ? std::log10(2.0) : std::max(std::abs(low) * 0.1, 0.5);
            low -= half;
            high += half;
        }
        const double pad = (high - low) * kPadding;
        low -= pad;
        high += pad;
    }
    if (fixedLow) low = toAxis(*fixedLow);
    if (fixedHigh) high = toAxis(*fixedHigh);
    if (!(high > low)) {  // one fixed end on the wrong side of all the data
        if (fixedHigh && !fixedLow)
            low = high - 1.0;
        else
            high = low + 1.0;
    }
    ChartAxis axis{log, fromAxis(low), fromAxis(high)};
    if (!std::isfinite(axis.low) || !std::isfinite(axis.high) || !std::isfinite(axis.high - axis.low) ||
        !(axis.high > axis.low) || (log && axis.low <= 0.0))
        fail(ErrorCode::Usage, "", "the chart's values span too wide a range to plot");
    return axis;
}

}  // namespace

void validateLineChart(const LineChart& chart, int width, int height) {
    if (width < kMinSide || height < kMinSide || width > kMaxSide || height > kMaxSide)
        fail(ErrorCode::Usage, "",
             "chart size " + std::to_string(width) + " x " + std::to_string(height) + " is outside " +
                 std::to_string(kMinSide) + ".." + std::to_string(kMaxSide));
    if (chart.series.size() > static_cast<size_t>(kMaxChartSeries))
        fail(ErrorCode::Usage, "",
             "a chart holds at most " + std::to_string(kMaxChartSeries) + " series (one colour each), got " +
                 std::to_string(chart.series.size()));
    for (size_t i = 0; i < chart.series.size(); ++i) {
        const ChartSeries& series = chart.series[i];
        const std::string name = seriesName(series, i);
        if (series.x.size() != series.y.size())
            fail(ErrorCode::Usage, name,
                 std::to_string(series.x.size()) + " x values but " + std::to_string(series.y.size()) +
                     " y values");
        checkValues(series.x, name, "x", chart.logX);
        checkValues(series.y, name, "y", chart.logY);
    }
    checkLimit(chart.yMin, "yMin", chart.logY);
    checkLimit(chart.yMax, "yMax", chart.logY);
    if (chart.yMin && chart.yMax && !(*chart.yMin < *chart.yMax))
        fail(ErrorCode::Usage, "",
             "yMin (" + number(*chart.yMin) + ") must be below yMax (" + number(*chart.yMax) + ")");
    for (const auto& [value, label] : chart.horizontalLines) {
        const std::string name = "reference line \"" + label + "\"";
        if (!std::isfinite(value)) fail(ErrorCode::Usage, name, "value is not finite");
        if (chart.logY && value <= 0.0)
            fail(ErrorCode::Usage, name,
                 "value " + number(value) + " is not positive, but the y axis is logarithmic");
    }
}

ChartAxis xAxisFor(const LineChart& chart) {
    double low = 0.0, high = 0.0;
    bool have = false;
    for (const ChartSeries& series : chart.series)
        for (double x : series.x) {
            low = have ? std::min(low, x) : x;
            high = have ? std::max(high, x) : x;
            have = true;
        }
    return axisFor(low, high, have, chart.logX, std::nullopt, std::nullopt);
}

ChartAxis yAxisFor(const LineChart& chart) {
    double low = 0.0, high = 0.0;
    bool have = false;
    auto take = [&](double y) {
        low = have ? std::min(low, y) : y;
        high = have ? std::max(high, y) : y;
        have = true;
    };
    for (const ChartSeries& series : chart.series)
        for (double y : series.y) take(y);
    for (const auto& line : chart.horizontalLines) take(line.first);
    return axisFor(low, high, have, chart.logY, chart.yMin, chart.yMax);
}

}  // namespace dha::render
