// MainWindow: pages, menus, the status bar and the flow between them. Opening a model inspects it, then
// analyses its heads; the analysis feeds the similarity and plan pages, the plan feeds training, and a
// finished conversion feeds the export page. Engine work only ever runs through the EngineSession.
#include "windows/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QTabWidget>
#include <QStatusBar>

#include "dha/budget.h"
#include "dha/embedded_model.h"
#include "models/plan_editor.h"
#include "pages/export_page.h"
#include "pages/model_page.h"
#include "pages/plan_page.h"
#include "pages/similarity_page.h"
#include "pages/training_page.h"
#include "support/format_units.h"

namespace dha::ui {
namespace {

constexpr int kMaxRecentModels = 8;
const char* const kRecentKey = "models/recent";
const char* const kGeometryKey = "window/geometry";
const char* const kPageKey = "window/page";

struct PageEntry {
    Page page;
    const char* name;
    const char* title;
};
constexpr PageEntry kPages[] = {
    {Page::Model, "model", "Model"},
    {Page::Similarity, "similarity", "Similarity"},
    {Page::Plan, "plan", "Budget and plan"},
    {Page::Training, "training", "Training"},
    {Page::Export, "export", "Export"},
};

QString toQString(const std::filesystem::path& path) { return QString::fromStdString(path.string()); }

// How the status bar names a job.
QString jobTitle(JobKind kind) {
    switch (kind) {
    case JobKind::Inspect: return QObject::tr("Reading the model");
    case JobKind::Analyse: return QObject::tr("Head analysis");
    case JobKind::Convert: return QObject::tr("Conversion");
    case JobKind::Export: return QObject::tr("Export");
    }
    return QObject::tr("Job");
}

}  // namespace

QString pageName(Page page) {
    for (const PageEntry& entry : kPages)
        if (entry.page == page) return QLatin1String(entry.name);
    return {};
}

std::optional<Page> pageFromName(const QString& name) {
    for (const PageEntry& entry : kPages)
        if (name == QLatin1String(entry.name)) return entry.page;
    return std::nullopt;
}

MainWindow::MainWindow(QWidget* parent, QElapsedTimer started)
    : QMainWindow(parent), m_session(new EngineSession(this)), m_started(started) {
    if (!m_started.isValid()) m_started.start();
    setWindowTitle(tr("DHA Studio"));
    setAcceptDrops(true);

    m_modelPage = new ModelPage(this);
    m_similarityPage = new SimilarityPage(this);
    m_planPage = new PlanPage(this);
    m_trainingPage = new TrainingPage(m_session, this);
    m_exportPage = new ExportPage(m_session, this);

    // Pages as tabs across the top: the full window width stays for heatmaps and plots.
    m_pages = new QTabWidget(this);
    m_pages->setDocumentMode(true);
    QWidget* const pageWidgets[] = {m_modelPage, m_similarityPage, m_planPage, m_trainingPage, m_exportPage};
    for (size_t i = 0; i < std::size(kPages); ++i) m_pages->addTab(pageWidgets[i], tr(kPages[i].title));
    setCentralWidget(m_pages);

    m_statusText = new QLabel(tr("Ready"), this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(220);
    m_progress->setVisible(false);
    m_kvText = new QLabel(this);
    statusBar()->addWidget(m_statusText, 1);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_kvText);

    buildMenus();
    connectSession();
    connectPages();

    QSettings settings;
    restoreGeometry(settings.value(kGeometryKey).toByteArray());
    if (!settings.contains(kGeometryKey)) resize(1280, 800);
    const auto page = pageFromName(settings.value(kPageKey, QStringLiteral("similarity")).toString());
    showPage(page.value_or(Page::Similarity));
    refreshRecentModels();
}

MainWindow::~MainWindow() = default;

void MainWindow::showPage(Page page) { m_pages->setCurrentIndex(static_cast<int>(page)); }

Page MainWindow::currentPage() const { return static_cast<Page>(m_pages->currentIndex()); }

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open model..."), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model directory"),
                                                              m_modelDir);
        if (!dir.isEmpty()) openModel(dir);
    });
    open->setShortcut(QKeySequence::Open);
    QAction* embedded = file->addAction(tr("Open the &embedded teacher"), this, [this] { openEmbeddedModel(); });
    embedded->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_recentMenu = file->addMenu(tr("&Recent models"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (size_t i = 0; i < std::size(kPages); ++i) {
        const Page page = kPages[i].page;
        QAction* action = view->addAction(tr(kPages[i].title), this, [this, page] { showPage(page); });
        action->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + static_cast<int>(i))));
    }

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    QAction* convert = run->addAction(tr("&Start a conversion"), this, [this] {
        showPage(Page::Training);
        m_trainingPage->startConversion();  // the form's settings; refusals are explained on the page
    });
    convert->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction* exportRun = run->addAction(tr("&Export..."), this, [this] { showPage(Page::Export); });
    exportRun->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    QAction* cancel = run->addAction(tr("&Cancel the running job"), this, [this] {
        m_session->cancel();
        m_statusText->setText(tr("Cancelling (a conversion writes a checkpoint first) ..."));
    });
    cancel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    QAction* reanalyse = run->addAction(tr("Re-&analyse the heads"), this,
                                        [this] { startAnalysis(m_similarityPage->metric()); });
    reanalyse->setShortcut(QKeySequence(Qt::Key_F5));
}

void MainWindow::connectSession() {
    connect(m_session, &EngineSession::jobStarted, this, [this](JobKind kind) {
        m_progress->setVisible(true);
        m_progress->setRange(0, 0);  // busy until the job reports its size
        m_statusText->setText(tr("%1 ...").arg(jobTitle(kind)));
    });
    connect(m_session, &EngineSession::progressed, this, [this](const ProgressEvent& event) {
        if (event.total > 0) {
            m_progress->setRange(0, 1000);
            m_progress->setValue(static_cast<int>(1000 * event.fraction()));
        }
        m_statusText->setText(tr("%1: %2 of %3 %4")
                                  .arg(QString::fromStdString(event.phase))
                                  .arg(event.done)
                                  .arg(event.total)
                                  .arg(QString::fromStdString(event.unit)));
    });
    connect(m_session, &EngineSession::lossBatch, this, [this](const QVector<LossEvent>& batch) {
        const LossEvent& last = batch.back();
        if (last.totalSteps > 0) {
            m_progress->setRange(0, static_cast<int>(last.totalSteps));
            m_progress->setValue(static_cast<int>(last.step));
        }
        m_statusText->setText(tr("%1: step %2 of %3, LM loss %4, ETA %5")
                                  .arg(QString::fromStdString(last.phase))
                                  .arg(last.step)
                                  .arg(last.totalSteps)
                                  .arg(last.lmLoss, 0, 'f', 3)
                                  .arg(formatDuration(last.etaSeconds)));
    });
    connect(m_session, &EngineSession::kvSavingsChanged, this, [this](const KvSavingsEvent& event) {
        m_kvText->setText(tr("KV %1 / token, %2 saved")
                              .arg(formatBytes(static_cast<double>(event.bytesPerToken)),
                                   formatPercent(event.savedFraction())));
    });
    connect(m_session, &EngineSession::modelInspected, this, [this](const ModelInfo& info) {
        m_modelDir = toQString(info.directory);
        m_modelPage->setModel(info);
        m_planPage->setSource(info);
        m_trainingPage->setSourceModel(info.directory);
        m_similarityPage->clear();
        m_analysisComplete = false;
        m_kvText->setText(tr("KV %1 / token").arg(formatBytes(static_cast<double>(info.kvBytesPerToken))));
        rememberRecentModel(m_modelDir);
        setWindowTitle(tr("DHA Studio - %1").arg(QFileInfo(m_modelDir).fileName()));
        Q_EMIT modelOpened();
    });
    connect(m_session, &EngineSession::similarityLayer, this, [this](const SimilarityEvent& event) {
        if (m_analysedLayers == 0) m_similarityPage->beginAnalysis(event.metric, event.numLayers);
        m_similarityPage->addLayer(event);
        ++m_analysedLayers;
        if (m_firstHeatmapMs < 0) {
            m_firstHeatmapMs = m_started.elapsed();
            Q_EMIT firstHeatmapShown(m_firstHeatmapMs);
        }
    });
    connect(m_session, &EngineSession::analysisFinished, this, [this](const SimilarityReport& report) {
        m_similarityPage->setReport(report);
        m_planPage->setSimilarity(report);
        m_analysisComplete = true;
        Q_EMIT analysisReady();
    });
    connect(m_session, &EngineSession::conversionFinished, this,
            [this](const ConvertReport& report) { m_exportPage->setInput(toQString(report.runDir)); });
    connect(m_session, &EngineSession::jobFinished, this, &MainWindow::onJobFinished);
}

void MainWindow::connectPages() {
    connect(m_modelPage, &ModelPage::openRequested, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model directory"),
                                                              m_modelDir);
        if (!dir.isEmpty()) openModel(dir);
    });
    connect(m_modelPage, &ModelPage::openEmbeddedRequested, this, [this] { openEmbeddedModel(); });
    connect(m_modelPage, &ModelPage::openDirectoryRequested, this, [this](const QString& dir) { openModel(dir); });
    connect(m_similarityPage, &SimilarityPage::metricRequested, this,
            [this](SimilarityMetric metric) { startAnalysis(metric); });
    connect(m_trainingPage, &TrainingPage::runFocused, m_exportPage, &ExportPage::setInput);
    connect(m_planPage, &PlanPage::planChanged, this, [this](const Plan& plan) {
        m_similarityPage->setPlan(plan);
        m_trainingPage->setPlan(plan, m_planPage->currentBudget());
    });
}

bool MainWindow::openModel(const QString& directory) {
    if (m_session->isBusy()) {
        showError(tr("Engine busy"), tr("Wait for the running job to finish (or cancel it) before opening %1.")
                                         .arg(directory));
        return false;
    }
    m_pendingModelDir = directory;
    m_modelPage->setLoading(directory);
    return m_session->inspect(directory.toStdString());
}

void MainWindow::setRunsFolder(const QString& folder) { m_trainingPage->setRunsFolder(folder); }

bool MainWindow::openEmbeddedModel() {
    const auto dir = embeddedModelDir();
    if (!dir) {
        showError(tr("Embedded teacher missing"),
                  tr("The embedded teacher model is not installed; looked in %1.")
                      .arg(QString::fromStdString(describeEmbeddedCandidates("models/dha-teacher/config.json"))));
        return false;
    }
    return openModel(toQString(*dir));
}

void MainWindow::startAnalysis(SimilarityMetric metric) {
    if (m_modelDir.isEmpty()) return;
    if (m_session->isBusy()) {
        m_statusText->setText(tr("The engine is busy: analyse again when the running job has finished."));
        return;
    }
    AnalyseSpec spec;
    spec.modelDir = m_modelDir.toStdString();
    spec.metric = metric;
    if (isActivationMetric(metric)) {
        // Activation metrics run the model over text: the embedded validation split, never the test split.
        if (const auto text = embeddedValidationText()) {
            spec.calibrationText = *text;
        } else {
            const QString chosen = QFileDialog::getOpenFileName(this, tr("Calibration text (UTF-8)"));
            if (chosen.isEmpty()) return;
            spec.calibrationText = chosen.toStdString();
        }
    }
    m_analysedLayers = 0;
    m_analysisComplete = false;
    m_session->analyse(spec);
}

void MainWindow::onJobFinished(JobKind kind, JobStatus status, const Error& error) {
    m_progress->setVisible(false);
    if (status == JobStatus::Succeeded) {
        m_statusText->setText(tr("%1: done").arg(jobTitle(kind)));
        // A model that opened is analysed next, with the metric the similarity page shows.
        if (kind == JobKind::Inspect) startAnalysis(m_similarityPage->metric());
        return;
    }
    if (status == JobStatus::Cancelled) {
        m_statusText->setText(tr("%1: cancelled").arg(jobTitle(kind)));
        return;
    }
    m_statusText->setText(tr("%1: failed").arg(jobTitle(kind)));
    if (kind == JobKind::Inspect) {
        if (m_modelDir.isEmpty()) m_modelPage->clear();
        else m_modelPage->setModel(*m_modelPage->model());
    }
    // The training page reports a failed conversion itself (dialog, status line and log).
    if (kind != JobKind::Convert) showError(tr("%1 failed").arg(jobTitle(kind)), describeError(error));
}

void MainWindow::showError(const QString& title, const QString& text) {
    // Window-modal but not blocking: the engine's events keep flowing while the dialog is up.
    auto* box = new QMessageBox(QMessageBox::Critical, title, text, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
    Q_EMIT errorShown(text);
}

void MainWindow::rememberRecentModel(const QString& directory) {
    QSettings settings;
    QStringList recent = settings.value(kRecentKey).toStringList();
    recent.removeAll(directory);
    recent.prepend(directory);
    while (recent.size() > kMaxRecentModels) recent.removeLast();
    settings.setValue(kRecentKey, recent);
    refreshRecentModels();
}

void MainWindow::refreshRecentModels() {
    const QStringList recent = QSettings().value(kRecentKey).toStringList();
    m_modelPage->setRecentModels(recent);
    m_recentMenu->clear();
    for (const QString& dir : recent) m_recentMenu->addAction(dir, this, [this, dir] { openModel(dir); });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    if (openDropped(*event->mimeData())) event->acceptProposedAction();
}

bool MainWindow::openDropped(const QMimeData& mime) {
    const QList<QUrl> urls = mime.urls();
    if (urls.isEmpty() || !urls.front().isLocalFile()) return false;
    const QFileInfo dropped(urls.front().toLocalFile());
    // A dropped config.json or weight file means the directory that holds it.
    return openModel(dropped.isDir() ? dropped.absoluteFilePath() : dropped.absolutePath());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kPageKey, pageName(currentPage()));
    // A running conversion is cancelled, which writes its checkpoint; the session waits for it on destruction.
    m_session->cancel();
    event->accept();
}

}  // namespace dha::ui
