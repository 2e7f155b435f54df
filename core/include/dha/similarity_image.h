// A PNG figure of a similarity report: every layer's key and value heatmaps side by side, one fixed colour
// scale, a colour bar (the paper's Figure 2 for every layer).
#pragma once

#include <filesystem>

#include "dha/similarity.h"

namespace dha {

struct SimilarityImageOptions {
    int cellPixels = 0;  // pixels per matrix cell; 0 = chosen from the head count (24 px for 8 heads)
    int columns = 0;     // layer tiles per row; 0 = chosen from the layer count
};

// Renders and writes the figure atomically. CKA is drawn on [0, 1], cosine metrics on [-1, 1].
void writeSimilarityPng(const SimilarityReport& report, const std::filesystem::path& pngPath,
                        const SimilarityImageOptions& options = {});

}  // namespace dha
