// Plans as values (P7): validation messages, Plan JSON, canonical form, layouts, budgets and KV accounting,
// the last checked against the KV cache a model built from the plan really allocates.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/budget.h"
#include "dha/error.h"
#include "dha/plan.h"
#include "model/kv_cache.h"
#include "planning_fixtures.h"
#include "test_models.h"
#include "test_registry.h"
#include "tiny_model_weights.h"

using namespace dha;
using dha::test::errorOf;

namespace {

// A plan file of H heads and the given layer objects; the budget object is computed from the groups unless
// `budget` is given (then it is inserted as written).
std::string planFile(int heads, const std::vector<std::string>& layers, const std::string& budget = {}) {
    std::string text =
        R"({"format_version": 1, "source_heads": )" + std::to_string(heads) + R"(, "layers": [)";
    int kept = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        text += (i > 0 ? ", " : "") + layers[i];
        const nlohmann::json layer = nlohmann::json::parse(layers[i]);
        for (const char* key : {"key_groups", "value_groups"}) {
            if (layer.is_object() && layer.contains(key) && layer[key].is_array()) {
                kept += static_cast<int>(layer[key].size());
            }
        }
    }
    const int source = 2 * heads * static_cast<int>(layers.size());
    const double fraction = source > 0 ? static_cast<double>(kept) / source : 0.0;
    const std::string computed = R"({"kept_heads": )" + std::to_string(kept) + R"(, "fraction": )" +
                                 nlohmann::json(fraction).dump() + "}";
    return text + R"(], "budget": )" + (budget.empty() ? computed : budget) + "}";
}

std::string layerJson(const std::string& keyGroups, const std::string& valueGroups) {
    return R"({"key_groups": )" + keyGroups + R"(, "value_groups": )" + valueGroups + "}";
}

const std::string kMha8 = "[[0], [1], [2], [3], [4], [5], [6], [7]]";
const std::string kPairs8 = "[[0, 4], [1, 5], [2, 6], [3, 7]]";

// A random partition of {0..heads-1} into at most maxGroups groups, groups and their heads shuffled (so not
// canonical).
HeadGroups randomGroups(int heads, int maxGroups, std::mt19937& rng) {
    std::uniform_int_distribution<int> label(0, maxGroups - 1);
    std::vector<std::vector<int>> byLabel(static_cast<size_t>(maxGroups));
    for (int head = 0; head < heads; ++head) byLabel[static_cast<size_t>(label(rng))].push_back(head);
    HeadGroups groups;
    for (auto& group : byLabel) {
        if (group.empty()) continue;
        std::shuffle(group.begin(), group.end(), rng);
        groups.push_back(group);
    }
    std::shuffle(groups.begin(), groups.end(), rng);
    return groups;
}

Plan randomPlan(int heads, int layers, std::mt19937& rng) {
    Plan plan;
    plan.sourceHeads = heads;
    std::uniform_int_distribution<int> groupCount(1, heads);
    for (int layer = 0; layer < layers; ++layer) {
        plan.layers.push_back(
            {randomGroups(heads, groupCount(rng), rng), randomGroups(heads, groupCount(rng), rng)});
    }
    return plan;
}

bool isCanonical(const HeadGroups& groups) {
    for (size_t g = 0; g < groups.size(); ++g) {
        if (!std::is_sorted(groups[g].begin(), groups[g].end())) return false;
        if (g > 0 && groups[g - 1].front() >= groups[g].front()) return false;
    }
    return true;
}

// 2 layers of 4 heads: layer 0 keeps 2 key and 3 value heads, layer 1 keeps 1 and 2.
Plan handPlan() {
    Plan plan;
    plan.sourceHeads = 4;
    plan.layers.push_back({{{0, 2}, {1, 3}}, {{0}, {1, 2}, {3}}});
    plan.layers.push_back({{{0, 1, 2, 3}}, {{0, 3}, {1, 2}}});
    return plan;
}

}  // namespace

class PlanningTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rejectsMalformedPlans_data();
    void rejectsMalformedPlans();
    void validatesInMemoryPlans();
    void loadAndSaveNameTheFile();
    void jsonRoundTrip();
    void writesCanonicalText();
    void canonicalisation();
    void layoutRoundTrip();
    void budgetParse_data();
    void budgetParse();
    void budgetResolve();
    void kvAccountingByHand();
    void kvAccountingMatchesKvCache_data();
    void kvAccountingMatchesKvCache();
};

void PlanningTest::rejectsMalformedPlans_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<int>("modelLayers");  // > 0: parse, then validate against a model of this shape
    QTest::addColumn<int>("modelHeads");
    QTest::addColumn<QString>("fragment");
    const auto row = [](const char* name, const std::string& json, const char* fragment, int layers = 0,
                        int heads = 0) {
        QTest::newRow(name) << QString::fromStdString(json) << layers << heads << fragment;
    };
    const std::string mha = layerJson(kMha8, kMha8);
    std::vector<std::string> fourLayers(3, mha);
    fourLayers.push_back(layerJson("[[0, 5], [1, 2, 3, 4, 5, 6, 7]]", kMha8));
    row("head twice", planFile(8, fourLayers),
        "layer 3 key_groups: head 5 appears twice (in groups 0 and 1)");
    row("head twice in one group", planFile(8, {layerJson("[[1, 1, 0], [2, 3, 4, 5, 6, 7]]", kMha8)}),
        "layer 0 key_groups: head 1 appears twice (both in group 0)");
    row("heads missing", planFile(8, {layerJson(kMha8, "[[0, 1, 2], [3, 4, 5]]")}),
        "layer 0 value_groups: heads 6, 7 missing");
    row("one head missing", planFile(8, {mha, layerJson("[[0, 1, 2, 3, 4, 5, 6]]", kMha8)}),
        "layer 1 key_groups: head 7 missing");
    row("empty group", planFile(8, {layerJson("[[0, 1, 2, 3], [], [4, 5, 6, 7]]", kMha8)}),
        "layer 0 key_groups: group 1 is empty");
    row("no groups", planFile(8, {layerJson("[]", kMha8)}), "layer 0 key_groups: no groups");
    row("negative head", planFile(8, {layerJson(kMha8, "[[-1, 0, 1, 2, 3, 4, 5, 6]]")}),
        "layer 0 value_groups: head -1 in group 0 is negative");
    row("head out of range", planFile(8, {layerJson("[[0, 1, 2, 3], [4, 5, 6, 7, 8]]", kMha8)}),
        "layer 0 key_groups: head 8 in group 1 is out of range (source_heads 8: heads 0..7)");
    row("head beyond int", planFile(8, {layerJson("[[5000000000, 0, 1, 2, 3, 4, 5, 6]]", kMha8)}),
        "layer 0 key_groups: head 5000000000 in group 0 is out of range");
    row("more groups than heads",
        planFile(8, {layerJson(kMha8, "[[0], [1], [2], [3], [4], [5], [6], [7], [0]]")}),
        "layer 0 value_groups has 9 groups, more than the 8 heads");
    row("group larger than the heads", planFile(4, {layerJson("[[0, 1, 2, 3, 0]]", "[[0, 1, 2, 3]]")}),
        "layer 0 key_groups: group 0 has 5 heads, more than the 4 there are");
    row("head is a string", planFile(8, {layerJson(R"([["0"], [1, 2, 3, 4, 5, 6, 7]])", kMha8)}),
        "layer 0 key_groups[0][0] is a string");
    row("head is a float", planFile(8, {layerJson("[[0.0], [1, 2, 3, 4, 5, 6, 7]]", kMha8)}),
        "layer 0 key_groups[0][0] is a number");
    row("groups not an array", planFile(8, {layerJson("5", kMha8)}), "layer 0 key_groups is an integer");
    row("group not an array", planFile(8, {layerJson(kMha8, "[[0, 1, 2, 3, 4, 5, 6], 7]")}),
        "layer 0 value_groups[1] is an integer");
    row("missing value groups", planFile(8, {R"({"key_groups": )" + kMha8 + "}"}),
        "layer 0 has no 'value_groups'");
    row("unknown layer key",
        planFile(8, {R"({"key_groups": )" + kMha8 + R"(, "value_groups": )" + kMha8 + R"(, "keys": 8})"}),
        "layer 0 has an unknown key 'keys'");
    row("layer not an object", planFile(8, {"[1, 2]"}), "layers[0] is an array ([1,2]), expected an object");
    row("no layers", planFile(8, {}), "plan has no layers");
    row("source heads zero", planFile(0, {layerJson("[[0]]", "[[0]]")}),
        "source_heads is 0, expected 1..4096");
    row("source heads huge", planFile(5000, {layerJson("[[0]]", "[[0]]")}),
        "source_heads is 5000, expected 1..4096");
    row("source heads a string", R"({"format_version": 1, "source_heads": "8", "layers": [], "budget": {}})",
        "source_heads is a string");
    row("format version 2", R"({"format_version": 2, "source_heads": 8, "layers": [], "budget": {}})",
        "format_version is 2, this build reads version 1 plans");
    row("format version missing", R"({"source_heads": 8, "layers": [], "budget": {}})",
        "the plan has no 'format_version'");
    row("unknown top-level key", R"({"format_version": 1, "comment": "x", "source_heads": 8})",
        "the plan has an unknown key 'comment'");
    row("not an object", "[1, 2, 3]", "the plan is an array ([1,2,3]), expected an object");
    row("syntax error", R"({"format_version": 1,)", "plan file is not valid JSON");
    row("duplicate key", R"({"format_version": 1, "format_version": 1})",
        "has the key 'format_version' twice");
    row("budget missing",
        R"({"format_version": 1, "source_heads": 1, "layers": [)" + layerJson("[[0]]", "[[0]]") + "]}",
        "the plan has no 'budget'");
    row("budget kept heads wrong",
        planFile(8, {layerJson(kPairs8, kMha8)}, R"({"kept_heads": 16, "fraction": 0.75})"),
        "budget.kept_heads is 16 but the groups keep 12 of 16 K+V heads");
    row("budget fraction wrong",
        planFile(8, {layerJson(kPairs8, kMha8)}, R"({"kept_heads": 12, "fraction": 0.7})"),
        "budget.fraction is 0.7 but the groups keep 12 of 16 K+V heads (0.75)");
    row("budget kept heads negative", planFile(8, {mha}, R"({"kept_heads": -1, "fraction": 1})"),
        "budget.kept_heads is -1, expected 0..");
    row("budget without fraction", planFile(8, {mha}, R"({"kept_heads": 16})"), "budget has no 'fraction'");
    row("budget unknown key", planFile(8, {mha}, R"({"kept_heads": 16, "fraction": 1, "heads": 2})"),
        "budget has an unknown key 'heads'");
    // Valid files that do not fit the model they are applied to.
    row("fewer layers than the model", planFile(8, std::vector<std::string>(5, mha)),
        "plan has 5 layers, the model has 6", 6, 8);
    row("other head count than the model", planFile(8, {mha, mha}),
        "source_heads 8 but the model has 12 query heads", 2, 12);
}

void PlanningTest::rejectsMalformedPlans() {
    QFETCH(QString, json);
    QFETCH(int, modelLayers);
    QFETCH(int, modelHeads);
    QFETCH(QString, fragment);
    ErrorCode code = ErrorCode::Internal;
    const std::string message = errorOf(
        [&] {
            const Plan plan = parsePlan(json.toStdString(), "plans/p.json");
            if (modelLayers > 0) validatePlan(plan, modelLayers, modelHeads, "plans/p.json");
        },
        &code);
    QVERIFY2(message.rfind("plans/p.json: ", 0) == 0, message.c_str());
    QVERIFY2(message.find(fragment.toStdString()) != std::string::npos, message.c_str());
    QCOMPARE(code, ErrorCode::InvalidInput);
}

void PlanningTest::validatesInMemoryPlans() {
    // The same checks guard plans built in memory (the GUI edits them) and what derives from them.
    Plan plan = handPlan();
    validatePlan(plan, 2, 4, "edited plan");
    plan.layers[1].valueGroups = {{0, 3}, {1}};
    QCOMPARE(errorOf([&] { validatePlan(plan, 2, 4, "edited plan"); }),
             std::string("edited plan: layer 1 value_groups: head 2 missing (in no group)"));
    QCOMPARE(errorOf([&] { plan.layouts(); }),
             std::string("plan: layer 1 value_groups: head 2 missing (in no group)"));
    QCOMPARE(errorOf([&] { plan.layers[1].layout(4); }),
             std::string("plan: value_groups: head 2 missing (in no group)"));
    QVERIFY(errorOf([&] { kvAccounting(plan, 8, 2); }).find("layer 1 value_groups") != std::string::npos);
    QVERIFY(errorOf([&] { serializePlan(plan); }).find("layer 1 value_groups") != std::string::npos);
    plan.layers[1].valueGroups = {{0, 3}, {1, 2}};
    plan.sourceHeads = 0;
    QCOMPARE(errorOf([&] { validatePlan(plan, 0, 0, "p"); }),
             std::string("p: source_heads is 0, expected 1..4096"));
    plan.sourceHeads = 4;
    plan.layers.clear();
    QCOMPARE(errorOf([&] { validatePlan(plan, 0, 0, "p"); }), std::string("p: plan has no layers"));
    // Many missing heads: the message lists a few and the count, not all of them.
    Plan wide;
    wide.sourceHeads = 64;
    wide.layers.push_back({{{0}}, {{0}}});
    QVERIFY2(errorOf([&] {
                 validatePlan(wide, 0, 0, "p");
             }).find("heads 1, 2, 3, 4, 5, 6, 7, 8, ... (63 in all) missing") != std::string::npos,
             errorOf([&] { validatePlan(wide, 0, 0, "p"); }).c_str());
}

void PlanningTest::loadAndSaveNameTheFile() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path missing = QDir(dir.path()).filePath("missing.json").toStdString();
    ErrorCode code = ErrorCode::Internal;
    QCOMPARE(errorOf([&] { loadPlan(missing); }, &code), missing.string() + ": file does not exist");
    QCOMPARE(code, ErrorCode::InvalidInput);

    const std::filesystem::path bad = QDir(dir.path()).filePath("bad.json").toStdString();
    QFile file(QString::fromStdString(bad.string()));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(planFile(4, {layerJson("[[0, 1], [1, 2, 3]]", "[[0, 1, 2, 3]]")}).c_str());
    file.close();
    QCOMPARE(errorOf([&] { loadPlan(bad); }),
             bad.string() + ": layer 0 key_groups: head 1 appears twice (in groups 0 and 1)");

    // An invalid plan is never written: the error names the destination and no file appears.
    Plan invalid = handPlan();
    invalid.layers[0].keyGroups.push_back({});
    const std::filesystem::path target = QDir(dir.path()).filePath("plan.json").toStdString();
    QCOMPARE(errorOf([&] { savePlan(invalid, target); }),
             target.string() + ": layer 0 key_groups: group 2 is empty");
    QVERIFY(!std::filesystem::exists(target));
    savePlan(handPlan(), target);
    QCOMPARE(loadPlan(target), canonicalPlan(handPlan()));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 2);  // no temporary file left
}

void PlanningTest::jsonRoundTrip() {
    std::mt19937 rng(20240607);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path path = QDir(dir.path()).filePath("plan.json").toStdString();
    for (const int heads : {1, 3, 8, 12}) {
        for (const int layers : {1, 4}) {
            const Plan plan = randomPlan(heads, layers, rng);
            validatePlan(plan, layers, heads, "random plan");
            const std::string text = serializePlan(plan);
            const Plan parsed = parsePlan(text, "plan.json");
            QCOMPARE(parsed, canonicalPlan(plan));
            QCOMPARE(serializePlan(parsed), text);  // deterministic: a canonical plan reads back as written
            QCOMPARE(serializePlan(canonicalPlan(plan)), text);  // the text depends on the grouping only
            QCOMPARE(parsed.keptHeads(), plan.keptHeads());
            savePlan(plan, path);
            QCOMPARE(loadPlan(path), parsed);
        }
    }
}

void PlanningTest::writesCanonicalText() {
    Plan plan;
    plan.sourceHeads = 4;
    plan.layers.push_back({{{3, 1}, {2, 0}}, {{2}, {3, 0}, {1}}});
    plan.layers.push_back({{{3, 2, 1, 0}}, {{1, 2}, {3, 0}}});
    const std::string expected = R"({
  "format_version": 1,
  "source_heads": 4,
  "layers": [
    {"key_groups": [[0, 2], [1, 3]], "value_groups": [[0, 3], [1], [2]]},
    {"key_groups": [[0, 1, 2, 3]], "value_groups": [[0, 3], [1, 2]]}
  ],
  "budget": {"kept_heads": 8, "fraction": 0.5}
}
)";
    QCOMPARE(serializePlan(plan), expected);
    // A third of the heads: the fraction is written so that it reads back as the same double.
    Plan third;
    third.sourceHeads = 3;
    third.layers.push_back({{{0, 1, 2}}, {{0, 1}, {2}}});
    const std::string text = serializePlan(third);
    QVERIFY2(text.find(R"("budget": {"kept_heads": 3, "fraction": 0.5})") != std::string::npos, text.c_str());
    third.layers[0].valueGroups = {{0, 1, 2}};
    QVERIFY(serializePlan(third).find("0.3333333333333333") != std::string::npos);
    QCOMPARE(parsePlan(serializePlan(third), "p").keptFraction(), 1.0 / 3.0);
}

void PlanningTest::canonicalisation() {
    Plan a;
    a.sourceHeads = 6;
    a.layers.push_back({{{5, 3}, {4, 0, 2}, {1}}, {{1, 0}, {5, 4, 3, 2}}});
    Plan b;
    b.sourceHeads = 6;
    b.layers.push_back({{{1}, {2, 4, 0}, {3, 5}}, {{2, 3, 4, 5}, {0, 1}}});
    QVERIFY(a != b);
    QCOMPARE(canonicalPlan(a), canonicalPlan(b));
    const Plan canonical = canonicalPlan(a);
    QCOMPARE(canonical.layers[0].keyGroups, (HeadGroups{{0, 2, 4}, {1}, {3, 5}}));
    QCOMPARE(canonical.layers[0].valueGroups, (HeadGroups{{0, 1}, {2, 3, 4, 5}}));
    QCOMPARE(canonicalPlan(canonical), canonical);
    // A different grouping stays different.
    Plan c = b;
    c.layers[0].keyGroups = {{1, 2}, {4, 0}, {3, 5}};
    QVERIFY(canonicalPlan(c) != canonical);
    std::mt19937 rng(7);
    for (int trial = 0; trial < 20; ++trial) {
        const Plan plan = canonicalPlan(randomPlan(9, 2, rng));
        for (const auto& layer : plan.layers)
            QVERIFY(isCanonical(layer.keyGroups) && isCanonical(layer.valueGroups));
    }
}

void PlanningTest::layoutRoundTrip() {
    std::vector<HeadLayout> layouts = test::exampleDhaLayouts(8, 3);
    layouts.push_back(HeadLayout::gqa(8, 2));
    layouts.push_back(HeadLayout::mha(8));
    for (const HeadLayout& layout : layouts) {
        const LayerPlan layer = LayerPlan::fromLayout(layout);
        QCOMPARE(layer.numKeyHeads(), layout.numKeyHeads);
        QCOMPARE(layer.numValueHeads(), layout.numValueHeads);
        QCOMPARE(layer.layout(8), layout);
    }
    // Group g is head g, in both directions.
    const Plan plan = handPlan();
    const std::vector<HeadLayout> planLayouts = plan.layouts();
    QCOMPARE(planLayouts.size(), size_t(2));
    QCOMPARE(planLayouts[0].keyHeadOfQuery, (std::vector<int>{0, 1, 0, 1}));
    QCOMPARE(planLayouts[0].valueHeadOfQuery, (std::vector<int>{0, 1, 1, 2}));
    QCOMPARE(planLayouts[1].numKeyHeads, 1);
    QCOMPARE(planLayouts[1].valueHeadOfQuery, (std::vector<int>{0, 1, 1, 0}));
    for (size_t l = 0; l < plan.layers.size(); ++l)
        QCOMPARE(LayerPlan::fromLayout(planLayouts[l]), plan.layers[l]);
    LayerPlan reordered{{{1, 3}, {0, 2}}, {{3}, {0, 1, 2}}};
    QCOMPARE(reordered.layout(4).keyHeadOfQuery, (std::vector<int>{1, 0, 1, 0}));
    QCOMPARE(LayerPlan::fromLayout(reordered.layout(4)), reordered);
    // A broken layout is refused, not indexed.
    HeadLayout broken = HeadLayout::mha(4);
    broken.keyHeadOfQuery[2] = 9;
    ErrorCode code = ErrorCode::Internal;
    QVERIFY(errorOf([&] { LayerPlan::fromLayout(broken); }, &code).find("query head 2 maps to key head 9") !=
            std::string::npos);
    QCOMPARE(code, ErrorCode::InvalidInput);
}

void PlanningTest::budgetParse_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("heads");         // expected head count, 0 when a fraction or an error
    QTest::addColumn<double>("fraction");   // expected fraction, 0 when heads or an error
    QTest::addColumn<QString>("fragment");  // expected error fragment, empty when valid
    QTest::newRow("fraction") << "0.25" << 0 << 0.25 << "";
    QTest::newRow("percent") << "25%" << 0 << 0.25 << "";
    QTest::newRow("leading point") << ".25" << 0 << 0.25 << "";
    QTest::newRow("trailing point") << "1." << 0 << 1.0 << "";
    QTest::newRow("spaces and decimals") << " 12.5% " << 0 << 0.125 << "";
    QTest::newRow("all") << "100%" << 0 << 1.0 << "";
    QTest::newRow("one as fraction") << "1.0" << 0 << 1.0 << "";
    QTest::newRow("heads") << "96" << 96 << 0.0 << "";
    QTest::newRow("one head") << "1" << 1 << 0.0 << "";
    QTest::newRow("zero") << "0" << 0 << 0.0 << "--budget: a budget of '0' heads keeps no heads";
    QTest::newRow("zero fraction") << "0.0" << 0 << 0.0 << "a budget of '0.0' keeps no heads";
    QTest::newRow("zero percent") << "0%" << 0 << 0.0 << "a budget of '0%' keeps no heads";
    QTest::newRow("negative") << "-1" << 0 << 0.0 << "budget '-1' is negative";
    QTest::newRow("fraction above one") << "1.5" << 0 << 0.0 << "budget '1.5' is a fraction above 1";
    QTest::newRow("word") << "abc" << 0 << 0.0 << "'abc' is not a budget";
    QTest::newRow("percent above 100")
        << "150%" << 0 << 0.0 << "budget '150%' is more than 100% of the heads";
    QTest::newRow("empty") << "  " << 0 << 0.0 << "the budget is empty";
    QTest::newRow("exponent") << "1e3" << 0 << 0.0 << "'1e3' is not a budget";
    QTest::newRow("two points") << "0.2.5" << 0 << 0.0 << "'0.2.5' is not a budget";
    QTest::newRow("bare percent") << "%" << 0 << 0.0 << "'%' is not a budget";
    QTest::newRow("too many heads") << "12345678901" << 0 << 0.0 << "is more heads than any model has";
}

void PlanningTest::budgetParse() {
    QFETCH(QString, text);
    QFETCH(int, heads);
    QFETCH(double, fraction);
    QFETCH(QString, fragment);
    if (!fragment.isEmpty()) {
        ErrorCode code = ErrorCode::Internal;
        const std::string message = errorOf([&] { Budget::parse(text.toStdString(), "--budget"); }, &code);
        QVERIFY2(
            message.rfind("--budget: ", 0) == 0 && message.find(fragment.toStdString()) != std::string::npos,
            message.c_str());
        QCOMPARE(code, ErrorCode::InvalidInput);
        return;
    }
    const Budget budget = Budget::parse(text.toStdString(), "--budget");
    QCOMPARE(budget.heads.has_value(), heads > 0);
    QCOMPARE(budget.fraction.has_value(), heads == 0);
    if (heads > 0) QCOMPARE(*budget.heads, heads);
    if (heads == 0) QCOMPARE(*budget.fraction, fraction);
}

void PlanningTest::budgetResolve() {
    QCOMPARE(Budget::ofHeads(96).resolve(384), 96);
    QCOMPARE(Budget::ofHeads(500).resolve(384), 500);  // the planner reports what is feasible
    QCOMPARE(Budget::ofFraction(0.25).resolve(96), 24);
    QCOMPARE(Budget::ofFraction(0.3).resolve(10), 3);
    QCOMPARE(Budget::ofFraction(0.24).resolve(10), 2);
    QCOMPARE(Budget::ofFraction(0.26).resolve(10), 3);
    QCOMPARE(Budget::ofFraction(0.35).resolve(10), 4);   // 3.5: ties go up, despite 0.35 * 10 < 3.5 in binary
    QCOMPARE(Budget::ofFraction(0.125).resolve(4), 1);   // 0.5 -> 1
    QCOMPARE(Budget::ofFraction(0.001).resolve(10), 0);  // not clamped: the planner's range error says why
    QCOMPARE(Budget::ofFraction(1.0).resolve(384), 384);
    QCOMPARE(Budget::parse(".25", "b").resolve(512), 128);
    for (const double bad : {0.0, -0.5, 1.5, std::nan("")}) {
        ErrorCode code = ErrorCode::Internal;
        QVERIFY2(errorOf([&] { Budget::ofFraction(bad).resolve(10); }, &code).find("is outside (0, 1]") !=
                     std::string::npos,
                 std::to_string(bad).c_str());
        QCOMPARE(code, ErrorCode::InvalidInput);
    }
    QVERIFY(errorOf([] { Budget::ofHeads(0).resolve(10); }).find("keeps no heads") != std::string::npos);
    QVERIFY(errorOf([] { Budget{}.resolve(10); }).find("no budget given") != std::string::npos);
    QVERIFY(errorOf([] { Budget{4, 0.5}.resolve(10); }).find("not both") != std::string::npos);
    QCOMPARE(Budget::ofFraction(0.25).describe(), std::string("25%"));
    QCOMPARE(Budget::ofFraction(0.125).describe(), std::string("12.5%"));
    QCOMPARE(Budget::ofHeads(96).describe(), std::string("96 heads"));
    QCOMPARE(Budget::ofHeads(1).describe(), std::string("1 head"));
    QCOMPARE(Budget::parse("33.3%", "b").describe(), std::string("33.3%"));
}

void PlanningTest::kvAccountingByHand() {
    // Layer 0: 2 key + 3 value heads, layer 1: 1 + 2; head width 8, 2 bytes per element.
    const KvAccounting kv = kvAccounting(handPlan(), 8, 2);
    QCOMPARE(kv.bytesPerElement, 2);
    QCOMPARE(kv.layers.size(), size_t(2));
    QCOMPARE(kv.layers[0].layer, 0);
    QCOMPARE(kv.layers[0].keyHeads, 2);
    QCOMPARE(kv.layers[0].valueHeads, 3);
    QCOMPARE(kv.layers[0].bytesPerToken, int64_t(8 * 5 * 2));
    QCOMPARE(kv.layers[0].sourceBytesPerToken, int64_t(8 * 8 * 2));
    QCOMPARE(kv.layers[1].layer, 1);
    QCOMPARE(kv.layers[1].bytesPerToken, int64_t(8 * 3 * 2));
    QCOMPARE(kv.bytesPerToken, int64_t(80 + 48));
    QCOMPARE(kv.sourceBytesPerToken, int64_t(256));
    QCOMPARE(kv.savedFraction(), 0.5);
    const KvAccounting fp32 = kvAccounting(handPlan(), 8, 4);
    QCOMPARE(fp32.bytesPerToken, int64_t(256));
    QCOMPARE(fp32.sourceBytesPerToken, int64_t(512));
    // A 7B-shaped MHA plan kept whole saves nothing, and 4096-wide sums do not overflow.
    const KvAccounting big = kvAccounting(adjacentGqaPlan(32, 32, 32), 128, 2);
    QCOMPARE(big.bytesPerToken, int64_t(32) * 2 * 32 * 128 * 2);
    QCOMPARE(big.savedFraction(), 0.0);
    QVERIFY(errorOf([] { kvAccounting(handPlan(), 0, 2); }).find("head dimension 0") != std::string::npos);
    QVERIFY(errorOf([] { kvAccounting(handPlan(), 8, 3); }).find("element size 3 bytes") !=
            std::string::npos);
}

void PlanningTest::kvAccountingMatchesKvCache_data() {
    QTest::addColumn<int>("planKind");  // 0 hand-made DHA, 1 adjacent GQA, 2 random DHA
    QTest::addColumn<bool>("bf16");
    QTest::newRow("dha fp32") << 0 << false;
    QTest::newRow("dha bf16") << 0 << true;
    QTest::newRow("gqa fp32") << 1 << false;
    QTest::newRow("random bf16") << 2 << true;
}

void PlanningTest::kvAccountingMatchesKvCache() {
    QFETCH(int, planKind);
    QFETCH(bool, bf16);
    // Plans over 3 layers of 4 query heads of width 8 (the tiny test model's shape).
    Plan plan;
    if (planKind == 0) {
        plan = handPlan();
        plan.layers.push_back({{{0}, {1}, {2}, {3}}, {{0, 1, 2, 3}}});
    } else if (planKind == 1) {
        plan = adjacentGqaPlan(3, 4, 2);
    } else {
        std::mt19937 rng(11);
        plan = randomPlan(4, 3, rng);
    }
    const at::ScalarType dtype = bf16 ? at::kBFloat16 : at::kFloat;
    const int bytesPerElement = bf16 ? 2 : 4;
    test::TinyModelShape shape;
    shape.numLayers = 3;
    const ModelConfig config = test::withLayouts(test::tinyConfig(shape), plan.layouts());
    const KvAccounting kv = kvAccounting(plan, shape.headDim, bytesPerElement);
    QCOMPARE(kvBytesPerToken(config, bytesPerElement), kv.bytesPerToken);
    QCOMPARE(model::kvCacheBytesPerToken(config, dtype), kv.bytesPerToken);
    QCOMPARE(kv.sourceBytesPerToken, int64_t(3) * 2 * 4 * shape.headDim * bytesPerElement);

    // The cache a model of this plan really allocates, and keeps while it runs.
    const int64_t batch = 2;
    const int64_t maxLength = 7;
    model::KvCache cache(config, batch, maxLength, at::TensorOptions().dtype(dtype));
    QCOMPARE(cache.allocatedBytes(), kv.bytesPerToken * batch * maxLength);
    for (int layer = 0; layer < 3; ++layer) {
        QCOMPARE(cache.keys(layer).size(1), int64_t(kv.layers[static_cast<size_t>(layer)].keyHeads));
        QCOMPARE(cache.values(layer).size(1), int64_t(kv.layers[static_cast<size_t>(layer)].valueHeads));
    }
    const model::Transformer transformer = test::makeTinyModel(config, 5);
    at::NoGradGuard noGrad;
    const at::Tensor tokens = at::arange(10, at::kLong).remainder(shape.vocabSize).reshape({batch, 5});
    const at::Tensor logits = transformer->forward(tokens, &cache);
    QCOMPARE(logits.size(2), int64_t(shape.vocabSize));
    QVERIFY(logits.isfinite().all().item<bool>());
    QCOMPARE(cache.length(), int64_t(5));
    QCOMPARE(cache.allocatedBytes(), kv.bytesPerToken * batch * maxLength);
}

DHA_TEST_SUITE(PlanningTest)
#include "planning_test.moc"
