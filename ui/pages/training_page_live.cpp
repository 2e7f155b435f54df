// TrainingPage, live: the EngineSession's events of the conversion this page started (job started, loss
// batches, held-out losses, KV savings, checkpoints, log lines, progress, finished), and the progress and KV
// panels of a run reopened from disk.
#include "pages/training_page.h"

#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableView>
#include <QTableWidget>

#include <algorithm>

#include "dha/run_history.h"
#include "support/format_units.h"
#include "support/palette.h"

namespace dha::ui {

namespace fs = std::filesystem;

void TrainingPage::connectSession() {
    if (!m_session) return;
    connect(m_session, &EngineSession::jobStarted, this, &TrainingPage::onJobStarted);
    connect(m_session, &EngineSession::lossBatch, this, &TrainingPage::onLossBatch);
    connect(m_session, &EngineSession::validationMeasured, this, &TrainingPage::onValidation);
    connect(m_session, &EngineSession::kvSavingsChanged, this, &TrainingPage::onKvSavings);
    connect(m_session, &EngineSession::checkpointWritten, this, &TrainingPage::onCheckpoint);
    connect(m_session, &EngineSession::logged, this, &TrainingPage::onLog);
    connect(m_session, &EngineSession::progressed, this, &TrainingPage::onProgress);
    connect(m_session, &EngineSession::jobFinished, this, &TrainingPage::onJobFinished);
}

void TrainingPage::onJobStarted(JobKind kind) {
    if (m_running && kind == JobKind::Convert) {
        m_phase->setText(tr("preparing"));
        m_progress->setValue(0);
        m_eta->clear();
        m_kvTable->setRowCount(0);
        m_kvSummary->setText(tr("Known once the plan is chosen."));
    }
    updateButtons();
}

void TrainingPage::onLossBatch(const QVector<LossEvent>& events) {
    if (!m_running || events.isEmpty()) return;
    m_history->append(events);
    m_plot->append(events);
    const LossEvent& last = events.back();
    m_phase->setText(
        tr("%1 · step %2 of %3")
            .arg(last.phase == "continued" ? tr("continued pretraining") : QString::fromStdString(last.phase))
            .arg(last.step)
            .arg(last.totalSteps));
    if (last.totalSteps > 0)
        m_progress->setValue(
            static_cast<int>(1000.0 * static_cast<double>(last.step) / static_cast<double>(last.totalSteps)));
    const double remaining = last.etaSeconds;  // the engine's, as the CLI and the status bar show it
    m_eta->setText(tr("LM loss %1 · %2 tokens/s · about %3 left · %4 elapsed")
                       .arg(last.lmLoss, 0, 'f', 3)
                       .arg(formatCount(last.tokensPerSecond))
                       .arg(formatDuration(std::max(0.0, remaining)))
                       .arg(formatDuration(last.elapsedSeconds)));
    updateButtons();
}

void TrainingPage::onValidation(const ValidationEvent& event) {
    if (!m_running) return;
    m_plot->addValidation(event);
    appendLog(tr("held-out loss at step %1: %2 (perplexity %3)")
                  .arg(event.step)
                  .arg(event.loss, 0, 'f', 4)
                  .arg(event.perplexity, 0, 'f', 1));
}

void TrainingPage::onKvSavings(const KvSavingsEvent& event) {
    if (!m_running) return;
    showHeadCounts(
        event.layers,
        tr("<b>%1</b> per token instead of %2: <b>%3 saved</b> <span style='color:#666'>(%4, bf16 K+V "
           "cache)</span>")
            .arg(formatBytes(static_cast<double>(event.bytesPerToken)),
                 formatBytes(static_cast<double>(event.sourceBytesPerToken)),
                 formatPercent(event.savedFraction()), QString::fromStdString(event.phase)));
}

void TrainingPage::showHeadCounts(const std::vector<LayerHeadCount>& layers, const QString& summary) {
    m_kvSummary->setText(summary);
    m_kvTable->setRowCount(static_cast<int>(layers.size()));
    QStringList rows;
    for (size_t i = 0; i < layers.size(); ++i) {
        rows << tr("layer %1").arg(i);
        const int values[2] = {layers[i].keyHeads, layers[i].valueHeads};
        for (int column = 0; column < 2; ++column) {
            auto* item = new QTableWidgetItem(QString::number(values[column]));
            item->setTextAlignment(Qt::AlignCenter);
            item->setForeground(column == 0 ? palette::key() : palette::valueText());
            m_kvTable->setItem(static_cast<int>(i), column, item);
        }
    }
    m_kvTable->setVerticalHeaderLabels(rows);
}

void TrainingPage::showRunSummary(const RunSummary& run) {
    const QString name = QString::fromStdString(run.name);
    m_phase->setText(tr("%1: %2").arg(name, QString::fromStdString(run.state)));
    m_progress->setValue(run.totalSteps > 0 ? static_cast<int>(1000.0 * static_cast<double>(run.stepsDone) /
                                                               static_cast<double>(run.totalSteps))
                                            : 0);
    QString detail = tr("%1 of %2 steps, %3 tokens")
                         .arg(run.stepsDone)
                         .arg(run.totalSteps)
                         .arg(formatCount(static_cast<double>(run.tokensDone)));
    if (run.finalHeldOut) detail += tr(" · held-out loss %1").arg(*run.finalHeldOut, 0, 'f', 3);
    if (run.sourceHeldOut) detail += tr(" (source %1)").arg(*run.sourceHeldOut, 0, 'f', 3);
    m_eta->setText(detail);
    // The run's plan, when it has one (a search may not have decided it yet).
    std::vector<LayerHeadCount> layers;
    QString summary = tr("This run has no plan yet.");
    try {
        if (fs::is_regular_file(run.runDir / "plan.json")) {
            const Plan plan = loadPlan(run.runDir / "plan.json");
            for (const LayerPlan& layer : plan.layers)
                layers.push_back({layer.numKeyHeads(), layer.numValueHeads()});
            const double saved = plan.sourceKvHeads() > 0
                                     ? 1.0 - static_cast<double>(plan.keptHeads()) / plan.sourceKvHeads()
                                     : 0.0;
            summary = tr("Plan of %1: <b>%2 of %3</b> key+value heads kept, <b>%4 of the KV cache saved</b>")
                          .arg(name.toHtmlEscaped())
                          .arg(plan.keptHeads())
                          .arg(plan.sourceKvHeads())
                          .arg(formatPercent(saved));
        }
    } catch (const Exception& exception) {
        summary = QString::fromStdString(exception.error().describe()).toHtmlEscaped();
    }
    showHeadCounts(layers, summary);
}

void TrainingPage::onCheckpoint(const CheckpointEvent& event) {
    if (!m_running) return;
    appendLog(tr("checkpoint at step %1 (%2): %3")
                  .arg(event.step)
                  .arg(QString::fromStdString(event.reason), QString::fromStdString(event.path)));
}

void TrainingPage::onLog(const LogEvent& event) {
    if (!m_running) return;
    appendLog(QString::fromStdString(event.message), event.level == LogLevel::Warning);
}

void TrainingPage::onProgress(const ProgressEvent& event) {
    if (!m_running) return;
    // Loss batches report the training steps; progress events cover the rest (analysis, held-out losses).
    QString text = QString::fromStdString(event.phase);
    if (event.total > 0)
        text += tr(": %1 of %2 %3").arg(event.done).arg(event.total).arg(QString::fromStdString(event.unit));
    m_phase->setText(text);
    if (event.total > 0) m_progress->setValue(static_cast<int>(1000.0 * event.fraction()));
}

void TrainingPage::onJobFinished(JobKind kind, JobStatus status, const Error& error) {
    if (!m_running || kind != JobKind::Convert) {
        updateButtons();
        return;
    }
    m_running = false;
    const QString run = QString::fromStdString(m_currentRun.filename().string());
    if (status == JobStatus::Succeeded) {
        m_phase->setText(tr("finished"));
        m_progress->setValue(m_progress->maximum());
        setStatus(tr("%1 finished; its export is in %1/export.").arg(run));
        appendLog(tr("%1 finished").arg(run));
    } else if (status == JobStatus::Cancelled) {
        m_phase->setText(tr("cancelled"));
        setStatus(tr("%1 cancelled; select it in the runs list and Resume to continue.").arg(run));
        appendLog(tr("%1 cancelled").arg(run));
    } else {
        m_phase->setText(tr("failed"));
        const QString message = describeError(error);
        setStatus(message, true);
        appendLog(message, true);
        auto* box =
            new QMessageBox(QMessageBox::Warning, tr("Conversion failed"), message, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();  // not exec(): the event loop (and any test) keeps running
    }
    m_runs->refresh();
    const int row = m_runs->rowOf(m_currentRun);
    {
        const QSignalBlocker blocker(m_runsView->selectionModel());  // keep the live curve as it is
        if (row >= 0) m_runsView->selectRow(row);
    }
    proposeRunName();
    updateButtons();
}

}  // namespace dha::ui
