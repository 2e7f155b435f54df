// Saving any plot of the app as PNG, SVG or PDF (format from the file's suffix), atomically, plus the
// "Save plot as..." context menu every plot view installs.
#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

class QAction;
class QCustomPlot;
class QWidget;

namespace dha::ui {

// PNG pixels per point of the plot: exported bitmaps are twice the on-screen size, sharp in a paper or a
// slide.
inline constexpr double kPngScale = 2.0;

// "PNG image (*.png)", "SVG vector image (*.svg)", "PDF document (*.pdf)": the file dialog's filters.
QStringList plotFileFilters();

// Writes `path` through `write`, which renders into the temporary file name it is given (in the same
// directory); the temporary file is fsynced and renamed over `path`, so `path` is either the old file or the
// complete new one. On failure returns false with *error naming `path`, and no temporary file is left.
bool saveAtomically(const QString& path, QString* error, const std::function<bool(const QString&)>& write);

enum class PlotFormat { Png, Svg, Pdf };
// The format named by the suffix of `path` (case-insensitive), or nullopt for any other suffix.
std::optional<PlotFormat> plotFormatOf(const QString& path);

// Saves `plot` as .png (bitmap at kPngScale), .svg or .pdf (vector), chosen by the suffix of `path`; any
// other suffix is an error naming the path and listing the formats. `size` is in points; invalid or empty
// means the plot's size on screen (laid out first when its window was never shown).
bool savePlot(QCustomPlot* plot, const QString& path, QString* error, QSize size = {});
// The same in `format` whatever the suffix of `path`.
bool savePlotAs(QCustomPlot* plot, PlotFormat format, const QString& path, QString* error, QSize size = {});

// Saves a widget that paints itself (no QCustomPlot inside) at its current size: .png (bitmap at kPngScale),
// .svg or .pdf (vector, through the widget's own paintEvent).
bool saveWidget(QWidget* widget, const QString& path, QString* error);

// A right-click "Save plot as..." entry on `target`: a file dialog (PNG, SVG or PDF, remembering the last
// folder), then `save`, and a message box naming the file when it fails. The name the dialog suggests
// (without suffix) is asked for each time, so it can follow what the plot shows.
using PlotSaver = std::function<bool(const QString& path, QString* error)>;
void installSavePlotMenu(QWidget* target, PlotSaver save, std::function<QString()> suggestedName);
void installSavePlotMenu(QWidget* target, PlotSaver save, QString suggestedName);
// The entry installSavePlotMenu() added to `target` (nullptr when none), for tests and for pages that want
// the same action in a toolbar.
QAction* savePlotAction(const QWidget* target);

}  // namespace dha::ui
