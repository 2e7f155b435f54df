// PlanEditor: every edit builds the next state, replans it with planFromSimilarity (milliseconds, so on the
// GUI thread) and keeps it only when the engine accepts it.
#include "models/plan_editor.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <utility>

#include "dha/error.h"

namespace dha::ui {
namespace {

QString kindName(HeadKind kind) {
    return kind == HeadKind::Key ? QStringLiteral("key") : QStringLiteral("value");
}

// The engine's sentence (and its hint, which says what to do) for the message label.
QString engineMessage(const Exception& e) {
    QString text = QString::fromStdString(e.error().message);
    if (!e.error().hint.empty()) text += QStringLiteral(" (%1)").arg(QString::fromStdString(e.error().hint));
    return text;
}

// "path: problem" for file errors, so the message names the file.
QString fileMessage(const Exception& e, const QString& path) {
    QString text = QString::fromStdString(e.error().describe());
    if (!text.contains(path)) text = path + QStringLiteral(": ") + text;
    if (!e.error().hint.empty()) text += QStringLiteral(" (%1)").arg(QString::fromStdString(e.error().hint));
    return text;
}

}  // namespace

PlanEditor::PlanEditor(QObject* parent) : QObject(parent) {}

void PlanEditor::clear() {
    resetAll();
    Q_EMIT planChanged();
}

void PlanEditor::resetAll() {
    m_numLayers = 0;
    m_numHeads = 0;
    m_headDim = 0;
    m_report.reset();
    m_reportProblem.clear();
    m_state = State{};
    m_loadedFile.clear();
    resetPlan();
}

void PlanEditor::setSource(int numLayers, int numHeads, int headDim) {
    resetAll();
    if (numLayers < 1 || numHeads < 1 || headDim < 1) {
        m_reportProblem = tr("The model's shape (%1 layers, %2 heads of width %3) cannot be planned.")
                              .arg(numLayers)
                              .arg(numHeads)
                              .arg(headDim);
        Q_EMIT planChanged();
        return;
    }
    m_numLayers = numLayers;
    m_numHeads = numHeads;
    m_headDim = headDim;
    m_state = freshState();
    Q_EMIT planChanged();
}

void PlanEditor::setSimilarity(const SimilarityReport& report) {
    if (!hasSource()) {
        m_reportProblem = tr("A similarity report arrived before its model: open the model first.");
        Q_EMIT planChanged();
        return;
    }
    const int layers = static_cast<int>(report.layers.size());
    const int heads = report.layers.empty() ? 0 : report.layers.front().key.rows;
    if (layers != m_numLayers || heads != m_numHeads) {
        m_report.reset();
        m_reportProblem =
            tr("The similarity report covers %1 layers of %2 key heads, but the model has %3 layers "
               "of %4 query heads: plans start from an analysed MHA model.")
                .arg(layers)
                .arg(heads)
                .arg(m_numLayers)
                .arg(m_numHeads);
        resetPlan();
        Q_EMIT planChanged();
        return;
    }
    const bool hadPlan = hasPlan();
    const bool wasLoaded = m_loaded;
    const Plan previous = m_plan;
    m_report = report;
    m_reportProblem.clear();
    // Keep the user's edits when the new report can still plan them; a loaded plan stays loaded unless the
    // planner now reproduces it.
    try {
        const Plan replanned = planFromSimilarity(*m_report, budget(), constraintsOf(m_state));
        if (hadPlan && wasLoaded && replanned != previous) {
            Q_EMIT planChanged();
            return;
        }
        m_loaded = false;
        setPlan(replanned);
        Q_EMIT planChanged();
        return;
    } catch (const Exception&) {
        // fall through to a fresh start
    }
    try {
        const State fresh = freshState();
        const Plan plan =
            planFromSimilarity(*m_report, Budget::ofHeads(fresh.budgetHeads), constraintsOf(fresh));
        m_state = fresh;
        m_loaded = false;
        m_loadedFile.clear();
        setPlan(plan);
    } catch (const Exception& e) {
        m_report.reset();
        m_reportProblem = tr("The similarity report cannot be planned: %1").arg(engineMessage(e));
        resetPlan();
    }
    Q_EMIT planChanged();
}

QString PlanEditor::statusText() const {
    if (!hasSource()) {
        if (!m_reportProblem.isEmpty()) return m_reportProblem;
        return tr(
            "No model loaded. Open a model, then analyse its head similarity to plan which key and value "
            "heads to keep.");
    }
    if (!hasPlan()) {
        if (!m_reportProblem.isEmpty()) return m_reportProblem;
        return tr(
            "Not analysed yet: run the head similarity analysis first. The planner groups the key and "
            "value heads of each layer by how similar they are.");
    }
    if (m_loaded) {
        return hasSimilarity()
                   ? tr("Plan loaded from %1 as written (the planner would group some heads differently); "
                        "any edit replans from the similarity.")
                         .arg(m_loadedFile)
                   : tr("Plan loaded from %1. Analyse the model to edit it.").arg(m_loadedFile);
    }
    int lockedLayers = 0;
    for (const bool locked : m_state.locked) lockedLayers += locked ? 1 : 0;
    QString text =
        tr("Plan from similarity: %1 of %2 K+V heads kept").arg(m_plan.keptHeads()).arg(sourceKvHeads());
    const int pins = fixedCellCount();
    if (pins > 0) text += pins == 1 ? tr(", 1 pinned count") : tr(", %1 pinned counts").arg(pins);
    if (lockedLayers > 0)
        text += lockedLayers == 1 ? tr(", 1 locked layer") : tr(", %1 locked layers").arg(lockedLayers);
    if (!m_loadedFile.isEmpty()) text += tr(" (reproduces %1)").arg(m_loadedFile);
    return text + QLatin1Char('.');
}

double PlanEditor::budgetFraction() const {
    return sourceKvHeads() > 0 ? static_cast<double>(m_state.budgetHeads) / sourceKvHeads() : 0.0;
}

PlanEditor::BudgetRange PlanEditor::feasibleBudgets() const { return feasibleOf(m_state); }

int PlanEditor::nearestFeasibleBudget(int heads) const { return nearestIn(feasibleOf(m_state), heads); }

// The same sums countLimits makes in the engine: a locked layer keeps H, a pinned count its value, the rest
// min..max; tied layers count their one grouping twice.
PlanEditor::BudgetRange PlanEditor::feasibleOf(const State& state) const {
    BudgetRange range;
    if (!hasSource()) return range;
    const int low = state.minHeads;
    const int high = state.maxHeads == 0 ? m_numHeads : state.maxHeads;
    range.step = state.tieKeyValue ? 2 : 1;
    for (int layer = 0; layer < m_numLayers; ++layer) {
        const bool locked = state.locked[static_cast<size_t>(layer)];
        const auto add = [&](int fixed) {
            range.first += locked ? m_numHeads : fixed > 0 ? fixed : low;
            range.last += locked ? m_numHeads : fixed > 0 ? fixed : high;
        };
        const int key = fixedOf(state, layer, HeadKind::Key);
        const int value = fixedOf(state, layer, HeadKind::Value);
        if (state.tieKeyValue) {
            add(key > 0 ? key : value);
            add(key > 0 ? key : value);
        } else {
            add(key);
            add(value);
        }
    }
    return range;
}

int PlanEditor::nearestIn(const BudgetRange& range, int heads) {
    if (range.last <= 0) return 0;
    int result = std::clamp(heads, range.first, range.last);
    const int offset = (result - range.first) % range.step;
    if (offset != 0) result += 2 * offset >= range.step ? range.step - offset : -offset;
    return std::clamp(result, range.first, range.last);
}

bool PlanEditor::setBudgetHeads(int heads) {
    if (!checkEditable(tr("Cannot set the budget"))) return false;
    if (heads == m_state.budgetHeads) return true;
    State next = m_state;
    next.budgetHeads = heads;
    return apply(next, tr("Cannot keep %1 of %2 K+V heads").arg(heads).arg(sourceKvHeads()));
}

bool PlanEditor::setBudgetFraction(double fraction) {
    if (!checkEditable(tr("Cannot set the budget"))) return false;
    try {
        return setBudgetHeads(Budget::ofFraction(fraction).resolve(sourceKvHeads()));
    } catch (const Exception& e) {
        return refuse(tr("Cannot set the budget: %1").arg(engineMessage(e)));
    }
}

int PlanEditor::count(int layer, HeadKind kind) const {
    if (layer < 0 || layer >= m_plan.numLayers()) return 0;
    const LayerPlan& layerPlan = m_plan.layers[static_cast<size_t>(layer)];
    return kind == HeadKind::Key ? layerPlan.numKeyHeads() : layerPlan.numValueHeads();
}

bool PlanEditor::isFixed(int layer, HeadKind kind) const {
    if (layer < 0 || layer >= m_numLayers) return false;
    return fixedOf(m_state, layer, kind) > 0;
}

int PlanEditor::fixedOf(const State& state, int layer, HeadKind kind) {
    const auto& fixed = kind == HeadKind::Key ? state.fixedKey : state.fixedValue;
    return fixed[static_cast<size_t>(layer)];
}

int PlanEditor::fixedCellCount() const {
    int cells = 0;
    for (int layer = 0; layer < m_numLayers; ++layer)
        cells += (isFixed(layer, HeadKind::Key) ? 1 : 0) + (isFixed(layer, HeadKind::Value) ? 1 : 0);
    return cells;
}

bool PlanEditor::setCount(int layer, HeadKind kind, int heads) {
    const QString cell = tr("layer %1 %2 heads").arg(layer).arg(kindName(kind));
    if (!checkLayer(layer, tr("Cannot edit the %1").arg(cell))) return false;
    if (heads < 1 || heads > m_numHeads) {
        return refuse(tr("Cannot keep %1 %2 heads in layer %3: a layer keeps 1 to %4 %2 heads.")
                          .arg(heads)
                          .arg(kindName(kind))
                          .arg(layer)
                          .arg(m_numHeads));
    }
    if (isLayerLocked(layer)) {
        return refuse(
            tr("Layer %1 is locked (it keeps all %2 key and value heads): unlock it to edit its counts.")
                .arg(layer)
                .arg(m_numHeads));
    }
    if (heads < m_state.minHeads || heads > maxHeads()) {
        return refuse(
            tr("Cannot keep %1 %2 heads in layer %3: the constraints allow %4 to %5 heads per layer.")
                .arg(heads)
                .arg(kindName(kind))
                .arg(layer)
                .arg(m_state.minHeads)
                .arg(maxHeads()));
    }
    if (!checkEditable(tr("Cannot edit the %1").arg(cell))) return false;
    State next = m_state;
    // Tied layers keep K = V, so a pin of either kind pins both.
    if (kind == HeadKind::Key || next.tieKeyValue) next.fixedKey[static_cast<size_t>(layer)] = heads;
    if (kind == HeadKind::Value || next.tieKeyValue) next.fixedValue[static_cast<size_t>(layer)] = heads;
    return apply(next, tr("Cannot keep %1 %2 heads in layer %3").arg(heads).arg(kindName(kind)).arg(layer));
}

bool PlanEditor::clearPins() {
    if (fixedCellCount() == 0) return true;
    if (!checkEditable(tr("Cannot clear the pins"))) return false;
    State next = m_state;
    std::fill(next.fixedKey.begin(), next.fixedKey.end(), 0);
    std::fill(next.fixedValue.begin(), next.fixedValue.end(), 0);
    return apply(next, tr("Cannot clear the pins"));
}

bool PlanEditor::isLayerLocked(int layer) const {
    if (layer < 0 || layer >= m_numLayers) return false;
    return m_state.locked[static_cast<size_t>(layer)];
}

bool PlanEditor::setLayerLocked(int layer, bool locked) {
    const QString context =
        locked ? tr("Cannot lock layer %1").arg(layer) : tr("Cannot unlock layer %1").arg(layer);
    if (!checkLayer(layer, context)) return false;
    if (isLayerLocked(layer) == locked) return true;
    if (!checkEditable(context)) return false;
    State next = m_state;
    next.locked[static_cast<size_t>(layer)] = locked;
    if (locked) {  // the lock supersedes the layer's pins
        next.fixedKey[static_cast<size_t>(layer)] = 0;
        next.fixedValue[static_cast<size_t>(layer)] = 0;
    }
    return apply(next, context);
}

int PlanEditor::maxHeads() const { return m_state.maxHeads == 0 ? m_numHeads : m_state.maxHeads; }

bool PlanEditor::setMinHeads(int heads) {
    const QString context = tr("Cannot set the minimum to %1 heads per layer").arg(heads);
    if (!checkEditable(context)) return false;
    if (heads < 1 || heads > maxHeads())
        return refuse(context + tr(": expected 1 to %1 (the maximum).").arg(maxHeads()));
    if (heads == m_state.minHeads) return true;
    if (!checkPinsWithin(heads, maxHeads(), context)) return false;
    State next = m_state;
    next.minHeads = heads;
    return apply(next, context);
}

bool PlanEditor::setMaxHeads(int heads) {
    const QString context = tr("Cannot set the maximum to %1 heads per layer").arg(heads);
    if (!checkEditable(context)) return false;
    if (heads < m_state.minHeads || heads > m_numHeads) {
        return refuse(context +
                      tr(": expected %1 (the minimum) to %2.").arg(m_state.minHeads).arg(m_numHeads));
    }
    if (heads == maxHeads()) return true;
    if (!checkPinsWithin(m_state.minHeads, heads, context)) return false;
    State next = m_state;
    next.maxHeads = heads == m_numHeads ? 0 : heads;
    return apply(next, context);
}

// The engine lets pins override min/max; the editor keeps them inside so the constraints shown hold.
bool PlanEditor::checkPinsWithin(int low, int high, const QString& context) {
    for (int layer = 0; layer < m_numLayers; ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const int pinned = fixedOf(m_state, layer, kind);
            if (pinned > 0 && (pinned < low || pinned > high)) {
                return refuse(context +
                              tr(": the %1 heads of layer %2 are pinned at %3 (clear the pin first).")
                                  .arg(kindName(kind))
                                  .arg(layer)
                                  .arg(pinned));
            }
        }
    }
    return true;
}

bool PlanEditor::setTieKeyValue(bool tied) {
    const QString context =
        tied ? tr("Cannot tie key and value groups") : tr("Cannot untie key and value groups");
    if (!checkEditable(context)) return false;
    if (tied == m_state.tieKeyValue) return true;
    State next = m_state;
    next.tieKeyValue = tied;
    if (tied) {
        for (int layer = 0; layer < m_numLayers; ++layer) {
            int& key = next.fixedKey[static_cast<size_t>(layer)];
            int& value = next.fixedValue[static_cast<size_t>(layer)];
            if (key > 0 && value > 0 && key != value) {
                return refuse(context +
                              tr(": layer %1 has %2 key heads and %3 value heads pinned (clear its pins "
                                 "first).")
                                  .arg(layer)
                                  .arg(key)
                                  .arg(value));
            }
            key = value = std::max(key, value);
        }
        // Tied budgets are even; move an odd one to the nearest budget the tied constraints allow.
        next.budgetHeads = nearestIn(feasibleOf(next), next.budgetHeads);
    }
    return apply(next, context);
}

PlanConstraints PlanEditor::constraints() const { return constraintsOf(m_state); }

bool PlanEditor::loadPlanFile(const QString& path) {
    if (!hasSource()) {
        return refuse(
            tr("%1: open a model first; a plan is checked against the model's layers and heads.").arg(path));
    }
    Plan loaded;
    try {
        loaded = loadPlan(std::filesystem::path(path.toStdString()));
        validatePlan(loaded, m_numLayers, m_numHeads, path.toStdString());
        loaded = canonicalPlan(std::move(loaded));
    } catch (const Exception& e) {
        return refuse(tr("Cannot load the plan: %1").arg(fileMessage(e, path)));
    } catch (const std::exception& e) {
        return refuse(tr("Cannot load the plan: %1: %2").arg(path, QString::fromLocal8Bit(e.what())));
    }
    // Every count pinned at the file's: the planner then reproduces the plan when it would group the same
    // way.
    State pinned = freshState();
    pinned.budgetHeads = loaded.keptHeads();
    for (int layer = 0; layer < m_numLayers; ++layer) {
        pinned.fixedKey[static_cast<size_t>(layer)] = loaded.layers[static_cast<size_t>(layer)].numKeyHeads();
        pinned.fixedValue[static_cast<size_t>(layer)] =
            loaded.layers[static_cast<size_t>(layer)].numValueHeads();
    }
    m_state = pinned;
    m_loadedFile = path;
    m_loaded = true;
    if (m_report) {
        try {
            Plan replanned = planFromSimilarity(*m_report, budget(), constraintsOf(pinned));
            m_loaded = replanned != loaded;
        } catch (const Exception&) {
            m_loaded = true;  // kept as written
        }
    }
    setPlan(std::move(loaded));
    Q_EMIT planChanged();
    return true;
}

bool PlanEditor::savePlanFile(const QString& path) {
    if (!hasPlan()) return refuse(tr("%1: there is no plan to save yet.").arg(path));
    try {
        savePlan(m_plan, std::filesystem::path(path.toStdString()));
    } catch (const Exception& e) {
        return refuse(tr("Cannot save the plan: %1").arg(fileMessage(e, path)));
    } catch (const std::exception& e) {
        return refuse(tr("Cannot save the plan: %1: %2").arg(path, QString::fromLocal8Bit(e.what())));
    }
    return true;
}

PlanEditor::State PlanEditor::freshState() const {
    State state;
    state.fixedKey.assign(static_cast<size_t>(m_numLayers), 0);
    state.fixedValue.assign(static_cast<size_t>(m_numLayers), 0);
    state.locked.assign(static_cast<size_t>(m_numLayers), false);
    const int sourceHeads = sourceKvHeads();
    const int wanted = static_cast<int>(kDefaultBudgetFraction * sourceHeads + 0.5);
    // Fresh constraints allow 2 * layers .. all heads, one at a time.
    state.budgetHeads = std::clamp(wanted, 2 * m_numLayers, sourceHeads);
    return state;
}

PlanConstraints PlanEditor::constraintsOf(const State& state) const {
    PlanConstraints constraints;
    constraints.minHeads = state.minHeads;
    constraints.maxHeads = state.maxHeads;
    constraints.tieKeyValue = state.tieKeyValue;
    for (int layer = 0; layer < static_cast<int>(state.locked.size()); ++layer) {
        const size_t i = static_cast<size_t>(layer);
        if (state.locked[i]) {
            constraints.lockedLayers.push_back(layer);
            continue;
        }
        if (state.fixedKey[i] > 0) constraints.fixed.push_back({layer, HeadKind::Key, state.fixedKey[i]});
        if (state.fixedValue[i] > 0)
            constraints.fixed.push_back({layer, HeadKind::Value, state.fixedValue[i]});
    }
    return constraints;
}

bool PlanEditor::apply(const State& next, const QString& context) {
    if (!m_report) return refuse(context + tr(": analyse the model first."));
    Plan plan;
    try {
        plan = planFromSimilarity(*m_report, Budget::ofHeads(next.budgetHeads), constraintsOf(next));
    } catch (const Exception& e) {
        QString message = context + QStringLiteral(": ") + engineMessage(e);
        if (feasibleOf(next).first == feasibleOf(next).last && fixedCellCount() > 0)
            message += tr(". Every count is pinned: clear pins so the planner can move the others.");
        else if (fixedCellCount() > 0)
            message += tr(". Pinned counts stay as they are: clear some pins to give the planner room.");
        return refuse(message);
    }
    m_state = next;
    m_loaded = false;
    m_loadedFile.clear();
    setPlan(std::move(plan));
    Q_EMIT planChanged();
    return true;
}

bool PlanEditor::refuse(const QString& message) {
    Q_EMIT editRefused(message);
    return false;
}

bool PlanEditor::checkEditable(const QString& context) {
    if (!hasSource()) return refuse(context + tr(": no model is loaded."));
    if (!m_report)
        return refuse(context +
                      tr(": the model has not been analysed yet (run the head similarity analysis first)."));
    return true;
}

bool PlanEditor::checkLayer(int layer, const QString& context) {
    if (!hasSource()) return refuse(context + tr(": no model is loaded."));
    if (layer < 0 || layer >= m_numLayers) {
        return refuse(context + tr(": the model has layers 0 to %1.").arg(m_numLayers - 1));
    }
    return true;
}

void PlanEditor::setPlan(Plan plan) {
    m_plan = std::move(plan);
    m_accounting = kvAccounting(m_plan, m_headDim, kKvBytesPerElement);
    // The largest uniform GQA whose K+V heads (2 * g * layers) fit in the plan's.
    m_gqaGroups = 0;
    for (int groups = m_numHeads; groups >= 1; --groups) {
        if (m_numHeads % groups == 0 && 2 * groups * m_numLayers <= m_plan.keptHeads()) {
            m_gqaGroups = groups;
            break;
        }
    }
    if (m_gqaGroups > 0) {
        m_gqaPlan = adjacentGqaPlan(m_numLayers, m_numHeads, m_gqaGroups);
        m_gqaAccounting = kvAccounting(m_gqaPlan, m_headDim, kKvBytesPerElement);
    } else {
        m_gqaPlan = Plan{};
        m_gqaAccounting = KvAccounting{};
    }
}

void PlanEditor::resetPlan() {
    m_plan = Plan{};
    m_accounting = KvAccounting{};
    m_loaded = false;
    m_gqaGroups = 0;
    m_gqaPlan = Plan{};
    m_gqaAccounting = KvAccounting{};
}

}  // namespace dha::ui
