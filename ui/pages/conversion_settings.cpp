// ConversionSettings: defaults, persistence and the dialog that edits them.
#include "pages/conversion_settings.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace dha::ui {
namespace {

const char* const kGroup = "conversion";

QDoubleSpinBox* rateBox(QWidget* parent, double maximum) {
    auto* box = new QDoubleSpinBox(parent);
    box->setDecimals(6);
    box->setRange(1e-6, maximum);
    box->setSingleStep(1e-5);
    return box;
}

QDoubleSpinBox* shareBox(QWidget* parent, double minimum, double maximum) {
    auto* box = new QDoubleSpinBox(parent);
    box->setDecimals(2);
    box->setRange(minimum, maximum);
    box->setSingleStep(0.05);
    return box;
}

}  // namespace

void ConversionSettings::applyTo(ConvertSpec& spec, int64_t totalTokens) const {
    const double search = usesAdaptivePlan(spec.method) && spec.planFile.empty() ? searchShare : 0.0;
    const PhaseTokens phases = splitTokenBudget(totalTokens, spec.method, fusionShare, search);
    spec.searchTokens = phases.search;
    spec.fusionTokens = phases.fusion;
    spec.continuedTokens = phases.continued;
    spec.batchSize = batchSize;
    spec.contextLength = contextLength;
    spec.modelLearningRate = modelLearningRate;
    spec.continuedPeakLearningRate = continuedPeakLearningRate;
    spec.continuedMinLearningRate = continuedMinLearningRate;
    spec.dtype = dtype.toStdString();
    spec.checkpointInterval = checkpointInterval;
    if (!spec.validationText.empty()) spec.validationTokens = validationTokens;
}

ConversionSettings ConversionSettings::load() {
    ConversionSettings settings;
    const ConversionSettings defaults;
    QSettings store;
    store.beginGroup(QLatin1String(kGroup));
    auto number = [&](const char* key, double fallback, double low, double high) {
        bool ok = false;
        const double value = store.value(QLatin1String(key), fallback).toDouble(&ok);
        return ok && value >= low && value <= high ? value : fallback;  // a hand-edited file cannot break a run
    };
    settings.searchShare = number("searchShare", defaults.searchShare, 0.0, 0.5);
    settings.fusionShare = number("fusionShare", defaults.fusionShare, 0.05, 0.95);
    settings.batchSize = static_cast<int>(number("batchSize", defaults.batchSize, 1, 4096));
    settings.contextLength = static_cast<int>(number("contextLength", defaults.contextLength, 2, 1 << 20));
    settings.modelLearningRate = number("modelLearningRate", defaults.modelLearningRate, 1e-7, 1.0);
    settings.continuedPeakLearningRate =
        number("continuedPeakLearningRate", defaults.continuedPeakLearningRate, 1e-7, 1.0);
    settings.continuedMinLearningRate =
        number("continuedMinLearningRate", defaults.continuedMinLearningRate, 0.0, 1.0);
    const QString dtype = store.value(QStringLiteral("dtype"), defaults.dtype).toString();
    settings.dtype = dtype == QLatin1String("bf16") ? dtype : defaults.dtype;
    settings.checkpointInterval =
        static_cast<int>(number("checkpointInterval", defaults.checkpointInterval, 0, 1e9));
    settings.validationTokens = static_cast<int>(number("validationTokens", defaults.validationTokens, 0, 1e9));
    return settings;
}

void ConversionSettings::save() const {
    QSettings store;
    store.beginGroup(QLatin1String(kGroup));
    store.setValue(QStringLiteral("searchShare"), searchShare);
    store.setValue(QStringLiteral("fusionShare"), fusionShare);
    store.setValue(QStringLiteral("batchSize"), batchSize);
    store.setValue(QStringLiteral("contextLength"), contextLength);
    store.setValue(QStringLiteral("modelLearningRate"), modelLearningRate);
    store.setValue(QStringLiteral("continuedPeakLearningRate"), continuedPeakLearningRate);
    store.setValue(QStringLiteral("continuedMinLearningRate"), continuedMinLearningRate);
    store.setValue(QStringLiteral("dtype"), dtype);
    store.setValue(QStringLiteral("checkpointInterval"), checkpointInterval);
    store.setValue(QStringLiteral("validationTokens"), validationTokens);
}

bool operator==(const ConversionSettings& a, const ConversionSettings& b) {
    return a.searchShare == b.searchShare && a.fusionShare == b.fusionShare && a.batchSize == b.batchSize &&
           a.contextLength == b.contextLength && a.modelLearningRate == b.modelLearningRate &&
           a.continuedPeakLearningRate == b.continuedPeakLearningRate &&
           a.continuedMinLearningRate == b.continuedMinLearningRate && a.dtype == b.dtype &&
           a.checkpointInterval == b.checkpointInterval && a.validationTokens == b.validationTokens;
}

ConversionSettingsDialog::ConversionSettingsDialog(const ConversionSettings& settings, QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Conversion settings"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    m_searchShare = shareBox(this, 0.0, 0.5);
    m_searchShare->setToolTip(tr("Share of the token budget that searches for the plan (dha and dha-meanpool "
                                 "planning from a budget); 0 plans from similarity alone"));
    form->addRow(tr("Search share"), m_searchShare);
    m_fusionShare = shareBox(this, 0.05, 0.95);
    m_fusionShare->setToolTip(tr("Share of the token budget that learns the fusion weights; the rest continues "
                                 "pretraining the compact model"));
    form->addRow(tr("Fusion share"), m_fusionShare);
    m_batch = new QSpinBox(this);
    m_batch->setRange(1, 4096);
    form->addRow(tr("Batch (sequences)"), m_batch);
    m_context = new QSpinBox(this);
    m_context->setRange(2, 1 << 20);
    m_context->setToolTip(tr("Tokens per sequence: at most the model's max_position_embeddings"));
    form->addRow(tr("Context (tokens)"), m_context);
    m_modelLr = rateBox(this, 1.0);
    form->addRow(tr("Model learning rate during fusion"), m_modelLr);
    m_continuedLr = rateBox(this, 1.0);
    form->addRow(tr("Continued pretraining: peak learning rate"), m_continuedLr);
    m_minLr = rateBox(this, 1.0);
    m_minLr->setMinimum(0.0);
    form->addRow(tr("Continued pretraining: final learning rate"), m_minLr);
    m_dtype = new QComboBox(this);
    m_dtype->addItem(QStringLiteral("fp32"));
    m_dtype->addItem(QStringLiteral("bf16"));
    m_dtype->setToolTip(tr("bf16 autocasts the forward pass; weights stay fp32"));
    form->addRow(tr("Compute dtype"), m_dtype);
    m_checkpointInterval = new QSpinBox(this);
    m_checkpointInterval->setRange(0, 1000000000);
    m_checkpointInterval->setToolTip(tr("Steps between checkpoints; 0 = only at phase ends and on cancel"));
    form->addRow(tr("Checkpoint every (steps)"), m_checkpointInterval);
    m_validationTokens = new QSpinBox(this);
    m_validationTokens->setRange(0, 1000000000);
    m_validationTokens->setToolTip(tr("Predicted tokens per held-out measurement; 0 = the whole file"));
    form->addRow(tr("Held-out tokens"), m_validationTokens);
    layout->addLayout(form);

    auto* buttons = new QDialogButtonBox(
        QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &ConversionSettingsDialog::restoreDefaults);
    layout->addWidget(buttons);
    display(settings);
}

void ConversionSettingsDialog::restoreDefaults() { display(ConversionSettings{}); }

void ConversionSettingsDialog::display(const ConversionSettings& settings) {
    m_searchShare->setValue(settings.searchShare);
    m_fusionShare->setValue(settings.fusionShare);
    m_batch->setValue(settings.batchSize);
    m_context->setValue(settings.contextLength);
    m_modelLr->setValue(settings.modelLearningRate);
    m_continuedLr->setValue(settings.continuedPeakLearningRate);
    m_minLr->setValue(settings.continuedMinLearningRate);
    m_dtype->setCurrentText(settings.dtype);
    m_checkpointInterval->setValue(settings.checkpointInterval);
    m_validationTokens->setValue(settings.validationTokens);
}

ConversionSettings ConversionSettingsDialog::settings() const {
    ConversionSettings settings;
    settings.searchShare = m_searchShare->value();
    settings.fusionShare = m_fusionShare->value();
    settings.batchSize = m_batch->value();
    settings.contextLength = m_context->value();
    settings.modelLearningRate = m_modelLr->value();
    settings.continuedPeakLearningRate = m_continuedLr->value();
    settings.continuedMinLearningRate = m_minLr->value();
    settings.dtype = m_dtype->currentText();
    settings.checkpointInterval = m_checkpointInterval->value();
    settings.validationTokens = m_validationTokens->value();
    return settings;
}

}  // namespace dha::ui
