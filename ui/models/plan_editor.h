// PlanEditor: the budget and plan page's editing logic (budget, pinned counts, locked layers, constraints)
// over the engine's planner, with the plan's KV cost and the uniform GQA plan at the same cost. No widgets.
#pragma once

#include <QObject>
#include <QString>

#include <optional>
#include <vector>

#include "dha/budget.h"
#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha::ui {

class PlanEditor : public QObject {
    Q_OBJECT
public:
    // The KV cache is costed at 16-bit, as `dha inspect` and deployed runtimes keep it.
    static constexpr int kKvBytesPerElement = 2;
    static constexpr double kDefaultBudgetFraction = 0.25;

    // The budgets the current constraints can meet: first, first + step, ..., last (K+V heads).
    struct BudgetRange {
        int first = 0;
        int last = 0;
        int step = 1;
    };

    explicit PlanEditor(QObject* parent = nullptr);

    // A new source model: the similarity report, the plan and every edit are dropped (they were about the
    // previous model). numHeads is H, the query (and MHA key/value) heads per layer.
    void setSource(int numLayers, int numHeads, int headDim);
    // Enables planning. A report for another shape is not used (statusText() says why). A report of the same
    // shape as the last one (another metric, say) keeps the budget, pins and constraints when they still fit.
    void setSimilarity(const SimilarityReport& report);
    // Back to "no model".
    void clear();

    bool hasSource() const { return m_numLayers > 0; }
    bool hasSimilarity() const { return m_report.has_value(); }
    bool hasPlan() const { return !m_plan.layers.empty(); }
    // The plan came from a file and the planner would group its heads differently: it is shown as loaded
    // until the next edit replans.
    bool isLoaded() const { return m_loaded; }
    // One line on what the editor holds, or why it is empty ("analyse the model first").
    QString statusText() const;

    int numLayers() const { return m_numLayers; }
    int numHeads() const { return m_numHeads; }
    int headDim() const { return m_headDim; }
    int sourceKvHeads() const { return 2 * m_numLayers * m_numHeads; }

    // Budget, in K+V heads kept (the plan keeps exactly this many).
    int budgetHeads() const { return m_state.budgetHeads; }
    double budgetFraction() const;
    Budget budget() const { return Budget::ofHeads(m_state.budgetHeads); }
    BudgetRange feasibleBudgets() const;
    int nearestFeasibleBudget(int heads) const;
    bool setBudgetHeads(int heads);
    bool setBudgetFraction(double fraction);  // rounded to the nearest head count

    // Per-(layer, K|V) head counts. Setting one pins it (a FixedCount); the budget stays, the rest replans.
    int count(int layer, HeadKind kind) const;
    bool setCount(int layer, HeadKind kind, int heads);
    bool isFixed(int layer, HeadKind kind) const;
    int fixedCellCount() const;
    bool clearPins();

    // A locked layer keeps all its key and value heads (an MHA layer); locking drops its pins.
    bool isLayerLocked(int layer) const;
    bool setLayerLocked(int layer, bool locked);

    int minHeads() const { return m_state.minHeads; }
    int maxHeads() const;  // H when unconstrained
    bool setMinHeads(int heads);
    bool setMaxHeads(int heads);
    bool tieKeyValue() const { return m_state.tieKeyValue; }
    // Tying with an odd budget moves it to the nearest even feasible budget (tied layers keep K = V).
    bool setTieKeyValue(bool tied);

    PlanConstraints constraints() const;

    const Plan& plan() const { return m_plan; }
    const KvAccounting& accounting() const { return m_accounting; }
    // Uniform GQA at the same KV cost or the nearest below: g groups per layer (g divides H), 2 * g * layers
    // heads. 0 groups when there is no plan.
    int gqaGroups() const { return m_gqaGroups; }
    const Plan& gqaPlan() const { return m_gqaPlan; }
    const KvAccounting& gqaAccounting() const { return m_gqaAccounting; }

    // Loads plan JSON, checked against the source's layers and heads, and pins every count so the planner
    // reproduces it (or keeps it as loaded when its grouping differs). Errors name the file.
    bool loadPlanFile(const QString& path);
    bool savePlanFile(const QString& path);
    QString loadedFile() const { return m_loadedFile; }

Q_SIGNALS:
    // After every accepted change, and when the source or the similarity report changes.
    void planChanged();
    // An edit that cannot be met; nothing changed.
    void editRefused(const QString& message);

private:
    struct State {
        int budgetHeads = 0;
        std::vector<int> fixedKey;    // [layer] 0 = free
        std::vector<int> fixedValue;  // [layer]
        std::vector<bool> locked;     // [layer]
        int minHeads = 1;
        int maxHeads = 0;  // 0 = H
        bool tieKeyValue = false;
    };

    static int fixedOf(const State& state, int layer, HeadKind kind);
    void resetAll();
    BudgetRange feasibleOf(const State& state) const;
    static int nearestIn(const BudgetRange& range, int heads);
    State freshState() const;
    PlanConstraints constraintsOf(const State& state) const;
    // Plans `next`; on success it becomes the state and planChanged fires, otherwise editRefused(context:
    // engine message) fires and nothing changes.
    bool apply(const State& next, const QString& context);
    bool refuse(const QString& message);
    bool checkEditable(const QString& context);
    bool checkLayer(int layer, const QString& context);
    bool checkPinsWithin(int low, int high, const QString& context);
    void setPlan(Plan plan);
    void resetPlan();

    int m_numLayers = 0;
    int m_numHeads = 0;
    int m_headDim = 0;
    std::optional<SimilarityReport> m_report;
    QString m_reportProblem;  // why a report was not used
    State m_state;
    Plan m_plan;
    KvAccounting m_accounting;
    bool m_loaded = false;
    QString m_loadedFile;
    int m_gqaGroups = 0;
    Plan m_gqaPlan;
    KvAccounting m_gqaAccounting;
};

}  // namespace dha::ui
