// TrainingPage, its actions: the form's state and the spec it describes, the button states, and starting,
// resuming, cancelling, loading, overlaying and exporting runs.
#include "pages/training_page.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableView>

#include <algorithm>

#include "dha/run_history.h"
#include "pages/token_budget.h"
#include "support/format_units.h"

namespace dha::ui {
namespace {

namespace fs = std::filesystem;


}  // namespace

std::optional<int64_t> TrainingPage::parseTokens(const QString& text, std::optional<int64_t> sourceTokens,
                                                 QString* error) {
    return parseTokenBudget(text, sourceTokens, error);
}

void TrainingPage::setSourceModel(const fs::path& modelDir) {
    m_source = modelDir;
    m_sourceTokens.reset();
    if (modelDir.empty()) {
        m_sourceLabel->setText(tr("<i>No model is open: open one on the Model page to convert it.</i>"));
    } else {
        m_sourceLabel->setText(QString::fromStdString(modelDir.filename().string()));
        m_sourceLabel->setToolTip(QString::fromStdString(modelDir.string()));
        try {
            m_sourceTokens = sourcePretrainingTokens(modelDir);
        } catch (const Exception& exception) {
            appendLog(QString::fromStdString(exception.error().describe()), true);
        }
    }
    updateTokensHint();
    updateButtons();
}

void TrainingPage::setPlan(const Plan& plan, const Budget& budget) {
    m_plan = plan;
    m_budget = budget;
    updateBudgetLabel();
}

void TrainingPage::setRunsFolder(const QString& folder) {
    if (m_runsFolder->text() != folder) m_runsFolder->setText(folder);
    m_runs->setFolder(folder);
    proposeRunName();
    updateButtons();
}

QString TrainingPage::runsFolder() const { return m_runsFolder->text(); }
QString TrainingPage::runName() const { return m_runName->text().trimmed(); }
void TrainingPage::setRunName(const QString& name) { m_runName->setText(name); }
void TrainingPage::setTokensText(const QString& text) { m_tokens->setText(text); }
void TrainingPage::setTrainText(const QString& path) { m_trainText->setText(path); }
QString TrainingPage::statusText() const { return m_status->text(); }

void TrainingPage::setMethod(ConvertMethod method) {
    const int index = m_method->findData(static_cast<int>(method));
    if (index >= 0) m_method->setCurrentIndex(index);
}

QString TrainingPage::planPath() const { return QDir(runsFolder()).filePath(runName() + ".plan.json"); }

ConvertSpec TrainingPage::specFromForm() const {
    ConvertSpec spec;
    spec.sourceModelDir = m_source;
    spec.method = static_cast<ConvertMethod>(m_method->currentData().toInt());
    spec.trainText = m_trainText->text().trimmed().toStdString();
    spec.validationText = m_validationText->text().trimmed().toStdString();
    if (spec.method == ConvertMethod::Dha && m_plan)
        spec.planFile = planPath().toStdString();
    else
        spec.budget = m_budget;
    m_settings.applyTo(spec, parseTokens(m_tokens->text(), m_sourceTokens).value_or(0));
    spec.runDir = QDir(runsFolder()).filePath(runName()).toStdString();
    return spec;
}

void TrainingPage::setConversionSettings(const ConversionSettings& settings) {
    m_settings = settings;
    m_settings.save();
    updateSettingsSummary();
}

void TrainingPage::updateSettingsSummary() {
    // One line in the form, every setting in the tooltip.
    m_settingsSummary->setText(tr("%1 x %2, lr %3, %4")
                                   .arg(m_settings.batchSize)
                                   .arg(m_settings.contextLength)
                                   .arg(m_settings.continuedPeakLearningRate, 0, 'g', 2)
                                   .arg(m_settings.dtype));
    m_settingsSummary->setToolTip(tr("search share %1, fusion share %2; batch %3 sequences of %4 tokens; model "
                                     "learning rate during fusion %5; continued pretraining %6 to %7; %8; "
                                     "checkpoint every %9 steps")
                                      .arg(m_settings.searchShare)
                                      .arg(m_settings.fusionShare)
                                      .arg(m_settings.batchSize)
                                      .arg(m_settings.contextLength)
                                      .arg(m_settings.modelLearningRate, 0, 'g', 2)
                                      .arg(m_settings.continuedPeakLearningRate, 0, 'g', 2)
                                      .arg(m_settings.continuedMinLearningRate, 0, 'g', 2)
                                      .arg(m_settings.dtype)
                                      .arg(m_settings.checkpointInterval));
}

void TrainingPage::updateTokensHint() {
    QString error;
    const auto tokens = parseTokens(m_tokens->text(), m_sourceTokens, &error);
    if (!tokens) {
        m_tokensHint->setText("<span style='color:#D55E00'>" + error.toHtmlEscaped() + "</span>");
        return;
    }
    QString text = tr("%1 tokens").arg(formatCount(static_cast<double>(*tokens)));
    if (m_sourceTokens)
        text += tr(" of %1 pretraining tokens")
                    .arg(formatCount(static_cast<double>(*m_sourceTokens)));
    m_tokensHint->setText(text);
}

void TrainingPage::updateBudgetLabel() {
    const auto method = static_cast<ConvertMethod>(m_method->currentData().toInt());
    if (method == ConvertMethod::Dha && m_plan) {
        m_budgetLabel->setText(tr("Plan page: %1 of %2 K+V heads")
                                   .arg(m_plan->keptHeads())
                                   .arg(m_plan->sourceKvHeads()));
    } else {
        QString text = tr("%1 of the K+V heads").arg(QString::fromStdString(m_budget.describe()));
        if (usesUniformPlan(method)) text += tr(", uniform");
        m_budgetLabel->setText(text);
    }
}

void TrainingPage::proposeRunName() {
    if (m_running) return;
    const auto method = static_cast<ConvertMethod>(m_method->currentData().toInt());
    const QString base = QStringLiteral("convert-%1-%2")
                             .arg(QString::fromLatin1(convertMethodName(method)),
                                  QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
    QString name = base;
    for (int suffix = 2; QFileInfo::exists(QDir(runsFolder()).filePath(name)); ++suffix)
        name = base + "-" + QString::number(suffix);
    m_runName->setText(name);
}

std::optional<fs::path> TrainingPage::selectedRun() const {
    const QModelIndexList rows = m_runsView->selectionModel()->selectedRows();
    if (rows.isEmpty()) return std::nullopt;
    const fs::path run = m_runs->runDir(rows.first().row());
    return run.empty() ? std::nullopt : std::optional<fs::path>(run);
}

void TrainingPage::updateButtons() {
    const bool busy = m_session && m_session->isBusy();
    const bool tokensOk = parseTokens(m_tokens->text(), m_sourceTokens).has_value();
    const bool ready = !m_source.empty() && !m_trainText->text().trimmed().isEmpty() && tokensOk &&
                       !runName().isEmpty() && !runsFolder().isEmpty();
    m_start->setEnabled(m_session && !busy && ready);
    m_cancel->setEnabled(m_running);
    const auto run = selectedRun();
    const QString state =
        run ? QString::fromStdString(m_runs->summary(m_runs->rowOf(*run)).state) : QString();
    const bool convertRun = run && m_runs->summary(m_runs->rowOf(*run)).kind == "convert";
    m_resume->setEnabled(m_session && !busy && convertRun && (state == "resumable" || state == "new"));
    m_overlay->setEnabled(run && state != "unreadable");
    m_clearOverlays->setEnabled(!m_plot->overlayNames().isEmpty());
    const bool hasCurves = !m_plot->isEmpty();
    m_savePlot->setEnabled(hasCurves);
    m_exportCsv->setEnabled(m_history->rowCount() > 0);
}

void TrainingPage::setStatus(const QString& text, bool problem) {
    m_status->setText(problem ? "<span style='color:#D55E00'>" + text.toHtmlEscaped() + "</span>"
                              : text.toHtmlEscaped());
}

void TrainingPage::appendLog(const QString& line, bool warning) {
    const QString stamp = QTime::currentTime().toString("HH:mm:ss");
    m_log->appendPlainText(stamp + (warning ? "  warning: " : "  ") + line);
}

bool TrainingPage::startConversion() {
    if (!m_session || m_session->isBusy()) {
        setStatus(tr("The engine is busy with another job."), true);
        return false;
    }
    QString error;
    if (!parseTokens(m_tokens->text(), m_sourceTokens, &error)) {
        setStatus(tr("Tokens: %1").arg(error), true);
        return false;
    }
    if (m_source.empty() || runName().isEmpty()) {
        setStatus(tr("Open a model and name the run first."), true);
        return false;
    }
    const ConvertSpec spec = specFromForm();
    if (runDirectoryTaken(spec.runDir)) return false;
    if (!QDir().mkpath(runsFolder())) {
        setStatus(tr("%1: cannot create the runs folder").arg(runsFolder()), true);
        return false;
    }
    if (!spec.planFile.empty()) {
        try {
            savePlan(*m_plan, spec.planFile);
        } catch (const Exception& exception) {
            setStatus(QString::fromStdString(exception.error().describe()), true);
            return false;
        }
    }
    return startConversion(spec);
}

bool TrainingPage::runDirectoryTaken(const std::filesystem::path& runDir) {
    const QDir dir(QString::fromStdString(runDir.string()));
    if (!dir.exists() || dir.isEmpty()) return false;
    setStatus(
        tr("%1 exists already: choose another run name, or select it below and Resume.").arg(dir.path()),
        true);
    return true;
}

bool TrainingPage::startConversion(const ConvertSpec& spec) {
    if (!m_session || m_session->isBusy()) {
        setStatus(tr("The engine is busy with another job."), true);
        return false;
    }
    if (runDirectoryTaken(spec.runDir)) return false;
    const QString name = QString::fromStdString(spec.runDir.filename().string());
    m_history->clear();
    m_plot->setHistory({}, name);
    m_currentRun = spec.runDir;
    if (!m_session->convert(spec)) {
        setStatus(tr("The engine is busy with another job."), true);
        return false;
    }
    m_running = true;
    appendLog(tr("starting %1 in %2")
                  .arg(QString::fromLatin1(convertMethodName(spec.method)),
                       QString::fromStdString(spec.runDir.string())));
    setStatus(tr("Running %1.").arg(name));
    updateButtons();
    return true;
}

bool TrainingPage::resumeRun(const fs::path& runDir) {
    if (!m_session || m_session->isBusy()) {
        setStatus(tr("The engine is busy with another job."), true);
        return false;
    }
    ConvertSpec spec;
    RunHistory history;
    try {
        spec = loadConvertSpec(runDir);
        history = loadRunHistory(runDir);
    } catch (const Exception& exception) {
        setStatus(QString::fromStdString(exception.error().describe()), true);
        return false;
    }
    // The resume cuts metrics.jsonl back to its checkpoint and replays the steps after it: show only what
    // stays.
    const int64_t kept = summariseRun(runDir).checkpointStep;
    history.losses.erase(std::remove_if(history.losses.begin(), history.losses.end(),
                                        [&](const LossEvent& event) { return event.step > kept; }),
                         history.losses.end());
    RunHistory shown;
    shown.losses = history.losses;
    for (size_t i = 0; i < history.validations.size(); ++i) {
        if (history.validations[i].step > kept) continue;
        shown.validations.push_back(history.validations[i]);
        shown.validationModels.push_back(history.validationModels[i]);
    }
    const QString name = QString::fromStdString(runDir.filename().string());
    m_history->setHistory(shown);
    m_plot->setHistory(shown, name);
    m_currentRun = runDir;
    if (!m_session->convert(spec)) {
        setStatus(tr("The engine is busy with another job."), true);
        return false;
    }
    m_running = true;
    appendLog(tr("resuming %1 from step %2").arg(QString::fromStdString(runDir.string())).arg(kept));
    setStatus(tr("Resuming %1.").arg(name));
    updateButtons();
    return true;
}

void TrainingPage::cancelConversion() {
    if (!m_running || !m_session) return;
    m_session->cancel();
    appendLog(tr("cancelling: a checkpoint is written at the next step"));
    setStatus(tr("Cancelling…"));
    m_cancel->setEnabled(false);
}

bool TrainingPage::loadRun(const fs::path& runDir) {
    try {
        const RunHistory history = loadRunHistory(runDir);
        const QString name = QString::fromStdString(runDir.filename().string());
        m_history->setHistory(history);
        m_plot->setHistory(history, name);
        m_currentRun = runDir;
        showRunSummary(summariseRun(runDir));
        setStatus(tr("Showing %1 (%2 steps).").arg(name).arg(history.losses.size()));
        Q_EMIT runFocused(QString::fromStdString(runDir.string()));
    } catch (const Exception& exception) {
        setStatus(QString::fromStdString(exception.error().describe()), true);
        appendLog(QString::fromStdString(exception.error().describe()), true);
        return false;
    }
    updateButtons();
    return true;
}

bool TrainingPage::overlayRun(const fs::path& runDir) {
    try {
        const RunSummary summary = summariseRun(runDir);
        const QString name = QStringLiteral("%1 (%2)").arg(QString::fromStdString(summary.name),
                                                           QString::fromStdString(summary.method));
        m_plot->addOverlay(name, loadRunHistory(runDir));
    } catch (const Exception& exception) {
        setStatus(QString::fromStdString(exception.error().describe()), true);
        return false;
    }
    updateButtons();
    return true;
}

bool TrainingPage::exportCsv(const QString& path) {
    QString error;
    if (!m_history->writeCsv(path, &error)) {
        setStatus(error, true);
        return false;
    }
    setStatus(tr("Loss history written to %1.").arg(path));
    return true;
}

bool TrainingPage::savePlot(const QString& path) {
    QString error;
    const bool ok = m_plot->savePlot(path, &error);  // the format follows the suffix: .png, .svg or .pdf
    if (!ok)
        setStatus(error, true);
    else
        setStatus(tr("Plot saved to %1.").arg(path));
    return ok;
}

}  // namespace dha::ui
