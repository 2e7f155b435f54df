// The Budget and plan page: a global budget slider, the per-layer plan table (edit, pin, lock), constraints,
// the K/V allocation chart, the KV savings against the source and a uniform GQA plan of the same cost, and
// plan JSON load/save.
#pragma once

#include <QHash>
#include <QWidget>

#include "dha/budget.h"
#include "dha/model_info.h"
#include "dha/plan.h"
#include "dha/similarity.h"

class QCheckBox;
class QLabel;
class QLayout;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace dha::ui {

class KvAllocationChart;
class PlanEditor;
class PlanTableModel;

class PlanPage : public QWidget {
    Q_OBJECT
public:
    // The sequence length the per-sequence KV cost is quoted for.
    static constexpr int kSequenceTokens = 4096;

    explicit PlanPage(QWidget* parent = nullptr);

    PlanEditor* editor() const { return m_editor; }
    void setSource(const ModelInfo& info);               // layers, heads, head width from config
    void setSimilarity(const SimilarityReport& report);  // enables planning
    Plan currentPlan() const;
    Budget currentBudget() const;
    PlanConstraints currentConstraints()
        const;  // pins, locks, min/max, tie: with the budget they give the plan

    // What "Load plan..." and "Save plan..." do after their file dialogs. False (and a message) on error.
    bool loadPlanFile(const QString& path);
    bool savePlanFile(const QString& path);

    // For tests and the main window: the message line (a refusal, or what the plan is).
    QString message() const;
    bool messageIsError() const { return m_messageIsError; }
    QString placeholderText() const;
    bool showsPlan() const;
    QSlider* budgetSlider() const { return m_slider; }
    QSpinBox* budgetSpinBox() const { return m_budgetSpin; }
    QString budgetText() const;
    QTableView* table() const { return m_table; }
    PlanTableModel* tableModel() const { return m_model; }
    KvAllocationChart* chart() const { return m_chart; }

Q_SIGNALS:
    void planChanged(const dha::Plan& plan);

private:
    QWidget* buildBudgetBox();
    QLayout* buildConstraintsRow(QWidget* box);
    QWidget* buildSavingsBox();
    void onPlanChanged();
    void onEditRefused(const QString& message);
    void onBudgetEdited(int heads);
    void syncControls();
    void updateSavings();
    void showMessage(const QString& text, bool isError);
    void chooseLoadFile();
    void chooseSaveFile();

    PlanEditor* m_editor = nullptr;
    PlanTableModel* m_model = nullptr;
    QString m_sourceNote;  // why this source cannot be planned (already GQA/DHA), empty otherwise
    QString m_modelDirectory;

    QStackedWidget* m_stack = nullptr;
    QLabel* m_placeholder = nullptr;
    QPushButton* m_placeholderLoad = nullptr;
    QLabel* m_placeholderMessage = nullptr;
    QSlider* m_slider = nullptr;
    QSpinBox* m_budgetSpin = nullptr;
    QLabel* m_budgetLabel = nullptr;
    QLabel* m_budgetDetail = nullptr;
    QLabel* m_rangeLow = nullptr;
    QLabel* m_rangeHigh = nullptr;
    QSpinBox* m_minHeads = nullptr;
    QSpinBox* m_maxHeads = nullptr;
    QCheckBox* m_tie = nullptr;
    QPushButton* m_clearPins = nullptr;
    QPushButton* m_load = nullptr;
    QPushButton* m_save = nullptr;
    QLabel* m_message = nullptr;
    bool m_messageIsError = false;
    KvAllocationChart* m_chart = nullptr;
    QTableView* m_table = nullptr;
    QLabel* m_gqaTitle = nullptr;
    QLabel* m_savingsNote = nullptr;
    QHash<QString, QLabel*> m_savings;  // by object name, e.g. "planBytesPerToken"
};

}  // namespace dha::ui
