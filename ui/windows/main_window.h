// The DHA Studio main window: pages (Model, Similarity, Budget and plan, Training, Export) over one
// EngineSession, wiring what each page produces into the pages that use it.
#pragma once

#include <QElapsedTimer>
#include <QMainWindow>

#include <filesystem>
#include <optional>

#include "bridge/engine_session.h"

class QLabel;
class QMimeData;
class QMenu;
class QProgressBar;
class QTabWidget;

namespace dha::ui {

class ExportPage;
class ModelPage;
class PlanPage;
class SimilarityPage;
class TrainingPage;

enum class Page { Model, Similarity, Plan, Training, Export };
QString pageName(Page page);                                // "model", "similarity", "plan", "training", "export"
std::optional<Page> pageFromName(const QString& name);

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `started` is when the process started, for the time-to-first-heatmap figure (default: now).
    explicit MainWindow(QWidget* parent = nullptr, QElapsedTimer started = {});
    ~MainWindow() override;

    void showPage(Page page);
    Page currentPage() const;

    // Opens a model directory: inspect, then analyse with the selected metric. False when a job is running.
    bool openModel(const QString& directory);
    bool openEmbeddedModel();
    // What a drop on the window does: opens the first local URL's directory (a dropped file's directory).
    bool openDropped(const QMimeData& mime);  // false with an error dialog when the embedded teacher is not installed
    QString modelDirectory() const { return m_modelDir; }
    bool analysisComplete() const { return m_analysisComplete; }
    // Milliseconds from `started` to the first heatmap drawn; -1 until then.
    qint64 firstHeatmapMs() const { return m_firstHeatmapMs; }

    void setRunsFolder(const QString& folder);  // where the training page lists and creates run directories

    EngineSession* session() const { return m_session; }
    ModelPage* modelPage() const { return m_modelPage; }
    SimilarityPage* similarityPage() const { return m_similarityPage; }
    PlanPage* planPage() const { return m_planPage; }
    TrainingPage* trainingPage() const { return m_trainingPage; }
    ExportPage* exportPage() const { return m_exportPage; }

Q_SIGNALS:
    void modelOpened();
    void analysisReady();
    void firstHeatmapShown(qint64 milliseconds);
    void errorShown(const QString& text);  // also shown as a dialog

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void connectSession();
    void connectPages();
    void startAnalysis(SimilarityMetric metric);
    void showError(const QString& title, const QString& text);
    void rememberRecentModel(const QString& directory);
    void refreshRecentModels();
    void onJobFinished(JobKind kind, JobStatus status, const Error& error);

    EngineSession* m_session = nullptr;
    QTabWidget* m_pages = nullptr;
    ModelPage* m_modelPage = nullptr;
    SimilarityPage* m_similarityPage = nullptr;
    PlanPage* m_planPage = nullptr;
    TrainingPage* m_trainingPage = nullptr;
    ExportPage* m_exportPage = nullptr;
    QLabel* m_statusText = nullptr;
    QLabel* m_kvText = nullptr;
    QProgressBar* m_progress = nullptr;
    QMenu* m_recentMenu = nullptr;
    QString m_modelDir;
    QString m_pendingModelDir;
    bool m_analysisComplete = false;
    int m_analysedLayers = 0;
    QElapsedTimer m_started;
    qint64 m_firstHeatmapMs = -1;
};

}  // namespace dha::ui
