// A PNG line chart without Qt (the quality benchmark's tokens-to-loss plot): series on linear or log axes,
// dashed reference lines, a legend, written atomically.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dha {

struct ChartSeries {
    std::string label;
    std::vector<double> x, y;  // same length; finite; positive on a log axis
    bool dashed = false;
    bool markers = true;  // a marker at every data point (shapes differ per series as well as colours)
};

struct LineChart {
    std::string title, xLabel, yLabel;
    bool logX = false;
    bool logY = false;
    std::vector<ChartSeries> series;   // at most kMaxChartSeries, each with its own colour-blind-safe colour
    std::optional<double> yMin, yMax;  // fixed y range ends; unset ends follow the data and reference lines
    std::vector<std::pair<double, std::string>> horizontalLines;  // e.g. the teacher's loss: dashed, labelled
};

constexpr int kMaxChartSeries = 8;

// Validates the chart (throws dha::Exception with ErrorCode::Usage naming the series or line at fault),
// renders it at width x height pixels and writes the PNG atomically. An empty chart still renders its axes.
void writeLineChartPng(const LineChart& chart, const std::filesystem::path& png, int width = 960,
                       int height = 600);

}  // namespace dha
