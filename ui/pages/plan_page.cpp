// PlanPage: widgets over one PlanEditor. Every control edits the editor; every planChanged re-syncs all
// controls from it (signals blocked), so a refused edit snaps its widget back to the editor's state.
#include "pages/plan_page.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLayout>
#include <QLocale>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "models/plan_editor.h"
#include "models/plan_table_model.h"
#include "support/format_units.h"
#include "views/kv_allocation_chart.h"

namespace dha::ui {
namespace {

constexpr const char* kPlanDirectoryKey = "plan/lastDirectory";

QString exactBytes(qint64 bytes) { return QLocale(QLocale::English).toString(bytes) + QStringLiteral(" B"); }

// "25%", "26.1%": one decimal, none when it is zero.
QString shortPercent(double fraction) {
    QString text = QString::number(100.0 * fraction, 'f', 1);
    if (text.endsWith(QLatin1String(".0"))) text.chop(2);
    return text + QLatin1Char('%');
}

QLabel* valueLabel(QWidget* parent, const QString& name, bool emphasised) {
    auto* label = new QLabel(QStringLiteral("-"), parent);
    label->setObjectName(name);
    label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    if (emphasised) {
        QFont font = label->font();
        font.setBold(true);
        label->setFont(font);
    }
    return label;
}

}  // namespace

PlanPage::PlanPage(QWidget* parent)
    : QWidget(parent), m_editor(new PlanEditor(this)), m_model(new PlanTableModel(m_editor, this)) {
    auto* outer = new QVBoxLayout(this);
    m_stack = new QStackedWidget(this);
    outer->addWidget(m_stack);

    // Page 0: nothing to plan yet.
    auto* empty = new QWidget(m_stack);
    auto* emptyLayout = new QVBoxLayout(empty);
    m_placeholder = new QLabel(empty);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    QFont placeholderFont = m_placeholder->font();
    placeholderFont.setPointSizeF(placeholderFont.pointSizeF() * 1.15);
    m_placeholder->setFont(placeholderFont);
    m_placeholder->setStyleSheet(QStringLiteral("color: #555;"));
    m_placeholderLoad = new QPushButton(tr("Load plan..."), empty);
    emptyLayout->addStretch(1);
    emptyLayout->addWidget(m_placeholder);
    emptyLayout->addWidget(m_placeholderLoad, 0, Qt::AlignHCenter);
    m_placeholderMessage = new QLabel(empty);  // a refused load, while there is no plan to show
    m_placeholderMessage->setAlignment(Qt::AlignCenter);
    m_placeholderMessage->setWordWrap(true);
    emptyLayout->addWidget(m_placeholderMessage);
    emptyLayout->addStretch(1);
    m_stack->addWidget(empty);

    // Page 1: the plan.
    auto* content = new QWidget(m_stack);
    auto* layout = new QVBoxLayout(content);
    layout->setContentsMargins(0, 0, 0, 0);
    // Budget and KV savings side by side: moving one shows the other.
    auto* top = new QHBoxLayout;
    top->addWidget(buildBudgetBox(), 3);
    top->addWidget(buildSavingsBox(), 2);
    layout->addLayout(top);

    m_message = new QLabel(content);
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    auto* chartBox = new QGroupBox(tr("Key and value heads kept per layer"), content);
    auto* chartLayout = new QVBoxLayout(chartBox);
    chartLayout->setContentsMargins(4, 4, 4, 4);
    m_chart = new KvAllocationChart(chartBox);
    chartLayout->addWidget(m_chart);

    m_table = new QTableView(content);
    m_table->setModel(m_model);
    m_table->verticalHeader()->hide();
    // One line per layer however many groups: long group lists elide, their tooltip lists every group.
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 10);
    m_table->setWordWrap(false);
    m_table->setTextElideMode(Qt::ElideRight);
    m_table->setAlternatingRowColors(true);
    m_table->setSelectionBehavior(QAbstractItemView::SelectItems);
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                             QAbstractItemView::AnyKeyPressed);
    QHeaderView* header = m_table->horizontalHeader();
    for (int column = 0; column < PlanTableModel::KeyGroupsColumn; ++column)
        header->setSectionResizeMode(column, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(PlanTableModel::KeyGroupsColumn, QHeaderView::Stretch);
    header->setSectionResizeMode(PlanTableModel::ValueGroupsColumn, QHeaderView::Stretch);

    auto* vertical = new QSplitter(Qt::Vertical, content);
    vertical->addWidget(chartBox);
    vertical->addWidget(m_table);
    vertical->setStretchFactor(0, 1);
    vertical->setStretchFactor(1, 1);
    vertical->setChildrenCollapsible(false);
    layout->addWidget(vertical, 1);
    m_stack->addWidget(content);

    connect(m_editor, &PlanEditor::planChanged, this, &PlanPage::onPlanChanged);
    connect(m_editor, &PlanEditor::editRefused, this, &PlanPage::onEditRefused);
    connect(m_placeholderLoad, &QPushButton::clicked, this, &PlanPage::chooseLoadFile);
    onPlanChanged();
}

QWidget* PlanPage::buildBudgetBox() {
    auto* box = new QGroupBox(tr("Budget: K+V heads kept"), this);
    auto* grid = new QGridLayout(box);
    m_rangeLow = new QLabel(box);
    m_rangeHigh = new QLabel(box);
    for (QLabel* end : {m_rangeLow, m_rangeHigh}) {
        end->setStyleSheet(QStringLiteral("color: #555;"));
        end->setToolTip(tr("The fewest and most K+V heads the constraints and pins allow"));
    }
    m_slider = new QSlider(Qt::Horizontal, box);
    m_slider->setObjectName(QStringLiteral("budgetSlider"));
    m_slider->setToolTip(
        tr("Key+value heads kept over all layers, one head at a time. The planner merges the "
           "most similar heads first."));
    m_budgetSpin = new QSpinBox(box);
    m_budgetSpin->setObjectName(QStringLiteral("budgetSpinBox"));
    m_budgetSpin->setSuffix(tr(" heads"));
    m_budgetSpin->setKeyboardTracking(false);  // typing "40" must not plan for "4" on the way
    m_budgetSpin->setMinimumWidth(100);
    m_budgetLabel = new QLabel(box);
    QFont bold = m_budgetLabel->font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() * 1.1);
    m_budgetLabel->setFont(bold);
    m_budgetLabel->setMinimumWidth(220);
    m_budgetDetail = new QLabel(box);
    m_budgetDetail->setStyleSheet(QStringLiteral("color: #555;"));
    grid->addWidget(m_rangeLow, 0, 0);
    grid->addWidget(m_slider, 0, 1);
    grid->addWidget(m_rangeHigh, 0, 2);
    grid->addWidget(m_budgetSpin, 0, 3);
    grid->addWidget(m_budgetLabel, 0, 4);
    grid->addWidget(m_budgetDetail, 1, 1, 1, 4);
    grid->addLayout(buildConstraintsRow(box), 2, 0, 1, 5);
    grid->setColumnStretch(1, 1);
    grid->setRowStretch(3, 1);  // spare height below the controls, not between them
    connect(m_slider, &QSlider::valueChanged, this, &PlanPage::onBudgetEdited);
    connect(m_budgetSpin, qOverload<int>(&QSpinBox::valueChanged), this, &PlanPage::onBudgetEdited);
    return box;
}

QLayout* PlanPage::buildConstraintsRow(QWidget* box) {
    auto* row = new QHBoxLayout;
    m_minHeads = new QSpinBox(box);
    m_maxHeads = new QSpinBox(box);
    m_minHeads->setKeyboardTracking(false);
    m_maxHeads->setKeyboardTracking(false);
    m_minHeads->setToolTip(tr("Fewest key (value) heads any layer keeps"));
    m_maxHeads->setToolTip(tr("Most key (value) heads any unlocked layer keeps"));
    m_tie = new QCheckBox(tr("Tie key and value groups"), box);
    m_tie->setToolTip(
        tr("Every layer groups its key and value heads the same way (clustered on the mean of "
           "the key and value similarity)"));
    m_clearPins = new QPushButton(tr("Clear pins"), box);
    m_clearPins->setToolTip(tr("Forget the counts you set in the table; the planner chooses them again"));
    m_load = new QPushButton(tr("Load plan..."), box);
    m_save = new QPushButton(tr("Save plan..."), box);
    row->addWidget(new QLabel(tr("Heads per layer: min"), box));
    row->addWidget(m_minHeads);
    row->addWidget(new QLabel(tr("max"), box));
    row->addWidget(m_maxHeads);
    row->addSpacing(12);
    row->addWidget(m_tie);
    row->addStretch(1);
    row->addWidget(m_clearPins);
    row->addSpacing(12);
    row->addWidget(m_load);
    row->addWidget(m_save);

    connect(m_minHeads, qOverload<int>(&QSpinBox::valueChanged), m_editor, &PlanEditor::setMinHeads);
    connect(m_maxHeads, qOverload<int>(&QSpinBox::valueChanged), m_editor, &PlanEditor::setMaxHeads);
    connect(m_tie, &QCheckBox::toggled, m_editor, &PlanEditor::setTieKeyValue);
    connect(m_clearPins, &QPushButton::clicked, m_editor, &PlanEditor::clearPins);
    connect(m_load, &QPushButton::clicked, this, &PlanPage::chooseLoadFile);
    connect(m_save, &QPushButton::clicked, this, &PlanPage::chooseSaveFile);
    return row;
}

QWidget* PlanPage::buildSavingsBox() {
    auto* box = new QGroupBox(tr("KV savings"), this);
    auto* grid = new QGridLayout(box);
    grid->setHorizontalSpacing(18);
    const QStringList columns{tr("KV cache / token"), tr("per 4k-token sequence"), tr("KV saved")};
    for (int c = 0; c < columns.size(); ++c) {
        auto* heading = new QLabel(columns[c], box);
        heading->setAlignment(Qt::AlignRight | Qt::AlignBottom);
        heading->setStyleSheet(QStringLiteral("color: #555;"));
        grid->addWidget(heading, 0, c + 1);
    }
    struct Row {
        QString title;
        QString prefix;
        bool emphasised;
    };
    m_gqaTitle = new QLabel(box);
    const QList<Row> rows{{tr("Source (MHA)"), QStringLiteral("source"), false},
                          {tr("This plan"), QStringLiteral("plan"), true},
                          {QString(), QStringLiteral("gqa"), false}};
    for (int r = 0; r < rows.size(); ++r) {
        QLabel* title = rows[r].prefix == QLatin1String("gqa") ? m_gqaTitle : new QLabel(rows[r].title, box);
        if (rows[r].emphasised) {
            QFont font = title->font();
            font.setBold(true);
            title->setFont(font);
        }
        grid->addWidget(title, r + 1, 0);
        const QStringList names{rows[r].prefix + QStringLiteral("BytesPerToken"),
                                rows[r].prefix + QStringLiteral("BytesPerSequence"),
                                rows[r].prefix + QStringLiteral("SavedFraction")};
        for (int c = 0; c < names.size(); ++c) {
            QLabel* label = valueLabel(box, names[c], rows[r].emphasised);
            m_savings.insert(names[c], label);
            grid->addWidget(label, r + 1, c + 1);
        }
    }
    m_savingsNote = new QLabel(box);
    m_savingsNote->setWordWrap(true);
    m_savingsNote->setStyleSheet(QStringLiteral("color: #555;"));
    grid->addWidget(m_savingsNote, rows.size() + 1, 0, 1, 4);
    grid->setRowStretch(rows.size() + 2, 1);
    grid->setColumnStretch(0, 1);
    return box;
}

void PlanPage::setSource(const ModelInfo& info) {
    m_modelDirectory = QString::fromStdString(info.directory.string());
    m_sourceNote.clear();
    if (!info.config.isMha()) {
        m_editor->clear();
        m_sourceNote =
            tr("%1 already shares key and value heads (%2). Plans start from a multi-head attention "
               "checkpoint: open the MHA source model to plan a conversion.")
                .arg(QFileInfo(m_modelDirectory).fileName(), QString::fromStdString(info.architecture));
        onPlanChanged();
        return;
    }
    m_editor->setSource(info.config.numLayers, info.config.numQueryHeads, info.config.headDim);
}

void PlanPage::setSimilarity(const SimilarityReport& report) {
    if (!m_sourceNote.isEmpty()) return;  // a GQA/DHA model: nothing to plan
    m_editor->setSimilarity(report);
}

Plan PlanPage::currentPlan() const { return m_editor->plan(); }

Budget PlanPage::currentBudget() const { return m_editor->budget(); }

PlanConstraints PlanPage::currentConstraints() const { return m_editor->constraints(); }

bool PlanPage::loadPlanFile(const QString& path) { return m_editor->loadPlanFile(path); }

bool PlanPage::savePlanFile(const QString& path) {
    if (!m_editor->savePlanFile(path)) return false;
    showMessage(tr("Plan saved to %1.").arg(path), false);
    return true;
}

QString PlanPage::message() const { return m_message->text(); }

QString PlanPage::placeholderText() const { return m_placeholder->text(); }

bool PlanPage::showsPlan() const { return m_stack->currentIndex() == 1; }

QString PlanPage::budgetText() const { return m_budgetLabel->text(); }

void PlanPage::onPlanChanged() {
    syncControls();
    if (!m_editor->hasPlan()) {
        m_placeholder->setText(m_sourceNote.isEmpty() ? m_editor->statusText() : m_sourceNote);
        m_placeholderLoad->setVisible(m_editor->hasSource());
        m_stack->setCurrentIndex(0);
        m_chart->clear();
        showMessage(QString(), false);
    } else {
        m_stack->setCurrentIndex(1);
        m_chart->setPlan(m_editor->plan(), m_editor->gqaGroups());
        showMessage(m_editor->statusText(), false);
    }
    updateSavings();
    Q_EMIT planChanged(m_editor->plan());
}

void PlanPage::onEditRefused(const QString& message) {
    showMessage(message, true);
    syncControls();  // the widget that made the edit shows the editor's value again
}

void PlanPage::onBudgetEdited(int heads) {
    // The slider and spin box span the feasible budgets; tied groupings move in steps of two.
    m_editor->setBudgetHeads(m_editor->nearestFeasibleBudget(heads));
    syncControls();
}

void PlanPage::syncControls() {
    const bool planning = m_editor->hasSimilarity();
    const PlanEditor::BudgetRange range = m_editor->feasibleBudgets();
    const int heads = m_editor->budgetHeads();
    {
        const QSignalBlocker sliderBlock(m_slider);
        const QSignalBlocker spinBlock(m_budgetSpin);
        m_slider->setRange(range.first, std::max(range.first, range.last));
        m_slider->setSingleStep(range.step);
        m_slider->setPageStep(std::max(range.step, (range.last - range.first) / 20));
        m_slider->setValue(heads);
        m_budgetSpin->setRange(range.first, std::max(range.first, range.last));
        m_budgetSpin->setSingleStep(range.step);
        m_budgetSpin->setValue(heads);
    }
    m_rangeLow->setText(QString::number(range.first));
    m_rangeHigh->setText(QString::number(range.last));
    m_budgetLabel->setText(m_editor->hasSource() ? tr("%1 \u2013 %2 of %3 K+V heads")
                                                       .arg(shortPercent(m_editor->budgetFraction()))
                                                       .arg(heads)
                                                       .arg(m_editor->sourceKvHeads())
                                                 : QString());
    int keyHeads = 0;
    for (const LayerPlan& layer : m_editor->plan().layers) keyHeads += layer.numKeyHeads();
    const int valueHeads = m_editor->plan().keptHeads() - keyHeads;
    QString detail = tr("%1 key heads and %2 value heads over %3 layers")
                         .arg(keyHeads)
                         .arg(valueHeads)
                         .arg(m_editor->numLayers());
    const int pins = m_editor->fixedCellCount();
    if (pins > 0)
        detail +=
            pins == 1 ? tr("; 1 count pinned in the table") : tr("; %1 counts pinned in the table").arg(pins);
    m_budgetDetail->setText(m_editor->hasPlan() ? detail : QString());

    {
        const QSignalBlocker minBlock(m_minHeads);
        const QSignalBlocker maxBlock(m_maxHeads);
        const QSignalBlocker tieBlock(m_tie);
        const int maxCount = std::max(1, m_editor->numHeads());
        m_minHeads->setRange(1, maxCount);
        m_maxHeads->setRange(1, maxCount);
        m_minHeads->setValue(m_editor->minHeads());
        m_maxHeads->setValue(m_editor->hasSource() ? m_editor->maxHeads() : 1);
        m_tie->setChecked(m_editor->tieKeyValue());
    }
    for (QWidget* control :
         std::initializer_list<QWidget*>{m_slider, m_budgetSpin, m_minHeads, m_maxHeads, m_tie})
        control->setEnabled(planning);
    m_clearPins->setEnabled(planning && m_editor->fixedCellCount() > 0);
    m_load->setEnabled(m_editor->hasSource());
    m_save->setEnabled(m_editor->hasPlan());
}

void PlanPage::updateSavings() {
    const auto set = [this](const QString& name, const QString& text) {
        m_savings.value(name)->setText(text);
    };
    const KvAccounting& plan = m_editor->accounting();
    const KvAccounting& gqa = m_editor->gqaAccounting();
    const bool hasPlan = m_editor->hasPlan();
    const auto perSequence = [](qint64 bytes) { return formatBytes(double(bytes) * kSequenceTokens); };
    set(QStringLiteral("sourceBytesPerToken"),
        hasPlan ? exactBytes(plan.sourceBytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("sourceBytesPerSequence"),
        hasPlan ? perSequence(plan.sourceBytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("sourceSavedFraction"), QStringLiteral("-"));
    set(QStringLiteral("planBytesPerToken"), hasPlan ? exactBytes(plan.bytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("planBytesPerSequence"),
        hasPlan ? perSequence(plan.bytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("planSavedFraction"),
        hasPlan ? formatPercent(plan.savedFraction()) : QStringLiteral("-"));
    const bool hasGqa = m_editor->gqaGroups() > 0;
    set(QStringLiteral("gqaBytesPerToken"), hasGqa ? exactBytes(gqa.bytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("gqaBytesPerSequence"), hasGqa ? perSequence(gqa.bytesPerToken) : QStringLiteral("-"));
    set(QStringLiteral("gqaSavedFraction"),
        hasGqa ? formatPercent(gqa.savedFraction()) : QStringLiteral("-"));
    m_gqaTitle->setText(hasGqa ? tr("Uniform GQA, %1 groups").arg(m_editor->gqaGroups()) : tr("Uniform GQA"));
    if (!hasPlan) {
        m_savingsNote->clear();
        return;
    }
    QString note = tr("16-bit KV cache (2 bytes per element), head width %1.").arg(m_editor->headDim());
    if (hasGqa) {
        note += QLatin1Char(' ') +
                (m_editor->gqaPlan().keptHeads() == m_editor->plan().keptHeads()
                     ? tr("Uniform GQA at the same cost: %1 key + %1 value heads in every layer.")
                           .arg(m_editor->gqaGroups())
                     : tr("Uniform GQA: the nearest cost below this plan (group counts divide %1).")
                           .arg(m_editor->numHeads()));
    }
    m_savingsNote->setText(note);
}

void PlanPage::showMessage(const QString& text, bool isError) {
    m_messageIsError = isError;
    const QString style =
        isError ? QStringLiteral("color: #B34700; font-weight: bold;") : QStringLiteral("color: #555;");
    for (QLabel* label : {m_message, m_placeholderMessage}) {
        label->setText(text);
        label->setStyleSheet(style);
    }
}

void PlanPage::chooseLoadFile() {
    QSettings settings;
    const QString start = settings.value(QLatin1String(kPlanDirectoryKey), m_modelDirectory).toString();
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load plan"), start, tr("Plan JSON (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    settings.setValue(QLatin1String(kPlanDirectoryKey), QFileInfo(path).absolutePath());
    loadPlanFile(path);
}

void PlanPage::chooseSaveFile() {
    QSettings settings;
    const QString start = settings.value(QLatin1String(kPlanDirectoryKey), m_modelDirectory).toString();
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save plan"), QDir(start).filePath(QStringLiteral("plan.json")),
                                     tr("Plan JSON (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    settings.setValue(QLatin1String(kPlanDirectoryKey), QFileInfo(path).absolutePath());
    savePlanFile(path);
}

}  // namespace dha::ui
