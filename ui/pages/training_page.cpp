// TrainingPage: the form and actions, the session's live events, and the runs list.
#include "pages/training_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

#include "dha/embedded_model.h"
#include "dha/run_history.h"
#include "support/format_units.h"

namespace dha::ui {
namespace {

namespace fs = std::filesystem;

constexpr int kLogLines = 2000;
constexpr double kFusionShare = 0.5;   // the CLI's --fusion-share default
constexpr double kSearchShare = 0.1;   // the CLI's --search-share default (adaptive methods with a budget)
constexpr int64_t kValidationTokens = 16384;  // per held-out measurement: seconds, not minutes, on a CPU

const ConvertMethod kMethods[] = {ConvertMethod::Dha, ConvertMethod::GqaMeanPool, ConvertMethod::CkaGqaMeanPool,
                                  ConvertMethod::UniformFusion, ConvertMethod::AdaptiveMeanPool};

QString methodDescription(ConvertMethod method) {
    switch (method) {
        case ConvertMethod::Dha: return QObject::tr("DHA: adaptive plan, learned fusion");
        case ConvertMethod::GqaMeanPool: return QObject::tr("GQA baseline: adjacent groups, mean-pooled");
        case ConvertMethod::CkaGqaMeanPool: return QObject::tr("CKA-GQA: similar heads grouped, mean-pooled");
        case ConvertMethod::UniformFusion: return QObject::tr("ablation: uniform plan, learned fusion");
        case ConvertMethod::AdaptiveMeanPool: return QObject::tr("ablation: adaptive plan, mean-pooled");
    }
    return {};
}

QLineEdit* fileField(QWidget* parent, QHBoxLayout*& row, QToolButton*& browse) {
    auto* field = new QLineEdit(parent);
    browse = new QToolButton(parent);
    browse->setText(QStringLiteral("…"));
    row = new QHBoxLayout;
    row->setSpacing(4);
    row->addWidget(field, 1);
    row->addWidget(browse);
    return field;
}

}  // namespace

std::optional<int64_t> TrainingPage::parseTokens(const QString& input, std::optional<int64_t> sourceTokens,
                                                 QString* error) {
    // The rules of `dha convert --tokens` (app/cli/convert_options.cpp, ArgParser::countValue), restated here
    // because ui/ may not include app/.
    const QString text = input.trimmed();
    const auto failWith = [&](const QString& why) -> std::optional<int64_t> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (text.endsWith('%')) {
        bool ok = false;
        const double percent = text.chopped(1).trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(percent) || percent <= 0 || percent > 1e6)
            return failWith(tr("expected a count such as 2M or a percentage such as 0.5%"));
        if (!sourceTokens)
            return failWith(tr("the source's pretraining tokens are unknown (its eval.json does not record "
                               "them): give the tokens as a count"));
        const double tokens = std::round(percent / 100.0 * static_cast<double>(*sourceTokens));
        if (tokens < 1 || tokens > 1e15) return failWith(tr("%1 of the source's tokens is less than 1 token").arg(text));
        return static_cast<int64_t>(tokens);
    }
    double scale = 1;
    QString number = text;
    const QChar suffix = text.isEmpty() ? QChar() : text.back().toLower();
    if (suffix == 'k' || suffix == 'm' || suffix == 'g') {
        scale = suffix == 'k' ? 1e3 : suffix == 'm' ? 1e6 : 1e9;
        number.chop(1);
    }
    bool ok = false;
    const double parsed = number.toDouble(&ok) * scale;
    const double rounded = std::round(parsed);
    if (!ok || !std::isfinite(parsed) || std::abs(parsed - rounded) > 1e-6 * std::max(1.0, parsed) || rounded < 1 ||
        rounded > 1e15)
        return failWith(tr("expected a count such as 65536, 500k, 2M or 1.5G, or a percentage such as 0.5%"));
    return static_cast<int64_t>(rounded);
}

TrainingPage::TrainingPage(EngineSession* session, QWidget* parent)
    : QWidget(parent),
      m_session(session),
      m_history(new LossHistoryModel(this)),
      m_runs(new RunsModel(this)),
      m_plot(new LossPlotView(this)) {
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(buildForm());
    leftLayout->addWidget(buildProgress());
    leftLayout->addWidget(buildKvPanel(), 1);
    left->setMinimumWidth(330);
    left->setMaximumWidth(420);

    auto* right = new QSplitter(Qt::Vertical, this);
    right->addWidget(buildPlotPanel());
    right->addWidget(buildBottomTabs());
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    right->setChildrenCollapsible(false);
    right->setSizes({540, 240});

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->addWidget(left);
    layout->addWidget(right, 1);

    if (const auto text = embeddedValidationText()) {
        m_trainText->setText(QString::fromStdString(text->string()));
        m_validationText->setText(QString::fromStdString(text->string()));
    }
    if (const auto model = embeddedModelDir()) setSourceModel(*model);
    else setSourceModel({});
    setRunsFolder(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/runs");
    updateBudgetLabel();
    connectSession();
    updateButtons();
}

QWidget* TrainingPage::buildForm() {
    auto* box = new QGroupBox(tr("Conversion"), this);
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_sourceLabel = new QLabel(box);
    m_sourceLabel->setWordWrap(true);
    form->addRow(tr("Source"), m_sourceLabel);

    m_method = new QComboBox(box);
    for (ConvertMethod method : kMethods) {
        m_method->addItem(QString::fromLatin1(convertMethodName(method)), static_cast<int>(method));
        m_method->setItemData(m_method->count() - 1, methodDescription(method), Qt::ToolTipRole);
    }
    form->addRow(tr("Method"), m_method);
    m_budgetLabel = new QLabel(box);
    m_budgetLabel->setWordWrap(true);
    form->addRow(tr("Budget"), m_budgetLabel);

    m_tokens = new QLineEdit(QStringLiteral("0.5%"), box);
    m_tokens->setToolTip(tr("Training tokens of the whole conversion: 2000000, 2M, 500k, or 0.5% of the source's "
                            "pretraining tokens"));
    m_tokensHint = new QLabel(box);
    m_tokensHint->setWordWrap(true);
    QFont small = m_tokensHint->font();
    small.setPointSizeF(small.pointSizeF() - 0.5);
    m_tokensHint->setFont(small);
    form->addRow(tr("Tokens"), m_tokens);
    form->addRow(QString(), m_tokensHint);

    QHBoxLayout* row = nullptr;
    QToolButton* browse = nullptr;
    m_trainText = fileField(box, row, browse);
    m_trainText->setToolTip(tr("UTF-8 training text, documents separated by blank lines"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Training text"), m_trainText->text());
        if (!file.isEmpty()) m_trainText->setText(file);
    });
    form->addRow(tr("Training text"), row);
    m_validationText = fileField(box, row, browse);
    m_validationText->setToolTip(tr("Held-out text: losses of the source, before and after collapse, and of the "
                                    "result (optional)"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Validation text"), m_validationText->text());
        if (!file.isEmpty()) m_validationText->setText(file);
    });
    form->addRow(tr("Validation text"), row);
    m_runsFolder = fileField(box, row, browse);
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString folder = QFileDialog::getExistingDirectory(this, tr("Runs folder"), m_runsFolder->text());
        if (!folder.isEmpty()) setRunsFolder(folder);
    });
    connect(m_runsFolder, &QLineEdit::editingFinished, this, [this] { setRunsFolder(m_runsFolder->text()); });
    form->addRow(tr("Runs folder"), row);
    m_runName = new QLineEdit(box);
    m_runName->setToolTip(tr("The run directory's name inside the runs folder"));
    form->addRow(tr("Run name"), m_runName);

    m_start = new QPushButton(tr("Start"), box);
    m_start->setObjectName("start");
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    m_start->setToolTip(tr("Start the conversion (Ctrl+Enter)"));
    m_cancel = new QPushButton(tr("Cancel"), box);
    m_cancel->setObjectName("cancel");
    m_cancel->setToolTip(tr("Stop at the next step; a checkpoint is written first, so the run can be resumed"));
    m_resume = new QPushButton(tr("Resume"), box);
    m_resume->setObjectName("resume");
    m_resume->setToolTip(tr("Continue the run selected in the runs list from its latest checkpoint"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_resume);
    form->addRow(buttons);
    m_status = new QLabel(box);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(m_status);

    connect(m_method, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateBudgetLabel();
        proposeRunName();
    });
    connect(m_tokens, &QLineEdit::textChanged, this, [this] {
        updateTokensHint();
        updateButtons();
    });
    connect(m_trainText, &QLineEdit::textChanged, this, [this] { updateButtons(); });
    connect(m_runName, &QLineEdit::textChanged, this, [this] { updateButtons(); });
    connect(m_start, &QPushButton::clicked, this, [this] { startConversion(); });
    connect(m_cancel, &QPushButton::clicked, this, [this] { cancelConversion(); });
    connect(m_resume, &QPushButton::clicked, this, [this] {
        if (const auto run = selectedRun()) resumeRun(*run);
    });
    return box;
}

QWidget* TrainingPage::buildProgress() {
    auto* box = new QGroupBox(tr("Progress"), this);
    auto* layout = new QVBoxLayout(box);
    m_phase = new QLabel(tr("idle"), box);
    QFont bold = m_phase->font();
    bold.setBold(true);
    m_phase->setFont(bold);
    m_progress = new QProgressBar(box);
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_eta = new QLabel(box);
    m_eta->setWordWrap(true);
    layout->addWidget(m_phase);
    layout->addWidget(m_progress);
    layout->addWidget(m_eta);
    return box;
}

QWidget* TrainingPage::buildKvPanel() {
    auto* box = new QGroupBox(tr("KV savings"), this);
    auto* layout = new QVBoxLayout(box);
    m_kvSummary = new QLabel(tr("Known once a conversion has its plan."), box);
    m_kvSummary->setWordWrap(true);
    m_kvSummary->setTextFormat(Qt::RichText);
    m_kvTable = new QTableWidget(0, 2, box);
    m_kvTable->setHorizontalHeaderLabels({tr("Key heads"), tr("Value heads")});
    m_kvTable->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_kvTable->verticalHeader()->setDefaultSectionSize(20);
    m_kvTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_kvTable->setToolTip(tr("Heads each layer needs now: during fusion a group counts as one head once its "
                             "fusion loss is within tolerance"));
    layout->addWidget(m_kvSummary);
    layout->addWidget(m_kvTable, 1);
    return box;
}

QWidget* TrainingPage::buildPlotPanel() {
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* controls = new QHBoxLayout;
    m_xAxis = new QComboBox(panel);
    m_xAxis->addItems({tr("x: steps"), tr("x: tokens")});
    m_logScale = new QCheckBox(tr("Log y"), panel);
    m_smoothed = new QCheckBox(tr("Smoothed"), panel);
    m_smoothed->setChecked(true);
    m_span = new QSpinBox(panel);
    m_span->setRange(1, 1000);
    m_span->setValue(m_history->smoothingSpan());
    m_span->setPrefix(tr("span "));
    m_span->setToolTip(tr("Steps of the exponential moving average"));
    m_overlay = new QPushButton(tr("Overlay run"), panel);
    m_overlay->setToolTip(tr("Draw the run selected below over this one (e.g. the GQA baseline)"));
    m_clearOverlays = new QPushButton(tr("Clear overlays"), panel);
    m_savePlot = new QPushButton(tr("Save plot…"), panel);
    m_savePlot->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    m_exportCsv = new QPushButton(tr("Export CSV…"), panel);
    for (QWidget* widget : std::initializer_list<QWidget*>{m_xAxis, m_logScale, m_smoothed, m_span})
        controls->addWidget(widget);
    controls->addStretch(1);
    for (QWidget* widget : std::initializer_list<QWidget*>{m_overlay, m_clearOverlays, m_savePlot, m_exportCsv})
        controls->addWidget(widget);
    layout->addLayout(controls);
    layout->addWidget(m_plot, 1);

    connect(m_xAxis, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        m_plot->setXAxis(index == 1 ? LossPlotView::XAxis::Tokens : LossPlotView::XAxis::Steps);
    });
    connect(m_logScale, &QCheckBox::toggled, m_plot, &LossPlotView::setLogScale);
    connect(m_smoothed, &QCheckBox::toggled, m_plot, &LossPlotView::setShowSmoothed);
    connect(m_span, qOverload<int>(&QSpinBox::valueChanged), this, [this](int span) {
        m_plot->setSmoothingSpan(span);
        m_history->setSmoothingSpan(span);
    });
    connect(m_overlay, &QPushButton::clicked, this, [this] {
        if (const auto run = selectedRun()) overlayRun(*run);
    });
    connect(m_clearOverlays, &QPushButton::clicked, this, [this] {
        m_plot->clearOverlays();
        updateButtons();
    });
    connect(m_savePlot, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, tr("Save plot"), runName() + "-loss.png",
                                                          tr("PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)"));
        if (!file.isEmpty()) savePlot(file);
    });
    connect(m_exportCsv, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, tr("Export loss history"), runName() + "-loss.csv",
                                                          tr("CSV (*.csv)"));
        if (!file.isEmpty()) exportCsv(file);
    });
    return panel;
}

QWidget* TrainingPage::buildBottomTabs() {
    m_tabs = new QTabWidget(this);
    m_runsView = new QTableView(m_tabs);
    m_runsView->setModel(m_runs);
    m_runsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_runsView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_runsView->verticalHeader()->hide();
    m_runsView->verticalHeader()->setDefaultSectionSize(22);
    m_runsView->horizontalHeader()->setSectionResizeMode(RunsModel::Name, QHeaderView::Stretch);
    m_runsView->horizontalHeader()->setSectionResizeMode(RunsModel::LastLoss, QHeaderView::ResizeToContents);
    m_tabs->addTab(m_runsView, tr("Runs"));

    m_log = new QPlainTextEdit(m_tabs);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(kLogLines);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_tabs->addTab(m_log, tr("Log"));

    m_stepsView = new QTableView(m_tabs);
    m_stepsView->setModel(m_history);
    m_stepsView->verticalHeader()->hide();
    m_stepsView->verticalHeader()->setDefaultSectionSize(20);
    m_stepsView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_tabs->addTab(m_stepsView, tr("Steps"));

    connect(m_runsView->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateButtons();
        const auto run = selectedRun();
        // While a conversion runs, its live curve stays in focus; "Overlay run" still compares.
        if (run && !m_running && m_runs->summary(m_runs->rowOf(*run)).state != "unreadable") loadRun(*run);
    });
    return m_tabs;
}

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
    const int64_t tokens = parseTokens(m_tokens->text(), m_sourceTokens).value_or(0);
    const double searchShare = usesAdaptivePlan(spec.method) && spec.planFile.empty() ? kSearchShare : 0.0;
    const PhaseTokens phases = splitTokenBudget(tokens, spec.method, kFusionShare, searchShare);
    spec.searchTokens = phases.search;
    spec.fusionTokens = phases.fusion;
    spec.continuedTokens = phases.continued;
    if (!spec.validationText.empty()) spec.validationTokens = kValidationTokens;
    spec.runDir = QDir(runsFolder()).filePath(runName()).toStdString();
    return spec;
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
        text += tr(" of the source's %1 pretraining tokens").arg(formatCount(static_cast<double>(*m_sourceTokens)));
    m_tokensHint->setText(text);
}

void TrainingPage::updateBudgetLabel() {
    const auto method = static_cast<ConvertMethod>(m_method->currentData().toInt());
    if (method == ConvertMethod::Dha && m_plan) {
        m_budgetLabel->setText(tr("the plan from the Plan page: %1 of %2 key+value heads")
                                   .arg(m_plan->keptHeads())
                                   .arg(m_plan->sourceKvHeads()));
    } else {
        QString text = tr("%1 of the key+value heads").arg(QString::fromStdString(m_budget.describe()));
        if (usesUniformPlan(method)) text += tr(" (uniform GQA groups)");
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
    const QString state = run ? QString::fromStdString(m_runs->summary(m_runs->rowOf(*run)).state) : QString();
    const bool convertRun = run && m_runs->summary(m_runs->rowOf(*run)).kind == "convert";
    m_resume->setEnabled(m_session && !busy && convertRun && (state == "resumable" || state == "new"));
    m_overlay->setEnabled(run && state != "unreadable");
    m_clearOverlays->setEnabled(!m_plot->overlayNames().isEmpty());
    const bool hasCurves = !m_plot->isEmpty();
    m_savePlot->setEnabled(hasCurves);
    m_exportCsv->setEnabled(m_history->rowCount() > 0);
}

void TrainingPage::setStatus(const QString& text, bool problem) {
    m_status->setText(problem ? "<span style='color:#D55E00'>" + text.toHtmlEscaped() + "</span>" : text.toHtmlEscaped());
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
    setStatus(tr("%1 exists already: choose another run name, or select it below and Resume.").arg(dir.path()),
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
    appendLog(tr("starting %1 in %2").arg(QString::fromLatin1(convertMethodName(spec.method)),
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
    // The resume cuts metrics.jsonl back to its checkpoint and replays the steps after it: show only what stays.
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
    const QString suffix = QFileInfo(path).suffix().toLower();
    QString error;
    bool ok = false;
    if (suffix == "svg") ok = m_plot->saveSvg(path, &error);
    else if (suffix == "pdf") ok = m_plot->savePdf(path, &error);
    else if (suffix == "png") ok = m_plot->savePng(path, &error);
    else error = path + ": " + tr("choose a .png, .svg or .pdf file name");
    if (!ok) setStatus(error, true);
    else setStatus(tr("Plot saved to %1.").arg(path));
    return ok;
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
    m_phase->setText(tr("%1 · step %2 of %3").arg(last.phase == "continued" ? tr("continued pretraining")
                                                                            : QString::fromStdString(last.phase))
                         .arg(last.step)
                         .arg(last.totalSteps));
    if (last.totalSteps > 0)
        m_progress->setValue(static_cast<int>(1000.0 * static_cast<double>(last.step) / static_cast<double>(last.totalSteps)));
    const double remaining = last.tokensPerSecond > 0
                                 ? static_cast<double>(last.totalTokens - last.tokens) / last.tokensPerSecond
                                 : last.etaSeconds;
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
    showHeadCounts(event.layers,
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
            item->setForeground(QColor(column == 0 ? "#0072B2" : "#B35900"));  // keys blue, values orange
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
            for (const LayerPlan& layer : plan.layers) layers.push_back({layer.numKeyHeads(), layer.numValueHeads()});
            const double saved = plan.sourceKvHeads() > 0
                                     ? 1.0 - static_cast<double>(plan.keptHeads()) / plan.sourceKvHeads() : 0.0;
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
    if (event.total > 0) text += tr(": %1 of %2 %3").arg(event.done).arg(event.total).arg(QString::fromStdString(event.unit));
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
        auto* box = new QMessageBox(QMessageBox::Warning, tr("Conversion failed"), message, QMessageBox::Ok, this);
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
