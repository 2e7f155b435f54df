// parseTokenBudget: the Training page's --tokens parsing, on its own so it is tested without any widget.
#include "pages/token_budget.h"

#include <QCoreApplication>

#include <algorithm>
#include <cmath>

namespace dha::ui {
namespace {

// The messages keep the TrainingPage translation context they had when this was a member of the page.
QString tr(const char* text) { return QCoreApplication::translate("dha::ui::TrainingPage", text); }

}  // namespace

std::optional<int64_t> parseTokenBudget(const QString& input, std::optional<int64_t> sourceTokens,
                                        QString* error) {
    // The rules of `dha convert --tokens` (app/cli/convert_options.cpp, ArgParser::countValue), restated here
    // because ui/ may not include app/.
    const QString text = input.trimmed();
    const auto failWith = [&](const QString& why) -> std::optional<int64_t> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (text.endsWith('%')) {
        bool ok = false;
        const double percent = text.chopped(1).trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(percent) || percent <= 0 || percent > 1e6)
            return failWith(tr("expected a count such as 2M or a percentage such as 0.5%"));
        if (!sourceTokens)
            return failWith(
                tr("the source's pretraining tokens are unknown (its eval.json does not record "
                   "them): give the tokens as a count"));
        const double tokens = std::round(percent / 100.0 * static_cast<double>(*sourceTokens));
        if (tokens < 1 || tokens > 1e15)
            return failWith(tr("%1 of the source's tokens is less than 1 token").arg(text));
        return static_cast<int64_t>(tokens);
    }
    double scale = 1;
    QString number = text;
    const QChar suffix = text.isEmpty() ? QChar() : text.back().toLower();
    if (suffix == 'k' || suffix == 'm' || suffix == 'g') {
        scale = suffix == 'k' ? 1e3 : suffix == 'm' ? 1e6 : 1e9;
        number.chop(1);
    }
    bool ok = false;
    const double parsed = number.toDouble(&ok) * scale;
    const double rounded = std::round(parsed);
    if (!ok || !std::isfinite(parsed) || std::abs(parsed - rounded) > 1e-6 * std::max(1.0, parsed) ||
        rounded < 1 || rounded > 1e15)
        return failWith(tr("expected a count such as 65536, 500k, 2M or 1.5G, or a percentage such as 0.5%"));
    return static_cast<int64_t>(rounded);
}

}  // namespace dha::ui
