// `dha-studio --screenshot`: open a model in a main window offscreen, wait for its head analysis, show one
// page and save the window as a PNG (the docs' screenshots and a smoke test of the whole application).
#pragma once

#include <QElapsedTimer>
#include <QString>
#include <QStringList>

#include "windows/main_window.h"

namespace dha::ui {

struct ScreenshotRequest {
    QString output;      // PNG path
    Page page = Page::Similarity;
    QString modelDir;    // empty = the embedded teacher
    QString runsFolder;  // empty = the training page's default
    QString loadRun;     // a run directory whose curves the training page shows
    QStringList overlayRuns;  // run directories drawn over it (a GQA baseline, say)
    int width = 1280;
    int height = 800;
    int timeoutMs = 600000;
};

// Waits (running the event loop) until `window` has analysed its model, an error was shown, or timeoutMs
// passed. Returns an empty string on success, else what went wrong.
QString waitForAnalysis(MainWindow& window, int timeoutMs);

// Renders `window` as it is now into `output`; empty string on success, else the reason.
QString saveWindowPng(MainWindow& window, const QString& output);

// The whole --screenshot run; prints the time to the first heatmap and the PNG written. Exit code.
int renderScreenshot(const ScreenshotRequest& request, QElapsedTimer started);

}  // namespace dha::ui
