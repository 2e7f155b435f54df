// Axis tick positions and their labels for line charts: 1/2/5 x 10^k steps on linear axes, decades (with 2
// and 5 when they fit) on log axes.
#pragma once

#include <string>
#include <vector>

namespace dha::render {

struct TickSet {
    std::vector<double> values;  // ascending, all inside [low, high]
    // One per value, in the bitmap font's alphabet: "0", "0.25", "-3", "1.5K", "200M", "1B", "1E-5".
    std::vector<std::string> labels;
};

// The 1/2/5 x 10^k step that gives about `target` intervals over `span` (> 0).
double niceStep(double span, int target);
// Multiples of niceStep(high - low, target) inside [low, high]; labels share one number of decimals.
TickSet linearTicks(double low, double high, int target);
// For 0 < low < high: the finest of {1, 2, 5} x 10^k, 10^k, 10^(2k), 10^(3k), ... with at most `target`
// ticks; a range too narrow for two such ticks falls back to linearTicks.
TickSet logTicks(double low, double high, int target);

}  // namespace dha::render
