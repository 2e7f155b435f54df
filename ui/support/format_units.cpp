// Human-readable numbers for the UI (binary prefixes for bytes, SI prefixes for counts).
#include "support/format_units.h"

#include <cmath>

namespace dha::ui {

QString formatBytes(double bytes) {
    static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (std::abs(bytes) >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    if (unit == 0) return QStringLiteral("%1 B").arg(static_cast<qint64>(bytes));
    const int decimals = std::abs(bytes) >= 100 ? 0 : (std::abs(bytes) >= 10 ? 1 : 2);
    return QStringLiteral("%1 %2").arg(bytes, 0, 'f', decimals).arg(QLatin1String(kUnits[unit]));
}

QString formatCount(double count) {
    static const char* const kUnits[] = {"", " k", " M", " G", " T"};
    int unit = 0;
    while (std::abs(count) >= 1000.0 && unit < 4) {
        count /= 1000.0;
        ++unit;
    }
    if (unit == 0) return QString::number(static_cast<qint64>(std::llround(count)));
    const int decimals = std::abs(count) >= 100 ? 0 : (std::abs(count) >= 10 ? 1 : 2);
    return QStringLiteral("%1%2").arg(count, 0, 'f', decimals).arg(QLatin1String(kUnits[unit]));
}

QString formatDuration(double seconds) {
    if (!(seconds >= 0) || !std::isfinite(seconds)) return QStringLiteral("-");
    const qint64 whole = std::llround(seconds);
    if (whole < 60) return QStringLiteral("%1 s").arg(whole);
    if (whole < 3600) return QStringLiteral("%1 min %2 s").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(whole / 3600).arg((whole % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString formatPercent(double fraction) { return QStringLiteral("%1%").arg(100.0 * fraction, 0, 'f', 1); }

}  // namespace dha::ui
