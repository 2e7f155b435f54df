// The application's key/value colours in one place: keys blue and values orange on every page (Okabe-Ito,
// colour-blind safe). Functions, not globals, so other files' constants can be built from them at start-up.
#pragma once

#include <QColor>

namespace dha::ui::palette {

inline QColor key() { return QColor(0x00, 0x72, 0xB2); }        // Okabe-Ito blue: key heads
inline QColor value() { return QColor(0xE6, 0x9F, 0x00); }      // Okabe-Ito orange: value heads (bars, fills)
inline QColor valueText() { return QColor(0xD5, 0x5E, 0x00); }  // value heads in text, where orange is too pale

}  // namespace dha::ui::palette
