// ModelPage: a summary form and a per-layer table built from dha::ModelInfo (what `dha inspect` prints).
#include "pages/model_page.h"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include "support/format_units.h"

namespace dha::ui {
namespace {

constexpr int kSequenceTokens = 4096;  // the sequence length KV costs are quoted for

QTableWidgetItem* readOnlyItem(const QString& text, bool number = true) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

}  // namespace

ModelPage::ModelPage(QWidget* parent) : QWidget(parent) {
    auto* outer = new QVBoxLayout(this);
    auto* buttons = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open model..."), this);
    auto* embedded = new QPushButton(tr("Open the embedded teacher"), this);
    buttons->addWidget(open);
    buttons->addWidget(embedded);
    buttons->addStretch(1);
    outer->addLayout(buttons);
    connect(open, &QPushButton::clicked, this, &ModelPage::openRequested);
    connect(embedded, &QPushButton::clicked, this, &ModelPage::openEmbeddedRequested);

    m_stack = new QStackedWidget(this);
    m_placeholder = new QLabel(this);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_stack->addWidget(m_placeholder);

    auto* details = new QWidget(this);
    auto* detailsLayout = new QHBoxLayout(details);
    auto* left = new QVBoxLayout;
    m_title = new QLabel(details);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.3);
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    left->addWidget(m_title);
    m_summary = new QWidget(details);
    m_summary->setLayout(new QFormLayout);
    left->addWidget(m_summary);
    left->addStretch(1);
    detailsLayout->addLayout(left, 2);

    m_layers = new QTableWidget(details);
    m_layers->setColumnCount(5);
    m_layers->setHorizontalHeaderLabels(
        {tr("Layer"), tr("Query heads"), tr("Key heads"), tr("Value heads"), tr("KV cache / token")});
    m_layers->verticalHeader()->hide();
    m_layers->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_layers->setAlternatingRowColors(true);
    detailsLayout->addWidget(m_layers, 3);
    m_stack->addWidget(details);
    outer->addWidget(m_stack, 1);

    auto* recentBox = new QVBoxLayout;
    recentBox->addWidget(new QLabel(tr("Recent models (double-click to open)"), this));
    m_recent = new QListWidget(this);
    m_recent->setMaximumHeight(110);
    recentBox->addWidget(m_recent);
    outer->addLayout(recentBox);
    connect(m_recent, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { Q_EMIT openDirectoryRequested(item->data(Qt::UserRole).toString()); });
    clear();
}

void ModelPage::clear() {
    m_model.reset();
    m_placeholder->setText(tr("No model is open.\n\nOpen a Hugging Face model directory (config.json, "
                              "*.safetensors, tokenizer) with File > Open, drop one on this window, or open "
                              "the embedded teacher."));
    m_stack->setCurrentWidget(m_placeholder);
}

void ModelPage::setLoading(const QString& directory) {
    m_placeholder->setText(tr("Reading %1 ...").arg(directory));
    m_stack->setCurrentWidget(m_placeholder);
}

void ModelPage::addSummaryRow(const QString& label, const QString& value) {
    auto* form = static_cast<QFormLayout*>(m_summary->layout());
    auto* valueLabel = new QLabel(value, m_summary);
    valueLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    valueLabel->setWordWrap(true);
    form->addRow(label + QLatin1Char(':'), valueLabel);
    m_summaryRows.append({label, value});
}

QString ModelPage::summaryValue(const QString& label) const {
    for (const auto& row : m_summaryRows)
        if (row.first == label) return row.second;
    return {};
}

void ModelPage::setModel(const ModelInfo& info) {
    m_model = info;
    auto* form = static_cast<QFormLayout*>(m_summary->layout());
    while (form->rowCount() > 0) form->removeRow(0);
    m_summaryRows.clear();
    const ModelConfig& config = info.config;
    m_title->setText(QString::fromStdString(info.directory.filename().string()));
    addSummaryRow(tr("Directory"), QString::fromStdString(info.directory.string()));
    addSummaryRow(tr("Architecture"), QString::fromStdString(info.architecture));
    addSummaryRow(tr("Model type"), QString::fromStdString(config.modelType));
    addSummaryRow(tr("Layers"), QString::number(config.numLayers));
    addSummaryRow(tr("Query heads"), QString::number(config.numQueryHeads));
    addSummaryRow(tr("Head width"), QString::number(config.headDim));
    addSummaryRow(tr("Hidden size"), QString::number(config.hiddenSize));
    addSummaryRow(tr("Vocabulary"), QString::number(config.vocabSize));
    addSummaryRow(tr("Context"), tr("%1 tokens").arg(config.maxPositionEmbeddings));
    addSummaryRow(tr("Parameters"), formatCount(static_cast<double>(info.parameterCount)));
    addSummaryRow(tr("Weights"), tr("%1 (%2)").arg(formatBytes(static_cast<double>(info.weightBytes)),
                                                    QString::fromStdString(info.weightDtype)));
    addSummaryRow(tr("KV cache / token"),
                  tr("%1 at %2-bit").arg(formatBytes(static_cast<double>(info.kvBytesPerToken)))
                      .arg(8 * info.kvBytesPerElement));
    addSummaryRow(tr("KV cache / %1-token sequence").arg(kSequenceTokens),
                  formatBytes(static_cast<double>(info.kvBytesPerToken) * kSequenceTokens));
    if (info.sourceKvBytesPerToken != info.kvBytesPerToken)
        addSummaryRow(tr("KV savings"), tr("%1 of the source's %2 / token")
                                            .arg(formatPercent(info.kvSavedFraction()),
                                                 formatBytes(static_cast<double>(info.sourceKvBytesPerToken))));
    addSummaryRow(tr("Tokenizer"), info.tokenizerDescription.empty()
                                       ? tr("none (conversion needs one)")
                                       : QString::fromStdString(info.tokenizerDescription));

    m_layers->setRowCount(static_cast<int>(info.layers.size()));
    for (int row = 0; row < static_cast<int>(info.layers.size()); ++row) {
        const LayerHeadsInfo& layer = info.layers[static_cast<size_t>(row)];
        m_layers->setItem(row, 0, readOnlyItem(QString::number(row)));
        m_layers->setItem(row, 1, readOnlyItem(QString::number(layer.queryHeads)));
        m_layers->setItem(row, 2, readOnlyItem(QString::number(layer.keyHeads)));
        m_layers->setItem(row, 3, readOnlyItem(QString::number(layer.valueHeads)));
        m_layers->setItem(row, 4, readOnlyItem(formatBytes(static_cast<double>(layer.kvBytesPerToken))));
    }
    m_stack->setCurrentIndex(1);
}

void ModelPage::setRecentModels(const QStringList& directories) {
    m_recent->clear();
    for (const QString& directory : directories) {
        auto* item = new QListWidgetItem(directory, m_recent);
        item->setData(Qt::UserRole, directory);
    }
}

}  // namespace dha::ui
