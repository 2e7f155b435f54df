// TrainingPage, its layout: the conversion form, the progress and KV savings panels, the plot with its
// controls and the runs, log and steps tabs, wired to the page's actions (training_page_actions.cpp) and to
// the session's live events (training_page_live.cpp).
#include "pages/training_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "dha/embedded_model.h"

namespace dha::ui {
namespace {

constexpr int kLogLines = 2000;

const ConvertMethod kMethods[] = {ConvertMethod::Dha, ConvertMethod::GqaMeanPool,
                                  ConvertMethod::CkaGqaMeanPool, ConvertMethod::UniformFusion,
                                  ConvertMethod::AdaptiveMeanPool};

QString methodDescription(ConvertMethod method) {
    switch (method) {
        case ConvertMethod::Dha:
            return QObject::tr("DHA: adaptive plan, learned fusion");
        case ConvertMethod::GqaMeanPool:
            return QObject::tr("GQA baseline: adjacent groups, mean-pooled");
        case ConvertMethod::CkaGqaMeanPool:
            return QObject::tr("CKA-GQA: similar heads grouped, mean-pooled");
        case ConvertMethod::UniformFusion:
            return QObject::tr("ablation: uniform plan, learned fusion");
        case ConvertMethod::AdaptiveMeanPool:
            return QObject::tr("ablation: adaptive plan, mean-pooled");
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

    // Out of the box, as the headless demo does: train on the shipped validation split and measure held-out
    // losses on the test split, which the conversion never trains on.
    if (const auto text = embeddedValidationText()) m_trainText->setText(QString::fromStdString(text->string()));
    if (const auto text = embeddedTestText()) m_validationText->setText(QString::fromStdString(text->string()));
    if (const auto model = embeddedModelDir())
        setSourceModel(*model);
    else
        setSourceModel({});
    setRunsFolder(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/runs");
    updateBudgetLabel();
    updateSettingsSummary();
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
    // The form's labels hold short, unwrapped lines (the full text is in their tooltips): a form layout
    // squeezes word-wrapped labels to one line when the page is short of height.
    form->addRow(tr("Budget"), m_budgetLabel);

    m_tokens = new QLineEdit(QStringLiteral("0.5%"), box);
    m_tokens->setToolTip(
        tr("Training tokens of the whole conversion: 2000000, 2M, 500k, or 0.5% of the source's "
           "pretraining tokens"));
    m_tokensHint = new QLabel(box);
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
    m_validationText->setToolTip(
        tr("Held-out text: losses of the source, before and after collapse, and of the "
           "result (optional)"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString file =
            QFileDialog::getOpenFileName(this, tr("Validation text"), m_validationText->text());
        if (!file.isEmpty()) m_validationText->setText(file);
    });
    form->addRow(tr("Validation text"), row);
    m_runsFolder = fileField(box, row, browse);
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString folder =
            QFileDialog::getExistingDirectory(this, tr("Runs folder"), m_runsFolder->text());
        if (!folder.isEmpty()) setRunsFolder(folder);
    });
    connect(m_runsFolder, &QLineEdit::editingFinished, this, [this] { setRunsFolder(m_runsFolder->text()); });
    form->addRow(tr("Runs folder"), row);
    m_runName = new QLineEdit(box);
    m_runName->setToolTip(tr("The run directory's name inside the runs folder"));
    form->addRow(tr("Run name"), m_runName);

    // The rest of the settings, summarised in one line and edited in a dialog, so the form stays short.
    auto* settingsRow = new QHBoxLayout;
    m_settingsSummary = new QLabel(box);
    auto* editSettings = new QToolButton(box);
    editSettings->setText(tr("..."));
    editSettings->setObjectName("settings");
    editSettings->setToolTip(tr("Phase shares, batch, learning rates, dtype, checkpoints"));
    connect(editSettings, &QToolButton::clicked, this, [this] {
        ConversionSettingsDialog dialog(m_settings, this);
        if (dialog.exec() == QDialog::Accepted) setConversionSettings(dialog.settings());
    });
    settingsRow->addWidget(m_settingsSummary, 1);
    settingsRow->addWidget(editSettings);
    form->addRow(tr("Settings"), settingsRow);

    m_start = new QPushButton(tr("Start"), box);
    m_start->setObjectName("start");
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    m_start->setToolTip(tr("Start the conversion (Ctrl+Enter)"));
    m_cancel = new QPushButton(tr("Cancel"), box);
    m_cancel->setObjectName("cancel");
    m_cancel->setToolTip(
        tr("Stop at the next step; a checkpoint is written first, so the run can be resumed"));
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
    m_kvTable->setToolTip(
        tr("Heads each layer needs now: during fusion a group counts as one head once its "
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
    for (QWidget* widget :
         std::initializer_list<QWidget*>{m_overlay, m_clearOverlays, m_savePlot, m_exportCsv})
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
        const QString file =
            QFileDialog::getSaveFileName(this, tr("Save plot"), runName() + "-loss.png",
                                         tr("PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)"));
        if (!file.isEmpty()) savePlot(file);
    });
    connect(m_exportCsv, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, tr("Export loss history"),
                                                          runName() + "-loss.csv", tr("CSV (*.csv)"));
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

}  // namespace dha::ui
