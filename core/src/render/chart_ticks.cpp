// Tick values are built as integer multiples of the step (never by repeated addition), so labels do not drift
// into "0.30000000000000004"; labels use K/M/B/T suffixes because token counts span 10^3..10^12.
#include "render/chart_ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dha::render {
namespace {

constexpr double kEpsilon = 1e-9;
constexpr double kSmallest = 1e-3;  // below this (or at 1e15 and above) labels switch to "2.5E-5" form
constexpr double kLargest = 1e15;

struct Unit {
    double divisor;
    const char* suffix;
};

Unit unitFor(double magnitude) {
    if (magnitude >= 1e12) return {1e12, "T"};
    if (magnitude >= 1e9) return {1e9, "B"};
    if (magnitude >= 1e6) return {1e6, "M"};
    if (magnitude >= 1e3) return {1e3, "K"};
    return {1.0, ""};
}

std::string fixed(double value, int decimals) {
    char text[48];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    std::string out = text;
    if (out.find_first_not_of("-0.") == std::string::npos) return "0";  // no "-0" or "0.00"
    return out;
}

// The fewest decimals (up to `most`) that print `value` exactly enough to tell it from its neighbours.
int decimalsFor(double value, int most) {
    for (int d = 0; d < most; ++d) {
        const double scaled = value * std::pow(10.0, d);
        if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, std::abs(scaled))) return d;
    }
    return most;
}

std::string scientific(double value) {
    if (value == 0.0) return "0";
    const int exponent = static_cast<int>(std::floor(std::log10(std::abs(value)) + kEpsilon));
    const double mantissa = value / std::pow(10.0, exponent);
    return fixed(mantissa, decimalsFor(mantissa, 3)) + "E" + std::to_string(exponent);
}

// One label on its own (log axes, where neighbours differ by factors, not by a common step).
std::string formatAlone(double value) {
    const double magnitude = std::abs(value);
    if (magnitude == 0.0) return "0";
    if (magnitude < kSmallest || magnitude >= kLargest) return scientific(value);
    const Unit unit = unitFor(magnitude);
    const double scaled = value / unit.divisor;
    return fixed(scaled, decimalsFor(scaled, 4)) + unit.suffix;
}

void appendLogTick(std::vector<double>& values, double value, double low, double high) {
    if (value >= low * (1.0 - kEpsilon) && value <= high * (1.0 + kEpsilon)) values.push_back(value);
}

std::vector<double> logCandidates(double low, double high, bool withTwoAndFive, int stride) {
    std::vector<double> values;
    const int first = static_cast<int>(std::floor(std::log10(low))) - 1;
    const int last = static_cast<int>(std::ceil(std::log10(high))) + 1;
    for (int k = first; k <= last; ++k) {
        if (((k % stride) + stride) % stride != 0) continue;
        const double decade = std::pow(10.0, k);
        appendLogTick(values, decade, low, high);
        if (withTwoAndFive) {
            appendLogTick(values, 2.0 * decade, low, high);
            appendLogTick(values, 5.0 * decade, low, high);
        }
    }
    return values;
}

}  // namespace

double niceStep(double span, int target) {
    const double raw = span / std::max(1, target);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double normalised = raw / magnitude;
    const double factor = normalised <= 1.0 + kEpsilon   ? 1.0
                          : normalised <= 2.0 + kEpsilon ? 2.0
                          : normalised <= 5.0 + kEpsilon ? 5.0
                                                         : 10.0;
    return factor * magnitude;
}

TickSet linearTicks(double low, double high, int target) {
    TickSet ticks;
    const double step = niceStep(high - low, target);
    const double first = std::ceil(low / step - kEpsilon);
    const double last = std::floor(high / step + kEpsilon);
    // Bounded count: callers keep spans above 1e-9 of the values, but a bad range must not spin here.
    const double count = std::min(last - first, 1000.0);
    for (double i = 0.0; i <= count; i += 1.0) {
        const double value = (first + i) * step;
        ticks.values.push_back(std::abs(value) < step * kEpsilon ? 0.0 : value);
    }

    double magnitude = 0.0;
    for (double value : ticks.values) magnitude = std::max(magnitude, std::abs(value));
    // Small numbers share one number of decimals ("2.90 2.95 3.00"); large ones each take the shortest
    // suffixed form ("0 500M 1B"), which reads better than a shared unit ("0.0B 0.5B 1.0B").
    const bool shared = step >= kSmallest && magnitude < 1e4;
    const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + kEpsilon)));
    for (double value : ticks.values)
        ticks.labels.push_back(shared ? fixed(value, decimals) : formatAlone(value));
    return ticks;
}

TickSet logTicks(double low, double high, int target) {
    const size_t most = static_cast<size_t>(std::max(2, target));
    std::vector<double> values = logCandidates(low, high, true, 1);
    if (logCandidates(low, high, false, 1).size() < 2) {
        // Inside one decade: 1/2/5 ticks if there are two of them, else evenly spaced ones.
        if (values.size() < 2 || values.size() > most) return linearTicks(low, high, target);
    } else {
        for (int stride = 1; values.size() > most && stride <= 400; ++stride)
            values = logCandidates(low, high, false, stride);
    }
    TickSet ticks;
    ticks.values = values;
    for (double value : values) ticks.labels.push_back(formatAlone(value));
    return ticks;
}

}  // namespace dha::render
