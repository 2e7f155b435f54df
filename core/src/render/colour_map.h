// Perceptually ordered colour map for heatmaps (viridis, as the GUI's QCustomPlot gradient approximates it).
#pragma once

#include "io/png_writer.h"

namespace dha::render {

// t in [0, 1] (clamped) to viridis; NaN maps to grey so a bad value is visible instead of hidden.
io::Rgb viridis(double t);

}  // namespace dha::render
