// The conversion settings the training page's form leaves out (phase shares, batch, learning rates, dtype,
// checkpoints): kept between sessions, edited in a small dialog, applied to the ConvertSpec the form builds.
#pragma once

#include <QDialog>
#include <QString>

#include "dha/conversion.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace dha::ui {

struct ConversionSettings {
    // The CLI's defaults (`dha convert --help`), except the continued-pretraining learning rates, which are the
    // ones the headless demo and the quality benchmark use (docs/conversion.md).
    double searchShare = 0.1;  // of the token budget, for the adaptive methods planning from a budget
    double fusionShare = 0.5;  // of the token budget, for the methods with learned fusion
    int batchSize = 8;
    int contextLength = 256;
    double modelLearningRate = 1e-4;  // every model weight during fusion
    double continuedPeakLearningRate = 3e-4;
    double continuedMinLearningRate = 3e-5;
    QString dtype = QStringLiteral("fp32");
    int checkpointInterval = 100;    // steps
    int validationTokens = 16384;    // per held-out measurement

    // Splits `totalTokens` between the phases and sets every other field above on `spec` (whose method and
    // plan source are already set).
    void applyTo(ConvertSpec& spec, int64_t totalTokens) const;

    static ConversionSettings load();  // QSettings "conversion/*", defaults where absent or out of range
    void save() const;
    friend bool operator==(const ConversionSettings& a, const ConversionSettings& b);
};

class ConversionSettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConversionSettingsDialog(const ConversionSettings& settings, QWidget* parent = nullptr);
    ConversionSettings settings() const;  // what the fields say now
    void restoreDefaults();

private:
    void display(const ConversionSettings& settings);

    QDoubleSpinBox* m_searchShare = nullptr;
    QDoubleSpinBox* m_fusionShare = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_context = nullptr;
    QDoubleSpinBox* m_modelLr = nullptr;
    QDoubleSpinBox* m_continuedLr = nullptr;
    QDoubleSpinBox* m_minLr = nullptr;
    QComboBox* m_dtype = nullptr;
    QSpinBox* m_checkpointInterval = nullptr;
    QSpinBox* m_validationTokens = nullptr;
};

}  // namespace dha::ui
