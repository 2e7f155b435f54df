// Every plot view saves itself as PNG, SVG and PDF (valid files of the expected size and content), refuses
// other suffixes and unwritable folders with a message naming the file, leaves no temporary file behind,
// replaces an existing file whole, and offers the "Save plot as..." context menu.
#include <QAction>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QImage>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <memory>

#include "support/plot_export.h"
#include "support/qcustomplot_include.h"
#include "test_registry.h"
#include "views/heatmap_view.h"
#include "views/kv_allocation_chart.h"
#include "views/loss_plot_view.h"
#include "views/redundancy_chart.h"
#include "views/similarity_overview.h"

namespace {

using dha::ui::kPngScale;

// Symmetric with 1 on the diagonal and a spread of values, so a rendered map has many colours.
dha::LayerSimilarity sampleLayer(int layer, int heads) {
    dha::LayerSimilarity result;
    result.layer = layer;
    result.key = dha::Matrix(heads, heads, 1.0f);
    for (int a = 0; a < heads; ++a)
        for (int b = 0; b < heads; ++b)
            if (a != b) result.key.at(a, b) = static_cast<float>(0.05 * layer + 0.04 * (a + b)) * 0.8f;
    result.value = result.key;
    for (float& value : result.value.values) value *= 0.6f;
    result.keySummary = dha::summariseRedundancy(result.key);
    result.valueSummary = dha::summariseRedundancy(result.value);
    return result;
}

dha::SimilarityReport sampleReport(int layers, int heads) {
    dha::SimilarityReport report;
    report.metric = dha::SimilarityMetric::WeightCka;
    for (int layer = 0; layer < layers; ++layer) report.layers.push_back(sampleLayer(layer, heads));
    return report;
}

// 4 layers of 8 heads keeping between 2 and 8 key and value heads (groups of consecutive heads).
dha::Plan samplePlan() {
    const auto groups = [](int count) {
        dha::HeadGroups result(static_cast<size_t>(count));
        for (int head = 0; head < 8; ++head) result[static_cast<size_t>(head * count / 8)].push_back(head);
        return result;
    };
    dha::Plan plan;
    plan.sourceHeads = 8;
    const int keys[] = {2, 4, 8, 4};
    const int values[] = {4, 8, 2, 2};
    for (int layer = 0; layer < 4; ++layer)
        plan.layers.push_back({groups(keys[layer]), groups(values[layer])});
    return plan;
}

// A view with data, how to save it, and the PNG size it must produce (asked after the save: the heatmap
// fits its plot to square cells).
struct Subject {
    std::unique_ptr<QWidget> widget;
    std::function<bool(const QString&, QString*)> save;
    std::function<QSize()> pngSize;
};

Subject makeSubject(const QString& kind) {
    Subject subject;
    if (kind == "heatmap") {
        auto* view = new dha::ui::HeatmapView;
        view->resize(420, 440);
        view->setMatrix(sampleLayer(3, 8).value, 0.0, 1.0);
        view->setLabel(3, dha::HeadKind::Value);
        view->setScaleLabel("weight CKA");
        view->setGroups({{0, 1, 2}, {3, 4}, {5, 6, 7}});
        subject.widget.reset(view);
        subject.save = [view](const QString& path, QString* error) { return view->savePlot(path, error); };
        subject.pngSize = [view] { return view->plot()->size() * kPngScale; };
    } else if (kind == "kv allocation") {
        auto* chart = new dha::ui::KvAllocationChart;
        chart->resize(640, 300);
        chart->setPlan(samplePlan(), 4);
        subject.widget.reset(chart);
        subject.save = [chart](const QString& path, QString* error) { return chart->savePlot(path, error); };
        // The chart's plot fills it: a hidden chart must be laid out before it is rendered.
        subject.pngSize = [chart] { return chart->size() * kPngScale; };
    } else if (kind == "redundancy") {
        auto* chart = new dha::ui::RedundancyChart;
        chart->resize(560, 260);
        chart->setReport(sampleReport(6, 8));
        chart->setSelectedLayer(2);
        subject.widget.reset(chart);
        subject.save = [chart](const QString& path, QString* error) { return chart->savePlot(path, error); };
        subject.pngSize = [chart] { return chart->size() * kPngScale; };
    } else if (kind == "overview") {
        auto* overview = new dha::ui::SimilarityOverview;
        overview->resize(640, 240);
        overview->setReport(sampleReport(6, 8));
        overview->setSelectedLayer(1);
        subject.widget.reset(overview);
        subject.save = [overview](const QString& path, QString* error) {
            return overview->savePlot(path, error);
        };
        subject.pngSize = [overview] { return overview->size() * kPngScale; };
    } else if (kind == "loss") {
        auto* view = new dha::ui::LossPlotView;
        view->resize(700, 400);
        QVector<dha::LossEvent> events;
        for (int step = 1; step <= 40; ++step) {
            dha::LossEvent event;
            event.step = step;
            event.tokens = step * 1024;
            event.phase = step <= 25 ? "fusion" : "continued";
            event.lmLoss = 6.0 / (1.0 + 0.1 * step);
            event.fusionLoss = step <= 25 ? 2.0 - 0.05 * step : 0.0;
            events << event;
        }
        view->append(events);
        subject.widget.reset(view);
        subject.save = [view](const QString& path, QString* error) { return view->savePlot(path, error); };
        subject.pngSize = [view] { return view->size() * kPngScale; };
    }
    return subject;
}

// Every file under `dir`, hidden ones included, relative to it.
QStringList filesUnder(const QString& dir) {
    QStringList files;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) files << QDir(dir).relativeFilePath(it.next());
    files.sort();
    return files;
}

int distinctColours(const QImage& image) {
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) colours.insert(image.pixel(x, y));
    return static_cast<int>(colours.size());
}

void addSubjectRows(const QStringList& kinds, const QStringList& suffixes) {
    for (const QString& kind : kinds)
        for (const QString& suffix : suffixes)
            QTest::newRow(qPrintable(kind + " " + suffix)) << kind << suffix;
}

const QStringList kAllKinds = {"heatmap", "kv allocation", "redundancy", "overview", "loss"};

}  // namespace

class PlotExportTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writesEveryFormat_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("suffix");
        addSubjectRows(kAllKinds, {"png", "svg", "pdf", "PDF"});
    }
    void writesEveryFormat() {
        QFETCH(QString, kind);
        QFETCH(QString, suffix);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        Subject subject = makeSubject(kind);
        const QString path = dir.filePath("plot." + suffix);
        QString error;
        QVERIFY2(subject.save(path, &error), qPrintable(error));
        QCOMPARE(filesUnder(dir.path()), QStringList{"plot." + suffix});  // no temporary file left
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray content = file.readAll();
        const QString format = suffix.toLower();
        if (format == "png") {
            QImage image;
            QVERIFY(image.loadFromData(content, "PNG"));
            QCOMPARE(image.size(), subject.pngSize());
            // Saved as shown: one square cell per head pair, even from a hidden view.
            if (kind == "heatmap") {
                const QRect cells =
                    static_cast<dha::ui::HeatmapView*>(subject.widget.get())->plot()->axisRect()->rect();
                QCOMPARE(cells.width(), cells.height());
            }
            QVERIFY2(image.width() >= 400 && image.height() >= 400, "not the on-screen size of the plot");
            QVERIFY2(distinctColours(image) > 8, "the image is (nearly) blank");
        } else if (format == "svg") {
            QVERIFY(content.startsWith("<?xml") || content.contains("<svg"));
            QVERIFY(content.trimmed().endsWith("</svg>"));  // complete
        } else {
            QVERIFY(content.startsWith("%PDF"));
            QVERIFY(content.trimmed().endsWith("%%EOF"));  // complete
        }
        // Saved figures are shared like documents, not private like the temporary file they were written to.
        QVERIFY(file.permissions() & QFileDevice::ReadOther);
    }

    void replacesAnExistingFileWhole() {
        QTemporaryDir dir;
        Subject subject = makeSubject("kv allocation");
        const QString path = dir.filePath("kv.pdf");
        {
            QFile old(path);
            QVERIFY(old.open(QIODevice::WriteOnly));
            // Longer than the new file: a plain overwrite would leave its tail behind.
            old.write(QByteArray(100000, 'x'));
        }
        QString error;
        QVERIFY2(subject.save(path, &error), qPrintable(error));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray content = file.readAll();
        QVERIFY(content.startsWith("%PDF"));
        QVERIFY(!content.contains("xxxxxxxx"));
        QCOMPARE(filesUnder(dir.path()), QStringList{"kv.pdf"});
    }

    void refusesOtherFormats_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("suffix");
        // A QCustomPlot view and the self-painting overview take different paths through plot_export.
        addSubjectRows({"heatmap", "overview"}, {"jpg", "", "png.txt", "svgz"});
    }
    void refusesOtherFormats() {
        QFETCH(QString, kind);
        QFETCH(QString, suffix);
        QTemporaryDir dir;
        Subject subject = makeSubject(kind);
        const QString path = dir.filePath(suffix.isEmpty() ? QString("plot") : "plot." + suffix);
        QString error;
        QVERIFY(!subject.save(path, &error));
        QVERIFY2(error.contains(path), qPrintable(error));
        for (const char* format : {".png", ".svg", ".pdf"})
            QVERIFY2(error.contains(format), qPrintable(error));
        QCOMPARE(filesUnder(dir.path()), QStringList());
    }

    void failsInUnwritableFolder_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("where");
        for (const QString kind : {"heatmap", "overview"})
            for (const QString where : {"missing folder", "folder is a file", "read-only folder"})
                QTest::newRow(qPrintable(kind + ", " + where)) << kind << where;
    }
    void failsInUnwritableFolder() {
        QFETCH(QString, kind);
        QFETCH(QString, where);
        QTemporaryDir dir;
        QString folder = dir.filePath("folder");
        if (where == "folder is a file") {
            QFile file(folder);
            QVERIFY(file.open(QIODevice::WriteOnly));
        } else if (where == "read-only folder") {
            QVERIFY(QDir().mkdir(folder));
            QVERIFY(QFile::setPermissions(folder, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
            QFile probe(folder + "/probe");
            if (probe.open(QIODevice::WriteOnly)) {  // root ignores permissions
                probe.remove();
                QFile::setPermissions(
                    folder, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
                QSKIP("running with privileges that ignore folder permissions");
            }
        }
        const QStringList before = filesUnder(dir.path());
        Subject subject = makeSubject(kind);
        for (const QString suffix : {"png", "svg", "pdf"}) {
            const QString path = folder + "/plot." + suffix;
            QString error;
            QVERIFY(!subject.save(path, &error));
            QVERIFY2(error.contains(path), qPrintable(error));
        }
        QFile::setPermissions(folder,
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        QCOMPARE(filesUnder(dir.path()), before);
    }

    void offersSaveInContextMenu_data() {
        QTest::addColumn<QString>("kind");
        for (const QString& kind : kAllKinds) QTest::newRow(qPrintable(kind)) << kind;
    }
    void offersSaveInContextMenu() {
        // Only the menu's presence: triggering it would open a modal file dialog.
        QFETCH(QString, kind);
        Subject subject = makeSubject(kind);
        QAction* action = dha::ui::savePlotAction(subject.widget.get());
        QVERIFY(action);
        QVERIFY(action->text().startsWith("Save plot as"));
        QCOMPARE(subject.widget->contextMenuPolicy(), Qt::ActionsContextMenu);
        QCOMPARE(subject.widget->actions().count(action), 1);
        // Installing again replaces the entry instead of adding a second one.
        dha::ui::installSavePlotMenu(subject.widget.get(), subject.save, QString("again"));
        int entries = 0;
        for (QAction* each : subject.widget->actions())
            entries += each->text().startsWith("Save plot as") ? 1 : 0;
        QCOMPARE(entries, 1);
    }

    void picksFormatBySuffix_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("format");  // -1: none
        QTest::newRow("png") << "/a/b.png" << int(dha::ui::PlotFormat::Png);
        QTest::newRow("upper case") << "b.SVG" << int(dha::ui::PlotFormat::Svg);
        QTest::newRow("pdf with dots") << "run.v2.pdf" << int(dha::ui::PlotFormat::Pdf);
        QTest::newRow("jpeg") << "b.jpeg" << -1;
        QTest::newRow("no suffix") << "/a/b" << -1;
        QTest::newRow("suffix of folder only") << "/a.png/b" << -1;
    }
    void picksFormatBySuffix() {
        QFETCH(QString, path);
        QFETCH(int, format);
        const std::optional<dha::ui::PlotFormat> found = dha::ui::plotFormatOf(path);
        QCOMPARE(found ? int(*found) : -1, format);
    }
};

DHA_TEST_SUITE(PlotExportTest)
#include "plot_export_test.moc"
