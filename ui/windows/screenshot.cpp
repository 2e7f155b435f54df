// Offscreen screenshots of the main window (docs/screenshots and the screenshot test).
#include "windows/screenshot.h"

#include <QApplication>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QPixmap>
#include <QSaveFile>
#include <QSettings>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

#include "pages/training_page.h"

namespace dha::ui {

QString waitForAnalysis(MainWindow& window, int timeoutMs) {
    if (window.analysisComplete()) return {};
    QEventLoop loop;
    QString failure;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, [&] {
        failure = QStringLiteral("the analysis did not finish within %1 s").arg(timeoutMs / 1000);
        loop.quit();
    });
    QObject::connect(&window, &MainWindow::analysisReady, &loop, &QEventLoop::quit);
    QObject::connect(&window, &MainWindow::errorShown, &loop, [&](const QString& text) {
        failure = text;
        loop.quit();
    });
    timeout.start(timeoutMs);
    loop.exec();
    return failure;
}

QString saveWindowPng(MainWindow& window, const QString& output) {
    // Let queued replots and layouts run before grabbing.
    for (int i = 0; i < 3; ++i) QApplication::processEvents();
    const QPixmap pixmap = window.grab();
    QDir().mkpath(QFileInfo(output).absolutePath());
    QSaveFile file(output);
    if (!file.open(QIODevice::WriteOnly)) return QStringLiteral("%1: %2").arg(output, file.errorString());
    if (!pixmap.save(&file, "PNG")) return QStringLiteral("%1: the PNG could not be encoded").arg(output);
    if (!file.commit()) return QStringLiteral("%1: %2").arg(output, file.errorString());
    return {};
}

int renderScreenshot(const ScreenshotRequest& request, QElapsedTimer started) {
    // A screenshot leaves the user's settings (recent models, geometry, page) as they were.
    QTemporaryDir settingsDir;
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir.path());
    MainWindow window(nullptr, started);
    window.resize(request.width, request.height);
    if (!request.runsFolder.isEmpty()) window.setRunsFolder(request.runsFolder);
    window.showPage(request.page);
    window.show();
    const bool opened = request.modelDir.isEmpty() ? window.openEmbeddedModel() : window.openModel(request.modelDir);
    QString failure = opened ? waitForAnalysis(window, request.timeoutMs)
                             : QStringLiteral("the model could not be opened");
    if (failure.isEmpty() && !request.loadRun.isEmpty() &&
        !window.trainingPage()->loadRun(request.loadRun.toStdString()))
        failure = QStringLiteral("%1: the run's history could not be read").arg(request.loadRun);
    for (const QString& run : request.overlayRuns)
        if (failure.isEmpty() && !window.trainingPage()->overlayRun(run.toStdString()))
            failure = QStringLiteral("%1: the run's history could not be read").arg(run);
    if (failure.isEmpty()) failure = saveWindowPng(window, request.output);
    if (!failure.isEmpty()) {
        std::fprintf(stderr, "dha-studio: --screenshot: %s\n", qPrintable(failure));
        return 1;
    }
    std::printf("first heatmap after %lld ms; analysis complete after %lld ms\n",
                static_cast<long long>(window.firstHeatmapMs()), static_cast<long long>(started.elapsed()));
    std::printf("wrote %s (%s page, %dx%d)\n", qPrintable(request.output), qPrintable(pageName(request.page)),
                request.width, request.height);
    return 0;
}

}  // namespace dha::ui
