// SimilarityPage: wires the metric and layer controls to the heatmaps, the overview, the redundancy chart and
// the table; every view shows the same layer, and the page never waits for the engine (it only receives
// data).
#include "pages/similarity_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

#include "models/similarity_model.h"
#include "views/heatmap_view.h"
#include "views/redundancy_chart.h"
#include "views/similarity_overview.h"

namespace dha::ui {

namespace {

constexpr SimilarityMetric kMetrics[] = {SimilarityMetric::WeightCka, SimilarityMetric::WeightCosine,
                                         SimilarityMetric::ActivationCka, SimilarityMetric::ActivationCosine};

// A caption over a panel, in the page's style.
QWidget* captioned(const QString& caption, QWidget* content, QWidget* parent) {
    auto* box = new QWidget(parent);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    auto* label = new QLabel(caption, box);
    QFont bold = label->font();
    bold.setBold(true);
    label->setFont(bold);
    layout->addWidget(label);
    layout->addWidget(content, 1);
    return box;
}

}  // namespace

SimilarityPage::SimilarityPage(QWidget* parent) : QWidget(parent), m_model(new SimilarityModel(this)) {
    auto* layout = new QVBoxLayout(this);

    // Top bar: metric, layer, groups, status.
    auto* bar = new QHBoxLayout;
    m_metricCombo = new QComboBox(this);
    m_metricCombo->setObjectName(QStringLiteral("metricCombo"));
    for (SimilarityMetric metric : kMetrics) {
        m_metricCombo->addItem(similarityMetricLabel(metric),
                               QString::fromLatin1(similarityMetricName(metric)));
        m_metricCombo->setItemData(m_metricCombo->count() - 1,
                                   isActivationMetric(metric)
                                       ? tr("Compares the heads' key/value outputs over a calibration text")
                                       : tr("Compares the heads' projection weights (no text needed)"),
                                   Qt::ToolTipRole);
    }
    m_layerSpin = new QSpinBox(this);
    m_layerSpin->setObjectName(QStringLiteral("layerSpin"));
    m_layerSpin->setRange(0, 0);
    m_layerSpin->setEnabled(false);
    m_layerCountLabel = new QLabel(this);
    m_showGroups = new QCheckBox(tr("Show groups of the plan"), this);
    m_showGroups->setObjectName(QStringLiteral("showGroupsCheck"));
    m_showGroups->setChecked(true);
    m_showGroups->setToolTip(
        tr("Reorder the heads by the plan's key and value groups and outline each group"));
    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    bar->addWidget(new QLabel(tr("Metric:"), this));
    bar->addWidget(m_metricCombo);
    bar->addSpacing(16);
    bar->addWidget(new QLabel(tr("Layer:"), this));
    bar->addWidget(m_layerSpin);
    bar->addWidget(m_layerCountLabel);
    bar->addSpacing(16);
    bar->addWidget(m_showGroups);
    bar->addStretch(1);
    bar->addWidget(m_statusLabel);
    layout->addLayout(bar);

    m_stack = new QStackedWidget(this);
    layout->addWidget(m_stack, 1);
    m_placeholder =
        new QLabel(tr("<p style='font-size:large'><b>No similarity analysis yet</b></p>"
                      "<p>Open a model on the Model page.<br>The analysis of its key and value heads runs in "
                      "the background, "
                      "and each layer's heatmaps appear here as soon as that layer is analysed.</p>"),
                   m_stack);
    m_placeholder->setObjectName(QStringLiteral("placeholder"));
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setMargin(40);
    m_stack->addWidget(m_placeholder);

    // Content, two rows: the selected layer's heatmaps beside the redundancy chart, then the overview of all
    // layers beside the table. Splitters let the user trade space; the initial sizes suit 1280 x 800.
    auto* content = new QSplitter(Qt::Vertical, m_stack);
    auto* top = new QSplitter(Qt::Horizontal, content);
    auto* heatmaps = new QWidget(top);
    auto* heatmapLayout = new QHBoxLayout(heatmaps);
    heatmapLayout->setContentsMargins(0, 0, 0, 0);
    m_keyView = new HeatmapView(heatmaps);
    m_valueView = new HeatmapView(heatmaps);
    m_keyView->setLabel(0, HeadKind::Key);
    m_valueView->setLabel(0, HeadKind::Value);
    heatmapLayout->addWidget(m_keyView);
    heatmapLayout->addWidget(m_valueView);
    top->addWidget(heatmaps);
    m_chart = new RedundancyChart;
    top->addWidget(
        captioned(tr("Redundancy per layer: how alike the heads are (click a layer)"), m_chart, top));

    auto* bottom = new QSplitter(Qt::Horizontal, content);
    m_overview = new SimilarityOverview;
    bottom->addWidget(captioned(tr("All layers (click one to show it above)"), m_overview, bottom));
    m_table = new QTableView;
    m_table->setObjectName(QStringLiteral("similarityTable"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->setVisible(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(SimilarityModel::LayerColumn,
                                                      QHeaderView::ResizeToContents);
    m_table->setAlternatingRowColors(true);
    QFont headerFont = m_table->horizontalHeader()->font();
    headerFont.setPointSizeF(headerFont.pointSizeF() * 0.9);
    m_table->horizontalHeader()->setFont(headerFont);
    bottom->addWidget(captioned(tr("Per-layer summary"), m_table, bottom));
    for (QSplitter* row : {top, bottom}) {
        row->setChildrenCollapsible(false);
        row->setSizes({800, 480});  // proportions: the rest of the width is shared the same way
    }
    content->addWidget(top);
    content->addWidget(bottom);
    content->setChildrenCollapsible(false);
    content->setSizes({390, 360});
    m_stack->addWidget(content);

    connect(m_metricCombo, &QComboBox::currentIndexChanged, this, &SimilarityPage::onMetricIndexChanged);
    connect(m_layerSpin, &QSpinBox::valueChanged, this, &SimilarityPage::selectLayer);
    connect(m_showGroups, &QCheckBox::toggled, this, [this](bool show) {
        m_overview->setShowGroups(show);
        refreshHeatmaps();
    });
    connect(m_overview, &SimilarityOverview::layerClicked, this, &SimilarityPage::selectLayer);
    connect(m_chart, &RedundancyChart::layerClicked, this, &SimilarityPage::selectLayer);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid()) selectLayer(m_model->layerAt(current.row()));
            });
    // A reset or insert moves rows under the table's selection: re-select the shown layer.
    connect(m_model, &QAbstractItemModel::modelReset, this, &SimilarityPage::syncSelectionWidgets);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &SimilarityPage::syncSelectionWidgets);

    m_overview->setShowGroups(m_showGroups->isChecked());
    setPlan(Plan());
    clear();
}

bool SimilarityPage::showsPlaceholder() const { return m_stack->currentWidget() == m_placeholder; }

void SimilarityPage::clear() {
    m_report = SimilarityReport();
    m_report.metric = similarityMetricFromName(m_metricCombo->currentData().toString().toStdString())
                          .value_or(SimilarityMetric::WeightCka);
    m_numLayers = 0;
    m_selectedLayer = -1;
    m_active = false;
    m_analysing = false;
    m_model->clear();
    m_chart->clear();
    m_overview->clear();
    m_keyView->clearMatrix();
    m_valueView->clearMatrix();
    m_stack->setCurrentWidget(m_placeholder);
    refreshLayerRange();
    refreshStatus();
}

void SimilarityPage::beginAnalysis(SimilarityMetric metric, int numLayers) {
    m_report = SimilarityReport();
    m_report.metric = metric;
    m_numLayers = std::max(0, numLayers);
    m_selectedLayer = -1;
    m_active = true;
    m_analysing = true;
    showMetric(metric);
    m_model->clear();
    m_chart->beginAnalysis(metric, m_numLayers);
    m_overview->beginAnalysis(metric, m_numLayers);
    m_stack->setCurrentIndex(1);
    refreshLayerRange();
    refreshHeatmaps();
    refreshStatus();
}

void SimilarityPage::addLayer(const SimilarityEvent& event) {
    if (!m_active) {
        beginAnalysis(event.metric, event.numLayers);
    } else if (event.metric != m_report.metric) {
        return;
    }
    m_numLayers = std::max(m_numLayers, event.numLayers);
    auto& layers = m_report.layers;
    const auto place = std::lower_bound(layers.begin(), layers.end(), event.layer.layer,
                                        [](const LayerSimilarity& l, int layer) { return l.layer < layer; });
    if (place != layers.end() && place->layer == event.layer.layer)
        *place = event.layer;
    else
        layers.insert(place, event.layer);
    m_model->addLayer(event.layer);
    m_chart->addLayer(event.layer);
    m_overview->addLayer(event.layer);
    refreshLayerRange();
    if (m_selectedLayer < 0)
        selectLayer(event.layer.layer);
    else if (event.layer.layer == m_selectedLayer)
        refreshHeatmaps();
    refreshStatus();
}

void SimilarityPage::setReport(const SimilarityReport& report) {
    m_report = report;
    std::stable_sort(m_report.layers.begin(), m_report.layers.end(),
                     [](const LayerSimilarity& a, const LayerSimilarity& b) { return a.layer < b.layer; });
    m_numLayers = static_cast<int>(m_report.layers.size());
    m_active = true;
    m_analysing = false;
    showMetric(m_report.metric);
    m_model->setReport(m_report);
    m_chart->setReport(m_report);
    m_overview->setReport(m_report);
    m_stack->setCurrentIndex(1);
    refreshLayerRange();
    const int keep = findLayer(m_selectedLayer) ? m_selectedLayer : -1;
    m_selectedLayer = -1;
    if (keep >= 0)
        selectLayer(keep);
    else if (!m_report.layers.empty())
        selectLayer(m_report.layers.front().layer);
    else
        refreshHeatmaps();
    refreshStatus();
}

void SimilarityPage::setPlan(const Plan& plan) {
    m_plan = plan;
    const bool any = plan.numLayers() > 0;
    m_showGroups->setEnabled(any);
    m_showGroups->setToolTip(
        any ? tr("Reorder the heads by the plan's key and value groups and outline each group")
            : tr("No plan yet: the Budget and plan page proposes one from this analysis"));
    m_overview->setPlan(plan);
    refreshHeatmaps();
}

void SimilarityPage::selectLayer(int layer) {
    if (layer == m_selectedLayer || !findLayer(layer)) return;
    m_selectedLayer = layer;
    syncSelectionWidgets();
    refreshHeatmaps();
    Q_EMIT layerSelected(layer);
}

void SimilarityPage::onMetricIndexChanged(int index) {
    const auto metric = similarityMetricFromName(m_metricCombo->itemData(index).toString().toStdString());
    if (metric) Q_EMIT metricRequested(*metric);
}

void SimilarityPage::showMetric(SimilarityMetric metric) {
    const QSignalBlocker blocker(m_metricCombo);
    m_metricCombo->setCurrentIndex(
        m_metricCombo->findData(QString::fromLatin1(similarityMetricName(metric))));
}

const LayerSimilarity* SimilarityPage::findLayer(int layer) const {
    for (const LayerSimilarity& entry : m_report.layers)
        if (entry.layer == layer) return &entry;
    return nullptr;
}

void SimilarityPage::syncSelectionWidgets() {
    {
        const QSignalBlocker blocker(m_layerSpin);
        if (m_selectedLayer >= 0) m_layerSpin->setValue(m_selectedLayer);
    }
    m_chart->setSelectedLayer(m_selectedLayer);
    m_overview->setSelectedLayer(m_selectedLayer);
    const QSignalBlocker blocker(m_table->selectionModel());
    const int row = m_model->rowOfLayer(m_selectedLayer);
    if (row >= 0) {
        m_table->selectionModel()->setCurrentIndex(
            m_model->index(row, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_table->scrollTo(m_model->index(row, 0));
        m_table->viewport()->update();
    } else {
        m_table->selectionModel()->clearSelection();
    }
}

void SimilarityPage::refreshLayerRange() {
    const QSignalBlocker blocker(m_layerSpin);
    const int last = m_report.layers.empty() ? 0 : m_report.layers.back().layer;
    m_layerSpin->setRange(0, last);
    m_layerSpin->setEnabled(!m_report.layers.empty());
    if (m_selectedLayer >= 0) m_layerSpin->setValue(m_selectedLayer);
    const int total = std::max(m_numLayers, static_cast<int>(m_report.layers.size()));
    m_layerCountLabel->setText(total > 0 ? tr("(0 - %1)").arg(total - 1) : QString());
}

void SimilarityPage::refreshStatus() {
    QString text;
    if (m_analysing) {
        text = tr("Analysing (%1): %2 of %3 layers")
                   .arg(similarityMetricLabel(m_report.metric))
                   .arg(m_report.layers.size())
                   .arg(m_numLayers);
    } else if (m_active) {
        text = tr("%1 layers, %2, analysed in %3 s")
                   .arg(m_report.layers.size())
                   .arg(similarityMetricLabel(m_report.metric))
                   .arg(m_report.seconds, 0, 'f', 1);
        if (isActivationMetric(m_report.metric) && m_report.calibrationTokens > 0)
            text += tr(" over %1 calibration tokens").arg(m_report.calibrationTokens);
    }
    m_statusLabel->setText(text);
}

void SimilarityPage::refreshHeatmaps() {
    const auto [minimum, maximum] = similarityRange(m_report.metric);
    const QString metricLabel = similarityMetricLabel(m_report.metric);
    const int layer = std::max(0, m_selectedLayer);
    const LayerSimilarity* entry = findLayer(m_selectedLayer);
    const LayerPlan* plan = m_showGroups->isChecked() && layer < m_plan.numLayers()
                                ? &m_plan.layers[static_cast<size_t>(layer)]
                                : nullptr;
    const auto show = [&](HeatmapView* view, HeadKind heads) {
        const bool key = heads == HeadKind::Key;
        view->setLabel(layer, heads);
        view->setScaleLabel(metricLabel);
        const QString what = key ? tr("key heads") : tr("value heads");
        view->setTitle(entry ? tr("layer %1 - %2 (%3)").arg(layer).arg(what, metricLabel)
                             : tr("%1 (%2): waiting for the first layer").arg(what, metricLabel));
        view->setGroups(plan ? (key ? plan->keyGroups : plan->valueGroups) : HeadGroups());
        view->setReorderByGroup(plan != nullptr);
        if (entry)
            view->setMatrix(key ? entry->key : entry->value, minimum, maximum);
        else
            view->setMatrix(Matrix(), minimum, maximum);
    };
    show(m_keyView, HeadKind::Key);
    show(m_valueView, HeadKind::Value);
}

}  // namespace dha::ui
