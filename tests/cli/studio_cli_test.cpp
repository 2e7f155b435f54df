// The `dha-studio` binary as users start it: --help and --version without a display, a clear refusal (exit 2)
// when there is no display and no --screenshot, and --screenshot rendering a page of the embedded teacher
// offscreen (a PNG of the requested size) or failing with the malformed file's name (exit 1).
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

#include "test_registry.h"

namespace {

struct StudioRun {
    int exitCode = -1;
    QString out;
    QString err;
};

// Runs dha-studio with no display at all: DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM removed.
StudioRun runStudio(const QStringList& arguments, int timeoutMs = 300000) {
    StudioRun run;
#ifdef DHA_STUDIO_EXECUTABLE
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}) environment.remove(name);
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(DHA_STUDIO_EXECUTABLE), arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
#else
    (void)arguments;
    (void)timeoutMs;
#endif
    return run;
}

// Width and height from a PNG's IHDR chunk; (0, 0) when the file is not a PNG.
QPair<quint32, quint32> pngSize(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {0, 0};
    const QByteArray head = file.read(24);
    if (head.size() < 24 || !head.startsWith("\x89PNG\r\n\x1a\n") || head.mid(12, 4) != "IHDR") return {0, 0};
    auto be32 = [&](int at) {
        return (quint32(quint8(head[at])) << 24) | (quint32(quint8(head[at + 1])) << 16) |
               (quint32(quint8(head[at + 2])) << 8) | quint32(quint8(head[at + 3]));
    };
    return {be32(16), be32(20)};
}

}  // namespace

class StudioCliTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() {
#ifndef DHA_STUDIO_EXECUTABLE
        QSKIP("dha-studio is not built here (DHA_BUILD_GUI=OFF)");
#endif
    }

    void helpAndVersionNeedNoDisplay() {
        const StudioRun help = runStudio({QStringLiteral("--help")});
        QCOMPARE(help.exitCode, 0);
        QVERIFY2(help.out.contains(QStringLiteral("--screenshot")), qPrintable(help.out));
        const StudioRun version = runStudio({QStringLiteral("--version")});
        QCOMPARE(version.exitCode, 0);
        QVERIFY2(version.out.contains(QStringLiteral("dha-studio")), qPrintable(version.out));
    }

    void withoutADisplayItSaysWhatToRun() {
        const StudioRun run = runStudio({});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(QStringLiteral("scripts/demo.sh")), qPrintable(run.err));
    }

    void unknownPageIsAUsageError() {
        QTemporaryDir dir;
        const StudioRun run = runStudio({QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("x.png")),
                                         QStringLiteral("--page"), QStringLiteral("nowhere")});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(QStringLiteral("nowhere")), qPrintable(run.err));
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("x.png"))));
    }

    void screenshotRendersTheEmbeddedTeacher() {
        QTemporaryDir dir;
        const QString png = dir.filePath(QStringLiteral("similarity.png"));
        const StudioRun run = runStudio({QStringLiteral("--screenshot"), png, QStringLiteral("--page"),
                                         QStringLiteral("similarity")});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains(QStringLiteral("first heatmap after")), qPrintable(run.out));
        QCOMPARE(pngSize(png), (QPair<quint32, quint32>(1280, 800)));
    }

    void screenshotOfAMalformedModelNamesTheFile() {
        QTemporaryDir dir;
        QFile config(dir.filePath(QStringLiteral("config.json")));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write("{\"num_hidden_layers\": -3}");
        config.close();
        const QString png = dir.filePath(QStringLiteral("out.png"));
        const StudioRun run = runStudio({QStringLiteral("--screenshot"), png, dir.path()});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(QStringLiteral("config.json")), qPrintable(run.err));
        QVERIFY(!QFile::exists(png));
    }
};

DHA_TEST_SUITE(StudioCliTest)
#include "studio_cli_test.moc"
