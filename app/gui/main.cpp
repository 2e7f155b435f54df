// Entry point of `dha-studio`: the desktop application on the embedded teacher (or a model given on the
// command line), or, with --screenshot, an offscreen rendering of one page for docs and tests.
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QIcon>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

#include "dha/runtime.h"
#include "windows/main_window.h"
#include "windows/screenshot.h"

namespace {

bool hasDisplay() {
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
           qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
}

// --screenshot renders offscreen, and --help / --version only print: none of them needs a display.
bool needsNoDisplay(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg.startsWith("--screenshot") || arg == "--help" || arg == "-h" || arg == "--help-all" ||
            arg == "--version" || arg == "-v")
            return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    QElapsedTimer started;
    started.start();
    // Render offscreen when no window will open, unless the caller chose a platform.
    if (needsNoDisplay(argc, argv) && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    else if (!hasDisplay()) {
        std::fprintf(stderr,
                     "dha-studio: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run `sh scripts/demo.sh` "
                     "for the headless demo, `dha` for the command line, or `dha-studio --screenshot OUT.png` to "
                     "render a page offscreen.\n");
        return 2;
    }
    dha::initRuntime();
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("dha-studio"));
    QApplication::setOrganizationName(QStringLiteral("DHA Studio"));
    QApplication::setApplicationVersion(QStringLiteral(DHA_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/dha-studio.svg")));
    QGuiApplication::setDesktopFileName(QStringLiteral("dha-studio"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("DHA Studio: see where a transformer's key and value heads are redundant, plan a "
                       "Decoupled-Head Attention budget, convert, watch the training live and export."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"),
                                 QStringLiteral("Hugging Face model directory to open (default: the embedded "
                                                "teacher)."),
                                 QStringLiteral("[model]"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Render a page offscreen to <png> once the model's heads "
                                                       "are analysed, then exit."),
                                        QStringLiteral("png"));
    const QCommandLineOption page(QStringLiteral("page"),
                                  QStringLiteral("Page to show: model, similarity, plan, training or export."),
                                  QStringLiteral("name"));
    const QCommandLineOption runs(QStringLiteral("runs"),
                                  QStringLiteral("Folder of run directories the training page lists."),
                                  QStringLiteral("folder"));
    const QCommandLineOption loadRun(QStringLiteral("load-run"),
                                     QStringLiteral("With --screenshot: show this run's curves on the training page."),
                                     QStringLiteral("run"));
    const QCommandLineOption overlayRun(QStringLiteral("overlay-run"),
                                        QStringLiteral("With --screenshot: draw this run over it (repeatable)."),
                                        QStringLiteral("run"));
    parser.addOptions({screenshot, page, runs, loadRun, overlayRun});
    parser.process(app);

    std::optional<dha::ui::Page> initialPage;
    if (parser.isSet(page)) {
        initialPage = dha::ui::pageFromName(parser.value(page));
        if (!initialPage) {
            std::fprintf(stderr, "dha-studio: --page: unknown page '%s' (model, similarity, plan, training, export)\n",
                         qPrintable(parser.value(page)));
            return 2;
        }
    }
    const QString modelDir = parser.positionalArguments().value(0);

    if (parser.isSet(screenshot)) {
        dha::ui::ScreenshotRequest request;
        request.output = parser.value(screenshot);
        request.page = initialPage.value_or(dha::ui::Page::Similarity);
        request.modelDir = modelDir;
        request.runsFolder = parser.value(runs);
        request.loadRun = parser.value(loadRun);
        request.overlayRuns = parser.values(overlayRun);
        return dha::ui::renderScreenshot(request, started);
    }

    dha::ui::MainWindow window(nullptr, started);
    if (parser.isSet(runs)) window.setRunsFolder(parser.value(runs));
    if (initialPage) window.showPage(*initialPage);
    window.show();
    QTimer::singleShot(0, &window, [&window, modelDir] {
        if (modelDir.isEmpty()) window.openEmbeddedModel();
        else window.openModel(modelDir);
    });
    return QApplication::exec();
}
