// Human-readable numbers for the UI: byte sizes, parameter and token counts, durations.
#pragma once

#include <QString>

#include <cstdint>

namespace dha::ui {

QString formatBytes(double bytes);        // "1.50 KiB", "23.4 MiB"
QString formatCount(double count);        // "6.07 M", "12.0 k", "950"
QString formatDuration(double seconds);   // "42 s", "3 min 05 s", "1 h 02 min"
QString formatPercent(double fraction);   // 0.75 -> "75.0%"

}  // namespace dha::ui
