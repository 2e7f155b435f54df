// The whole application in one window, offscreen: opening a model inspects and analyses it and fills every
// page; a malformed model shows a dialog naming the file; a conversion started from the window streams into the
// training page (the GUI's longest stall is measured and printed) and its run exports with a passing reload
// check; and a screenshot of every page on the embedded teacher is saved for docs/.
#include <QAbstractItemModel>
#include <QApplication>
#include <QMimeData>
#include <QUrl>
#include <QFile>
#include <QImage>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <set>

#include "dha/embedded_model.h"
#include "models/loss_history_model.h"
#include "pages/export_page.h"
#include "pages/model_page.h"
#include "pages/plan_page.h"
#include "pages/similarity_page.h"
#include "pages/training_page.h"
#include "support/stall_probe.h"
#include "test_registry.h"
#include "ui_fixtures.h"
#include "windows/main_window.h"
#include "windows/screenshot.h"

using namespace dha;
using namespace dha::ui;
namespace fs = std::filesystem;

namespace {

bool waitAnalysed(MainWindow& window) {
    return waitForAnalysis(window, 300000).isEmpty();
}

// Distinct colours in a coarse sample of the image: a blank or single-colour page has very few.
int distinctColours(const QImage& image) {
    std::set<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
        for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
    return static_cast<int>(colours.size());
}

}  // namespace

class MainWindowTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);  // settings and app data go to a test location
        QSettings().clear();
        QVERIFY(m_dir.isValid());
        m_source = test::ui::writeTinyMhaModel(fs::path(m_dir.path().toStdString()) / "tiny-source");
    }

    void openingAModelFillsEveryPage() {
        MainWindow window;
        QSignalSpy opened(&window, &MainWindow::modelOpened);
        QVERIFY(window.openModel(QString::fromStdString(m_source.string())));
        QVERIFY(waitAnalysed(window));
        QCOMPARE(opened.count(), 1);
        QCOMPARE(window.modelPage()->summaryValue(QStringLiteral("Layers")), QStringLiteral("2"));
        QCOMPARE(window.modelPage()->summaryValue(QStringLiteral("Query heads")), QStringLiteral("4"));
        QCOMPARE(static_cast<int>(window.similarityPage()->report().layers.size()), 2);
        QVERIFY(window.firstHeatmapMs() >= 0);
        const Plan plan = window.planPage()->currentPlan();
        QCOMPARE(plan.numLayers(), 2);
        QVERIFY(plan.keptHeads() >= 4 && plan.keptHeads() <= 16);
        // The model is remembered for next time.
        QCOMPARE(QSettings().value("models/recent").toStringList().value(0),
                 QString::fromStdString(m_source.string()));
    }

    void choosingAnotherMetricAnalysesAgain() {
        MainWindow window;
        QVERIFY(window.openModel(QString::fromStdString(m_source.string())));
        QVERIFY(waitAnalysed(window));
        QCOMPARE(window.similarityPage()->report().metric, SimilarityMetric::WeightCka);
        QSignalSpy ready(&window, &MainWindow::analysisReady);
        Q_EMIT window.similarityPage()->metricRequested(SimilarityMetric::ActivationCka);
        QVERIFY(ready.wait(120000));
        QCOMPARE(window.similarityPage()->report().metric, SimilarityMetric::ActivationCka);
        QVERIFY(window.similarityPage()->report().calibrationTokens > 0);
        QCOMPARE(static_cast<int>(window.similarityPage()->report().layers.size()), 2);
    }

    void shortcutsSwitchPages() {
        MainWindow window;
        window.show();
        QApplication::setActiveWindow(&window);
        QVERIFY(QTest::qWaitForWindowActive(&window));
        QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
        QCOMPARE(window.currentPage(), Page::Plan);
        QTest::keyClick(&window, Qt::Key_1, Qt::ControlModifier);
        QCOMPARE(window.currentPage(), Page::Model);
        QTest::keyClick(&window, Qt::Key_E, Qt::ControlModifier);
        QCOMPARE(window.currentPage(), Page::Export);
    }

    void droppingAConfigFileOpensItsDirectory() {
        MainWindow window;
        QSignalSpy opened(&window, &MainWindow::modelOpened);
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(QString::fromStdString((m_source / "config.json").string()))});
        QVERIFY(window.openDropped(mime));
        QVERIFY(opened.wait(60000));
        QCOMPARE(window.modelDirectory(), QString::fromStdString(m_source.string()));
        QVERIFY(waitAnalysed(window));
    }

    void malformedModelShowsADialogNamingTheFile() {
        QTemporaryDir broken;
        QFile config(broken.filePath(QStringLiteral("config.json")));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write("{\"hidden_size\": ");
        config.close();
        MainWindow window;
        window.show();
        QSignalSpy errors(&window, &MainWindow::errorShown);
        QVERIFY(window.openModel(broken.path()));
        QVERIFY(errors.wait(60000));
        QVERIFY2(errors.front().front().toString().contains(QStringLiteral("config.json")),
                 qPrintable(errors.front().front().toString()));
        auto* dialog = window.findChild<QMessageBox*>();
        QVERIFY(dialog != nullptr);
        QVERIFY(dialog->isVisible());
        QVERIFY(dialog->text().contains(QStringLiteral("config.json")));
        QVERIFY(!window.session()->isBusy());
    }

    void failedConversionShowsOneDialogNamingTheFile() {
        MainWindow window;
        window.show();
        QVERIFY(window.openModel(QString::fromStdString(m_source.string())));
        QVERIFY(waitAnalysed(window));
        QTemporaryDir runs;
        ConvertSpec spec = test::ui::tinyConvertSpec(m_source, fs::path(runs.path().toStdString()) / "run");
        spec.trainText = fs::path(runs.path().toStdString()) / "missing-train.txt";
        QSignalSpy finished(window.session(), &EngineSession::jobFinished);
        QVERIFY(window.trainingPage()->startConversion(spec));
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.front().at(1).value<JobStatus>(), JobStatus::Failed);
        QApplication::processEvents();
        int dialogs = 0;
        for (QMessageBox* box : window.findChildren<QMessageBox*>()) {
            if (!box->isVisible()) continue;
            ++dialogs;
            QVERIFY2(box->text().contains(QStringLiteral("missing-train.txt")), qPrintable(box->text()));
        }
        QCOMPARE(dialogs, 1);
    }

    void conversionFromTheWindowStreamsAndExports() {
        MainWindow window;
        window.resize(1280, 800);
        window.show();
        QVERIFY(window.openModel(QString::fromStdString(m_source.string())));
        QVERIFY(waitAnalysed(window));
        window.showPage(Page::Training);
        QTemporaryDir runs;
        const fs::path runDir = fs::path(runs.path().toStdString()) / "run";
        StallProbe probe;
        QSignalSpy finished(window.session(), &EngineSession::jobFinished);
        probe.start();
        QVERIFY(window.trainingPage()->startConversion(test::ui::tinyConvertSpec(m_source, runDir, 20, 10)));
        QVERIFY(finished.wait(120000));
        probe.stop();
        QCOMPARE(finished.front().at(1).value<JobStatus>(), JobStatus::Succeeded);
        // Every optimizer step reached the training page's loss history, once, in order.
        QAbstractItemModel* history = window.trainingPage()->history();
        QCOMPARE(history->rowCount(), 30);
        for (int row = 0; row < 30; ++row) QCOMPARE(history->index(row, 0).data().toLongLong(), qint64{row + 1});
        qInfo("worst GUI stall during a tiny conversion: %.1f ms over %lld probe ticks", probe.worstStallMs(),
              static_cast<long long>(probe.ticks()));

        // The finished run is proposed for export; exporting it reloads and publishes.
        window.showPage(Page::Export);
        window.exportPage()->setOutput(runs.filePath(QStringLiteral("exported")));
        QVERIFY(window.exportPage()->startExport());
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.back().at(1).value<JobStatus>(), JobStatus::Succeeded);
        QVERIFY2(window.exportPage()->resultText().contains(QStringLiteral("Reload check passed")),
                 qPrintable(window.exportPage()->resultText()));
        QVERIFY(QFile::exists(runs.filePath(QStringLiteral("exported/config.json"))));

        // Selecting a run on the training page proposes it for export too.
        window.exportPage()->setInput(QString());
        QVERIFY(window.trainingPage()->loadRun(runDir));
        QCOMPARE(window.exportPage()->specFromForm().input, runDir);
    }

    void cancelAndResumeFromTheTrainingPage() {
        MainWindow window;
        window.show();
        QVERIFY(window.openModel(QString::fromStdString(m_source.string())));
        QVERIFY(waitAnalysed(window));
        QTemporaryDir runs;
        const fs::path runDir = fs::path(runs.path().toStdString()) / "run";
        TrainingPage* page = window.trainingPage();
        window.session()->setDeliveryInterval(1);
        QSignalSpy finished(window.session(), &EngineSession::jobFinished);
        QMetaObject::Connection cancelOnFirstBatch =
            connect(window.session(), &EngineSession::lossBatch, page, [page] { page->cancelConversion(); });
        QVERIFY(page->startConversion(test::ui::tinyConvertSpec(m_source, runDir, 150, 50)));
        QVERIFY(finished.wait(120000));
        disconnect(cancelOnFirstBatch);
        QCOMPARE(finished.back().at(1).value<JobStatus>(), JobStatus::Cancelled);
        QAbstractItemModel* history = page->history();
        const int before = history->rowCount();
        QVERIFY2(before > 0 && before < 200, qPrintable(QString::number(before)));

        // Resume from the page: the curve goes on from the checkpoint to the last step, no step twice.
        QVERIFY(page->resumeRun(runDir));
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.back().at(1).value<JobStatus>(), JobStatus::Succeeded);
        QCOMPARE(history->rowCount(), 200);
        for (int row = 0; row < 200; ++row) QCOMPARE(history->index(row, 0).data().toLongLong(), qint64{row + 1});
    }

    void screenshotsOfEveryPage() {
        const auto teacher = embeddedModelDir();
        QVERIFY2(teacher.has_value(), "the embedded teacher ships in resources/models/dha-teacher");
        MainWindow window;
        window.resize(1280, 800);
        window.show();
        QVERIFY(window.openEmbeddedModel());
        QVERIFY(waitAnalysed(window));
        const QString folder = QStringLiteral(DHA_BINARY_DIR "/screenshots");
        for (Page page : {Page::Model, Page::Similarity, Page::Plan, Page::Training, Page::Export}) {
            window.showPage(page);
            const QString file = folder + QLatin1Char('/') + pageName(page) + QStringLiteral(".png");
            QCOMPARE(saveWindowPng(window, file), QString());
            const QImage image(file);
            QCOMPARE(image.size(), window.size() * window.devicePixelRatio());
            QVERIFY2(distinctColours(image) > 20, qPrintable(file + QStringLiteral(" looks blank")));
            qInfo("screenshot: %s", qPrintable(file));
        }
    }

private:
    QTemporaryDir m_dir;
    fs::path m_source;
};

DHA_TEST_SUITE(MainWindowTest)
#include "main_window_test.moc"
