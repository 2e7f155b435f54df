// Figure layout: title, then tiles ("LAYER n" over the key matrix and the value matrix), then a colour bar.
// Cells are solid blocks with no smoothing, so every head pair stays readable.
#include "render/similarity_grid.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "dha/error.h"
#include "render/bitmap_font.h"
#include "render/colour_map.h"

namespace dha::render {
namespace {

constexpr io::Rgb kBackground{255, 255, 255};
constexpr io::Rgb kInk{30, 30, 30};
constexpr io::Rgb kFrame{160, 160, 160};
constexpr int kMargin = 16;
constexpr int kTextScale = 2;
constexpr int kLineHeight = (kGlyphHeight + 3) * kTextScale;
constexpr int kMatrixGap = 10;  // between a layer's key and value matrices
constexpr int kTileGap = 24;    // between layer tiles

std::string formatValue(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", value);
    return text;
}

int headCount(const SimilarityReport& report) {
    int heads = 1;
    for (const LayerSimilarity& layer : report.layers) heads = std::max({heads, layer.key.rows, layer.value.rows});
    return heads;
}

void drawMatrix(io::RgbImage& image, int x, int y, int cell, const Matrix& matrix, const ColourScale& scale) {
    for (int row = 0; row < matrix.rows; ++row)
        for (int col = 0; col < matrix.cols; ++col) {
            const double t = (matrix.at(row, col) - scale.low) / (scale.high - scale.low);
            image.fillRect(x + col * cell, y + row * cell, cell, cell, viridis(t));
        }
    // A one-pixel frame outside the cells.
    const int w = matrix.cols * cell, h = matrix.rows * cell;
    image.fillRect(x - 1, y - 1, w + 2, 1, kFrame);
    image.fillRect(x - 1, y + h, w + 2, 1, kFrame);
    image.fillRect(x - 1, y - 1, 1, h + 2, kFrame);
    image.fillRect(x + w, y - 1, 1, h + 2, kFrame);
}

}  // namespace

ColourScale colourScaleFor(SimilarityMetric metric) {
    if (metric == SimilarityMetric::WeightCosine || metric == SimilarityMetric::ActivationCosine) return {-1.0, 1.0};
    return {0.0, 1.0};
}

io::RgbImage renderSimilarityGrid(const SimilarityReport& report, const SimilarityImageOptions& options) {
    if (report.layers.empty()) fail(ErrorCode::Usage, "", "the similarity report has no layers to draw");
    const int layers = static_cast<int>(report.layers.size());
    const int heads = headCount(report);
    const int cell = options.cellPixels > 0 ? options.cellPixels : std::clamp(192 / heads, 3, 24);
    const int columns = options.columns > 0 ? std::min(options.columns, layers)
                                            : std::max(1, static_cast<int>(std::lround(std::sqrt(layers / 2.0))));
    const int rows = (layers + columns - 1) / columns;

    const int matrixSide = heads * cell;
    const int tileWidth = std::max(2 * matrixSide + kMatrixGap, textWidth("LAYER 000", kTextScale));
    const int tileHeight = kLineHeight + matrixSide + kLineHeight;  // "LAYER n", matrices, "K" and "V"
    const int width = 2 * kMargin + columns * tileWidth + (columns - 1) * kTileGap;
    const int titleHeight = 2 * kLineHeight;
    const int barHeight = 3 * kLineHeight;
    const int height = 2 * kMargin + titleHeight + rows * tileHeight + (rows - 1) * kTileGap + barHeight;
    io::RgbImage image(width, height, kBackground);

    const ColourScale scale = colourScaleFor(report.metric);
    std::string title = std::string("HEAD SIMILARITY: ") + similarityMetricName(report.metric);
    drawText(image, kMargin, kMargin, title, kTextScale, kInk);
    drawText(image, kMargin, kMargin + kLineHeight, "LEFT: KEY HEADS (K)   RIGHT: VALUE HEADS (V)", kTextScale, kInk);

    for (int i = 0; i < layers; ++i) {
        const LayerSimilarity& layer = report.layers[i];
        const int x = kMargin + (i % columns) * (tileWidth + kTileGap);
        const int y = kMargin + titleHeight + (i / columns) * (tileHeight + kTileGap);
        drawText(image, x, y, "LAYER " + std::to_string(layer.layer), kTextScale, kInk);
        const int matrixY = y + kLineHeight;
        drawMatrix(image, x, matrixY, cell, layer.key, scale);
        drawMatrix(image, x + matrixSide + kMatrixGap, matrixY, cell, layer.value, scale);
        const int labelY = matrixY + matrixSide + 4;
        drawText(image, x + (layer.key.cols * cell - textWidth("K", kTextScale)) / 2, labelY, "K", kTextScale, kInk);
        drawText(image, x + matrixSide + kMatrixGap + (layer.value.cols * cell - textWidth("V", kTextScale)) / 2,
                 labelY, "V", kTextScale, kInk);
    }

    // Colour bar across the full width with its end values.
    const int barY = height - kMargin - barHeight + kLineHeight / 2;
    const int barWidth = width - 2 * kMargin;
    for (int x = 0; x < barWidth; ++x)
        image.fillRect(kMargin + x, barY, 1, kLineHeight, viridis(static_cast<double>(x) / (barWidth - 1)));
    const int labelY = barY + kLineHeight + 4;
    drawText(image, kMargin, labelY, formatValue(scale.low), kTextScale, kInk);
    const std::string high = formatValue(scale.high);
    drawText(image, width - kMargin - textWidth(high, kTextScale), labelY, high, kTextScale, kInk);
    return image;
}

}  // namespace dha::render

namespace dha {

void writeSimilarityPng(const SimilarityReport& report, const std::filesystem::path& pngPath,
                        const SimilarityImageOptions& options) {
    io::writePng(render::renderSimilarityGrid(report, options), pngPath);
}

}  // namespace dha
