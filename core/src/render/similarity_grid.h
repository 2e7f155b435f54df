// Lays out a similarity report as a grid of per-layer key/value heatmap tiles with labels and a colour bar.
#pragma once

#include "dha/similarity.h"
#include "dha/similarity_image.h"
#include "io/png_writer.h"

namespace dha::render {

struct ColourScale {
    double low = 0.0;
    double high = 1.0;
};

ColourScale colourScaleFor(SimilarityMetric metric);
io::RgbImage renderSimilarityGrid(const SimilarityReport& report, const SimilarityImageOptions& options);

}  // namespace dha::render
