// Budget: parsing "0.25" / "25%" / "96", resolving a fraction to a head count, and describing it.
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

#include "dha/budget.h"
#include "dha/error.h"
#include "io/json_reader.h"

namespace dha {
namespace {

constexpr const char* kBudgetHint =
    "give a fraction like 0.25, a percentage like 25% or a head count like 96";
constexpr size_t kMaxHeadDigits = 9;  // below INT_MAX, and far above any model's K+V head count

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// digits, optionally with one decimal point ("25", "0.25", ".25", "1."), and at least one digit.
bool isPlainDecimal(const std::string& text, bool& hasPoint) {
    int digits = 0;
    int points = 0;
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c == '.') {
            ++points;
        } else {
            return false;
        }
    }
    hasPoint = points == 1;
    return digits > 0 && points <= 1;
}

std::string percentText(double fraction) {
    std::ostringstream out;
    out.precision(6);
    out << fraction * 100.0;
    return out.str() + "%";
}

}  // namespace

Budget Budget::parse(const std::string& input, const std::string& what) {
    const std::string text = trimmed(input);
    const std::string shown = "'" + io::printableExcerpt(text, 40) + "'";
    if (text.empty()) failInput(what, "the budget is empty", kBudgetHint);
    if (text.front() == '-') failInput(what, "budget " + shown + " is negative", kBudgetHint);
    const bool isPercent = text.back() == '%';
    const std::string number = isPercent ? text.substr(0, text.size() - 1) : text;
    bool hasPoint = false;
    if (!isPlainDecimal(number, hasPoint)) failInput(what, shown + " is not a budget", kBudgetHint);
    if (isPercent || hasPoint) {
        const double value = std::strtod(number.c_str(), nullptr);
        const double fraction = isPercent ? value / 100.0 : value;
        if (fraction <= 0.0) failInput(what, "a budget of " + shown + " keeps no heads", kBudgetHint);
        if (fraction > 1.0) {
            failInput(what,
                      "budget " + shown +
                          (isPercent ? " is more than 100% of the heads"
                                     : " is a fraction above 1 (a fraction is in (0, 1]; a head "
                                       "count is a whole number)"),
                      kBudgetHint);
        }
        return ofFraction(fraction);
    }
    const auto firstNonZero = number.find_first_not_of('0');
    if (firstNonZero == std::string::npos)
        failInput(what, "a budget of " + shown + " heads keeps no heads", kBudgetHint);
    if (number.size() - firstNonZero > kMaxHeadDigits) {
        failInput(what, "budget " + shown + " is more heads than any model has", kBudgetHint);
    }
    return ofHeads(std::atoi(number.c_str()));
}

int Budget::resolve(int sourceKvHeads) const {
    if (sourceKvHeads < 1) {
        failInput("budget", "the source has " + std::to_string(sourceKvHeads) + " K+V heads to budget");
    }
    if (heads.has_value() == fraction.has_value()) {
        failInput("budget",
                  heads ? "a budget is a head count or a fraction, not both"
                        : "no budget given (neither a head count nor a fraction)",
                  kBudgetHint);
    }
    if (heads) {
        if (*heads < 1)
            failInput("budget", "a budget of " + std::to_string(*heads) + " heads keeps no heads");
        return *heads;
    }
    const double value = *fraction;
    if (!std::isfinite(value) || value <= 0.0 || value > 1.0) {
        std::ostringstream shown;
        shown << value;
        failInput("budget", "budget fraction " + shown.str() + " is outside (0, 1]", kBudgetHint);
    }
    // Nearest count, ties up. The epsilon keeps decimal ties exact: 0.35 * 10 is 3.4999999999999996 in
    // binary.
    return static_cast<int>(std::floor(value * sourceKvHeads + 0.5 + 1e-9));
}

std::string Budget::describe() const {
    if (heads && !fraction) return std::to_string(*heads) + (*heads == 1 ? " head" : " heads");
    if (fraction && !heads) return percentText(*fraction);
    return heads ? "an invalid budget (both a head count and a fraction)" : "no budget";
}

}  // namespace dha
