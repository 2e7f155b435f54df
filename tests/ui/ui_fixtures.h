// Tiny models and texts for the GUI tests, made through the engine's public API only (ui tests never see
// torch): a 2-layer MHA model with a real tokenizer, and a conversion spec that runs in about a second.
#pragma once

#include <filesystem>

#include "dha/conversion.h"
#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha::test::ui {

inline const std::filesystem::path kSampleText = DHA_TEST_DATA_DIR "/text/sample.txt";
inline const std::filesystem::path kTokenizer = DHA_TEST_DATA_DIR "/tokenizers/unigram_identity.model";

// A randomly initialised 2-layer, 4-head MHA model (hidden 32, 32 positions) with kTokenizer, in `dir`.
std::filesystem::path writeTinyMhaModel(const std::filesystem::path& dir);

// dha at 50% of the K+V heads, batch 4 x 16, `fusionSteps` fusion and `continuedSteps` continued steps.
ConvertSpec tinyConvertSpec(const std::filesystem::path& source, const std::filesystem::path& runDir,
                            int fusionSteps = 6, int continuedSteps = 4);

// A hand-made analysis with block structure: in layer l, key heads i and j are similar when
// i % b == j % b (b = 4 in even layers, 2 in odd ones: adjacent heads are NOT grouped), value heads when
// i / 2 == j / 2. Small deterministic offsets break ties.
SimilarityReport blockSimilarityReport(int layers, int heads);

// 2 layers of 4 heads, decoupled: key groups {0,1} {2,3}, value groups {0} {1} {2,3} in both layers.
Plan twoLayerDecoupledPlan();

}  // namespace dha::test::ui
