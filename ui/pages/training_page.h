// The Training page: set up and start, cancel or resume a conversion (or a baseline), watch its loss curves,
// phase, ETA and KV savings live, read its log, reopen earlier runs with their full curves, overlay them
// (e.g. the GQA baseline), and save the plot (PNG, SVG, PDF) or the loss history (CSV).
#pragma once

#include <QString>
#include <QWidget>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "bridge/engine_session.h"
#include "pages/conversion_settings.h"
#include "dha/budget.h"
#include "dha/conversion.h"
#include "dha/plan.h"
#include "models/loss_history_model.h"
#include "models/runs_model.h"
#include "views/loss_plot_view.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QTableWidget;
class QTabWidget;

namespace dha::ui {

class TrainingPage : public QWidget {
    Q_OBJECT
public:
    explicit TrainingPage(EngineSession* session, QWidget* parent = nullptr);

    void setSourceModel(const std::filesystem::path& modelDir);
    // From the plan page: the dha method converts to `plan` (saved to <runs folder>/<run name>.plan.json when
    // the run starts); the other methods use `budget`.
    void setPlan(const Plan& plan, const Budget& budget);
    void setRunsFolder(const QString& folder);
    // The spec the form describes now (no file is written). Invalid token text gives 0 tokens.
    ConvertSpec specFromForm() const;
    // The settings the form leaves out (shares, batch, learning rates, dtype, checkpoints); setting them also
    // saves them for the next session.
    const ConversionSettings& conversionSettings() const { return m_settings; }
    void setConversionSettings(const ConversionSettings& settings);

    LossHistoryModel* history() { return m_history; }
    LossPlotView* plot() { return m_plot; }
    RunsModel* runs() { return m_runs; }

    // The actions behind the buttons; each returns false (with the reason in the status line and the log)
    // when it cannot start.
    bool startConversion();
    // Starts exactly this conversion (the form's spec, or one a caller built) and follows it live.
    bool startConversion(const ConvertSpec& spec);
    bool resumeRun(const std::filesystem::path& runDir);
    void cancelConversion();
    // Shows a run's whole history in the plot and the table (the run in focus); false when it cannot be read.
    bool loadRun(const std::filesystem::path& runDir);
    bool overlayRun(const std::filesystem::path& runDir);
    bool exportCsv(const QString& path);
    bool savePlot(const QString& path);  // format from the suffix: .png, .svg or .pdf

    // "2M", "500k", "65536" or "0.5%" of the source's pretraining tokens (the rules of `dha convert --tokens`);
    // nullopt with *error set when the text is none of these or the percentage has nothing to refer to.
    static std::optional<int64_t> parseTokens(const QString& text, std::optional<int64_t> sourceTokens,
                                              QString* error = nullptr);

    // For tests and the main window.
    QString runsFolder() const;
    QString runName() const;
    void setRunName(const QString& name);
    void setTokensText(const QString& text);
    void setMethod(ConvertMethod method);
    void setTrainText(const QString& path);
    QString statusText() const;
    bool isRunning() const { return m_running; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* cancelButton() const { return m_cancel; }
    QPushButton* resumeButton() const { return m_resume; }
    QTableView* runsView() const { return m_runsView; }

Q_SIGNALS:
    // The run in focus changed (loaded from the list, or a conversion started): the export page proposes it.
    void runFocused(const QString& runDir);

private:
    bool runDirectoryTaken(const std::filesystem::path& runDir);
    void updateSettingsSummary();  // says so in the status line
    QWidget* buildForm();
    QWidget* buildProgress();
    QWidget* buildKvPanel();
    QWidget* buildPlotPanel();
    QWidget* buildBottomTabs();
    void connectSession();

    void onJobStarted(JobKind kind);
    void onLossBatch(const QVector<LossEvent>& events);
    void onValidation(const ValidationEvent& event);
    void onKvSavings(const KvSavingsEvent& event);
    void onCheckpoint(const CheckpointEvent& event);
    void onLog(const LogEvent& event);
    void onProgress(const ProgressEvent& event);
    void onJobFinished(JobKind kind, JobStatus status, const Error& error);

    void showHeadCounts(const std::vector<LayerHeadCount>& layers, const QString& summary);
    void showRunSummary(const RunSummary& run);  // progress and KV panels of a run loaded from disk
    void appendLog(const QString& line, bool warning = false);
    void setStatus(const QString& text, bool problem = false);
    void updateTokensHint();
    void updateBudgetLabel();
    void updateButtons();
    void proposeRunName();
    std::optional<std::filesystem::path> selectedRun() const;
    QString planPath() const;

    EngineSession* m_session = nullptr;
    LossHistoryModel* m_history = nullptr;
    RunsModel* m_runs = nullptr;
    LossPlotView* m_plot = nullptr;

    QLabel* m_sourceLabel = nullptr;
    QComboBox* m_method = nullptr;
    QLineEdit* m_tokens = nullptr;
    QLabel* m_tokensHint = nullptr;
    QLabel* m_budgetLabel = nullptr;
    QLineEdit* m_trainText = nullptr;
    QLineEdit* m_validationText = nullptr;
    QLineEdit* m_runsFolder = nullptr;
    QLineEdit* m_runName = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_resume = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_settingsSummary = nullptr;
    ConversionSettings m_settings = ConversionSettings::load();

    QLabel* m_phase = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_eta = nullptr;
    QLabel* m_kvSummary = nullptr;
    QTableWidget* m_kvTable = nullptr;

    QComboBox* m_xAxis = nullptr;
    QCheckBox* m_logScale = nullptr;
    QCheckBox* m_smoothed = nullptr;
    QSpinBox* m_span = nullptr;
    QPushButton* m_overlay = nullptr;
    QPushButton* m_clearOverlays = nullptr;
    QPushButton* m_savePlot = nullptr;
    QPushButton* m_exportCsv = nullptr;

    QTabWidget* m_tabs = nullptr;
    QTableView* m_runsView = nullptr;
    QTableView* m_stepsView = nullptr;
    QPlainTextEdit* m_log = nullptr;

    std::filesystem::path m_source;
    std::optional<int64_t> m_sourceTokens;
    std::optional<Plan> m_plan;
    Budget m_budget = Budget::ofFraction(0.25);
    std::filesystem::path m_currentRun;  // the run in focus (live or loaded)
    bool m_running = false;              // a conversion this page started is running
};

}  // namespace dha::ui
