// The search stage (dha-method.md 4.1): identity start, the pull term, the step, the learned similarity and
// the planner on it, and the checkpointed state, on a tiny random model with planted duplicate heads.
#include <QTemporaryDir>
#include <QTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conversion/dha_model_builder.h"
#include "dha/budget.h"
#include "dha/error.h"
#include "fusion_fixtures.h"
#include "io/safetensors.h"
#include "test_registry.h"
#include "tiny_model_weights.h"
#include "training/search_stage.h"

using namespace dha;
using training::SearchOptions;
using training::SearchStageState;
using training::SearchStepResult;

namespace {

constexpr int64_t kBatch = 4;
constexpr int64_t kContext = 16;
constexpr uint64_t kModelSeed = 31;
constexpr int kHeadDim = 4;  // test::fusionShape(): 2 layers of 8 heads of width 4

// The planted duplicates: key head 5 of layer 0 is key head 1, value head 6 of layer 1 is value head 2.
struct Planted {
    int layer;
    HeadKind kind;
    int head;
    int copy;
};
const Planted kPlanted[] = {{0, HeadKind::Key, 1, 5}, {1, HeadKind::Value, 2, 6}};

class TokenBatches {
public:
    TokenBatches(int vocabSize, uint64_t seed)
        : m_vocabSize(vocabSize), m_generator(at::make_generator<at::CPUGeneratorImpl>(seed)) {}
    at::Tensor next() { return at::randint(m_vocabSize, {kBatch, kContext + 1}, m_generator, at::kLong); }

private:
    int m_vocabSize;
    at::Generator m_generator;
};

// The fusion tests' source model with the planted heads copied in.
model::Transformer sourceModel() {
    model::Transformer model = test::makeTinyModel(test::fusionSourceConfig(), kModelSeed);
    at::NoGradGuard noGrad;
    for (const Planted& planted : kPlanted) {
        const auto& attention = model->layer(planted.layer)->selfAttn;
        const at::Tensor weight =
            (planted.kind == HeadKind::Key ? attention->kProj : attention->vProj)->weight();
        weight.narrow(0, planted.copy * kHeadDim, kHeadDim)
            .copy_(weight.narrow(0, planted.head * kHeadDim, kHeadDim));
    }
    return model;
}

double lmLossOf(const model::Transformer& model, const at::Tensor& batch) {
    at::NoGradGuard noGrad;
    const int64_t context = batch.size(1) - 1;
    const at::Tensor logits = model->forward(batch.narrow(1, 0, context));
    return at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                  batch.narrow(1, 1, context).reshape({-1}))
        .item<double>();
}

// lm + pullWeight * pull, evaluated afresh from the state's heads and Omegas.
double objective(const SearchStageState& state, const at::Tensor& batch, double pullWeight) {
    at::NoGradGuard noGrad;
    return lmLossOf(conversion::buildFusedModel(state.fusion()), batch) +
           pullWeight * state.pullLoss().item<double>();
}

at::Tensor parameterNamed(const model::Transformer& model, const std::string& name) {
    const auto parameters = model->named_parameters();
    const at::Tensor* found = parameters.find(name);
    return found != nullptr ? *found : at::Tensor();
}

std::filesystem::path pathOf(const QTemporaryDir& dir, const char* name) {
    return std::filesystem::path(dir.path().toStdString()) / name;
}

// A pull ten times the default, so it weighs in visibly over a few steps.
SearchOptions pullingOptions() {
    SearchOptions options;
    options.pullWeight = 0.1;
    return options;
}

// Runs `steps` steps of the planted model's search on batches from `seed`.
void runSearch(SearchStageState& state, const SearchOptions& options, int steps, uint64_t seed) {
    TokenBatches batches(state.headsModel()->config().vocabSize, seed);
    for (int step = 0; step < steps; ++step) training::searchStep(state, batches.next(), options);
}

bool closeTo(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); }

}  // namespace

class SearchStageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void identityIsTheSource_data();
    void identityIsTheSource();
    void pullAffinityWeights();
    void pullTermFallsAsRowsApproach();
    void stepsLowerTheObjective();
    void learnedSimilarityFindsPlantedHeads();
    void learnedSimilarityHasOneScale();
    void learnedSimilarityMixesCka();
    void plannerMeetsBudget_data();
    void plannerMeetsBudget();
    void stateRoundTripContinuesExactly_data();
    void stateRoundTripContinuesExactly();
    void loadRejectsBadState();
    void refusesBadInputs();

private:
    // The planted model after 30 search steps with the default options (batches from seed 7), shared by the
    // tests that read the learned similarity. Without the pull (pullWeight 0) the planted pairs come out at
    // ~0.27 against ~0.46 for the closest other pair; with the default 0.01 at ~0.77 against ~0.65.
    std::unique_ptr<SearchStageState> m_searched;
};

void SearchStageTest::initTestCase() {
    m_searched = std::make_unique<SearchStageState>(sourceModel(), SearchOptions{});
    runSearch(*m_searched, SearchOptions{}, 30, 7);
}

void SearchStageTest::identityIsTheSource_data() {
    QTest::addColumn<bool>("trainModel");
    QTest::newRow("frozen model") << false;
    QTest::newRow("trained model") << true;
}

// P8 for the search: identity Omega gives the source's projections and logits exactly, the pull reads 0,
// and the first step sees the source's loss. A frozen model stays the source; a trained one moves.
void SearchStageTest::identityIsTheSource() {
    QFETCH(bool, trainModel);
    const model::Transformer source = sourceModel();
    SearchOptions options = pullingOptions();
    if (trainModel) options.modelLearningRate = 1e-3;
    SearchStageState state(source, options);
    QCOMPARE(state.trainsModel(), trainModel);
    QCOMPARE(state.modelParameters().empty(), !trainModel);
    QCOMPARE(state.modelOptimizer() == nullptr, !trainModel);
    QCOMPARE(state.omegaParameters().size(), size_t{4});
    for (int layer = 0; layer < 2; ++layer) {
        const auto& fused = state.fusedModel()->layer(layer)->selfAttn;
        const auto& original = source->layer(layer)->selfAttn;
        QVERIFY(at::equal(fused->kProj->weight(), original->kProj->weight()));
        QVERIFY(at::equal(fused->vProj->weight(), original->vProj->weight()));
        QVERIFY(at::equal(state.omega(layer, HeadKind::Value), at::eye(8)));
    }
    const at::Tensor tokens = test::fixedTokens(source->config().vocabSize);
    QCOMPARE(
        test::maxAbsDifference(test::logitsOf(state.fusedModel(), tokens), test::logitsOf(source, tokens)),
        0.0);
    QCOMPARE(state.pullLoss().item<double>(), 0.0);

    const at::Tensor batch = TokenBatches(source->config().vocabSize, 3).next();
    const SearchStepResult result = training::searchStep(state, batch, options);
    QVERIFY2(std::abs(result.lmLoss - lmLossOf(source, batch)) <= 1e-6,
             std::to_string(result.lmLoss).c_str());
    QCOMPARE(result.pullLoss, 0.0);
    QVERIFY(std::isfinite(result.gradNorm) && result.gradNorm > 0);
    QCOMPARE(state.step(), int64_t{1});

    for (const auto& [name, omega] : state.omegaParameters())
        QVERIFY2(!at::equal(omega, at::eye(8)), name.c_str());
    const model::Transformer untouched = sourceModel();
    for (const auto& item : source->named_parameters())  // the caller's model never changes
        QVERIFY2(at::equal(item.value(), parameterNamed(untouched, item.key())), item.key().c_str());
    for (const auto& item : state.headsModel()->named_parameters()) {
        const bool moved = !at::equal(item.value(), parameterNamed(untouched, item.key()));
        const bool norm = item.key().find("norm") != std::string::npos;  // may get no gradient in one step
        if (!norm || !trainModel) QVERIFY2(moved == trainModel, item.key().c_str());
    }
    // The fused model holds the fresh Omega W and shares everything else with the heads model.
    const auto& attention = state.fusedModel()->layer(1)->selfAttn;
    QVERIFY(at::equal(attention->vProj->weight(), state.fusion().fusedProjection(1, HeadKind::Value).weight));
    QCOMPARE(attention->qProj->weight().data_ptr(),
             state.headsModel()->layer(1)->selfAttn->qProj->weight().data_ptr());
}

// A: clipped to [0, 1], zero diagonal, symmetric, summing to H; all zero when nothing is similar.
void SearchStageTest::pullAffinityWeights() {
    Matrix similarity(3, 3, 1.0f);
    similarity.at(0, 1) = 0.5f;
    similarity.at(1, 0) = 0.3f;                         // symmetrised to 0.4
    similarity.at(0, 2) = similarity.at(2, 0) = -0.6f;  // clipped to 0
    similarity.at(1, 2) = similarity.at(2, 1) = 1.2f;   // clipped to 1
    const at::Tensor a = training::pullAffinity(similarity);
    // Off-diagonal raw weights 0.4, 0.4, 1, 1 sum to 2.8; scaled to sum 3.
    const double scale = 3.0 / 2.8;
    const double expected[3][3] = {{0, 0.4 * scale, 0}, {0.4 * scale, 0, scale}, {0, scale, 0}};
    for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) QVERIFY(std::abs(a[j][k].item<double>() - expected[j][k]) <= 1e-6);
    }
    QVERIFY(std::abs(a.sum().item<double>() - 3.0) <= 1e-5);

    Matrix unrelated(4, 4, 0.0f);
    for (int j = 0; j < 4; ++j) unrelated.at(j, j) = 1.0f;
    unrelated.at(0, 3) = -0.2f;
    QVERIFY(at::equal(training::pullAffinity(unrelated), at::zeros({4, 4})));
}

// The pull: sum A (D - D0). 0 at the identity, equal to 4.1's sum A D minus the constant 2 sum A, and
// falling (towards its floor -2 sum A) under gradient descent as the weighted rows approach each other.
void SearchStageTest::pullTermFallsAsRowsApproach() {
    Matrix similarity(4, 4, 0.0f);
    for (int j = 0; j < 4; ++j) similarity.at(j, j) = 1.0f;
    similarity.at(0, 1) = similarity.at(1, 0) = 0.9f;
    similarity.at(2, 3) = similarity.at(3, 2) = 0.3f;
    const at::Tensor a = training::pullAffinity(similarity);
    QCOMPARE(training::pullTerm(at::eye(4), a).item<double>(), 0.0);

    const at::Tensor omega = (at::eye(4) + 0.1 * at::rand({4, 4})).set_requires_grad(true);
    const at::Tensor d = training::rowDistances(omega.detach());
    QVERIFY(at::equal(d, d.t()));
    QCOMPARE(d.diagonal().abs().sum().item<double>(), 0.0);
    const double direct = (a * d).sum().item<double>() - 2 * a.sum().item<double>();
    QVERIFY(std::abs(training::pullTerm(omega, a).item<double>() - direct) <= 1e-5);

    double previous = training::pullTerm(omega, a).item<double>();
    const double floor = -2 * a.sum().item<double>();
    for (int step = 0; step < 20; ++step) {
        if (omega.grad().defined()) omega.mutable_grad().zero_();
        training::pullTerm(omega, a).backward();
        {
            at::NoGradGuard noGrad;
            omega.sub_(0.05 * omega.grad());
        }
        const double value = training::pullTerm(omega, a).item<double>();
        QVERIFY2(value < previous && value >= floor - 1e-6, std::to_string(value).c_str());
        previous = value;
    }
    // The heavily weighted pair came closest.
    const at::Tensor after = training::rowDistances(omega.detach());
    QVERIFY(after[0][1].item<double>() < after[2][3].item<double>());
    QVERIFY(after[0][1].item<double>() < after[0][2].item<double>());
}

// A few steps on one fixed batch move Omega and lower lm + pullWeight * pull, measured afresh.
void SearchStageTest::stepsLowerTheObjective() {
    const model::Transformer source = sourceModel();
    const SearchOptions options = pullingOptions();
    SearchStageState state(source, options);
    const at::Tensor batch = TokenBatches(source->config().vocabSize, 5).next();
    const double before = objective(state, batch, options.pullWeight);
    double firstLoss = 0;
    for (int step = 0; step < 8; ++step) {
        const SearchStepResult result = training::searchStep(state, batch, options);
        if (step == 0) firstLoss = result.lmLoss + options.pullWeight * result.pullLoss;
    }
    QVERIFY(closeTo(firstLoss, before));
    const double after = objective(state, batch, options.pullWeight);
    QVERIFY2(after < before - 1e-3, (std::to_string(before) + " -> " + std::to_string(after)).c_str());
    QVERIFY(state.pullLoss().item<double>() < 0);
    for (const auto& [name, omega] : state.omegaParameters()) {
        const double moved = (omega.detach() - at::eye(8)).abs().max().item<double>();
        QVERIFY2(moved > 1e-2, name.c_str());
    }
}

// The report: unit diagonal, symmetric, in [0, 1], one Dref for the model; the planted duplicates are the
// most similar pair of their matrix.
void SearchStageTest::learnedSimilarityFindsPlantedHeads() {
    const SimilarityReport identity =
        training::learnedSimilarity(SearchStageState(sourceModel(), pullingOptions()));
    for (const LayerSimilarity& layer : identity.layers) {  // every slot equally far (D = 2 = Dref) at step 0
        for (int j = 0; j < 8; ++j) {
            for (int k = 0; k < 8; ++k) QCOMPARE(layer.key.at(j, k), j == k ? 1.0f : 0.0f);
        }
    }
    const SearchStageState& state = *m_searched;
    const SimilarityReport report = training::learnedSimilarity(state);
    QCOMPARE(report.layers.size(), size_t{2});
    double largestDistance = 0;
    for (const LayerSimilarity& layer : report.layers) {
        for (const Matrix* matrix : {&layer.key, &layer.value}) {
            QCOMPARE(matrix->rows, 8);
            for (int j = 0; j < 8; ++j) {
                QCOMPARE(matrix->at(j, j), 1.0f);
                for (int k = 0; k < 8; ++k) {
                    QCOMPARE(matrix->at(j, k), matrix->at(k, j));
                    QVERIFY(matrix->at(j, k) >= 0.0f && matrix->at(j, k) <= 1.0f);
                }
            }
        }
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const at::Tensor d =
                training::rowDistances(state.omega(layer.layer, kind).detach().to(at::kDouble));
            largestDistance = std::max(largestDistance, d.max().item<double>());
        }
    }
    // s = 1 - D / Dref with Dref = max(2, largest D): check one entry against the Omegas themselves.
    const double reference = std::max(2.0, largestDistance);
    const at::Tensor d = training::rowDistances(state.omega(1, HeadKind::Key).detach().to(at::kDouble));
    QVERIFY(std::abs(report.layers[1].key.at(3, 4) - (1 - d[3][4].item<double>() / reference)) <= 1e-6);

    for (const Planted& planted : kPlanted) {
        const LayerSimilarity& layer = report.layers[static_cast<size_t>(planted.layer)];
        const Matrix& matrix = planted.kind == HeadKind::Key ? layer.key : layer.value;
        const float pair = matrix.at(planted.head, planted.copy);
        QVERIFY2(pair > 0.0f, std::to_string(pair).c_str());
        for (int j = 0; j < 8; ++j) {
            for (int k = j + 1; k < 8; ++k) {
                if (j == std::min(planted.head, planted.copy) && k == std::max(planted.head, planted.copy))
                    continue;
                const std::string message = "planted (" + std::to_string(planted.head) + ", " +
                                            std::to_string(planted.copy) + ") " + std::to_string(pair) +
                                            " vs (" + std::to_string(j) + ", " + std::to_string(k) + ") " +
                                            std::to_string(matrix.at(j, k));
                QVERIFY2(matrix.at(j, k) < pair, message.c_str());
            }
        }
    }
}

// One Dref for the whole model: a matrix whose rows moved far apart sets the scale of every other matrix, so
// the identity's distance 2 reads 1 - 2 / 10 everywhere else, and the planner's queue compares like with
// like.
void SearchStageTest::learnedSimilarityHasOneScale() {
    SearchStageState state(sourceModel(), SearchOptions{});
    {
        at::NoGradGuard noGrad;
        state.omega(1, HeadKind::Value)[0][0].fill_(3.0f);  // D(0, k) = 3^2 + 1 = 10
    }
    const SimilarityReport report = training::learnedSimilarity(state);
    for (const LayerSimilarity& layer : report.layers) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const Matrix& matrix = kind == HeadKind::Key ? layer.key : layer.value;
            const bool moved = layer.layer == 1 && kind == HeadKind::Value;
            for (int j = 0; j < 8; ++j) {
                for (int k = 0; k < 8; ++k) {
                    const double expected = j == k ? 1.0 : moved && (j == 0 || k == 0) ? 0.0 : 0.8;
                    QVERIFY(std::abs(matrix.at(j, k) - expected) <= 1e-6);
                }
            }
        }
    }
}

// s = (1 - mix) s_learned + mix clip(cka, 0, 1): mix 1 is the clipped CKA, mix 0.5 the average.
void SearchStageTest::learnedSimilarityMixesCka() {
    const model::Transformer source = sourceModel();
    const SearchOptions options = pullingOptions();
    SearchStageState state(source, options);
    runSearch(state, options, 5, 9);
    SimilarityReport cka;
    cka.modelFingerprint = "fingerprint";
    for (int layer = 0; layer < 2; ++layer) {
        LayerSimilarity entry;
        entry.layer = layer;
        entry.key = entry.value = Matrix(8, 8, 0.0f);
        for (int j = 0; j < 8; ++j) {
            for (int k = 0; k < 8; ++k)
                entry.key.at(j, k) = entry.value.at(j, k) = j == k ? 1.0f : 0.1f * ((j + k) % 5) - 0.1f;
        }
        cka.layers.push_back(entry);
    }
    const SimilarityReport learned = training::learnedSimilarity(state);
    const SimilarityReport pure = training::learnedSimilarity(state, &cka, 1.0);
    const SimilarityReport half = training::learnedSimilarity(state, &cka, 0.5);
    QCOMPARE(pure.modelFingerprint, std::string("fingerprint"));
    for (int layer = 0; layer < 2; ++layer) {
        for (int j = 0; j < 8; ++j) {
            for (int k = 0; k < 8; ++k) {
                const double c = j == k ? 1.0 : std::max(0.0, 0.1 * ((j + k) % 5) - 0.1);
                QVERIFY(std::abs(pure.layers[layer].value.at(j, k) - c) <= 1e-6);
                const double mixed = 0.5 * learned.layers[layer].value.at(j, k) + 0.5 * c;
                QVERIFY(std::abs(half.layers[layer].value.at(j, k) - mixed) <= 1e-6);
            }
        }
    }
}

void SearchStageTest::plannerMeetsBudget_data() {
    QTest::addColumn<int>("heads");
    QTest::newRow("one per (layer, K|V)") << 4;
    QTest::newRow("25%") << 8;
    QTest::newRow("odd") << 13;
    QTest::newRow("one merge") << 31;
    QTest::newRow("everything") << 32;
}

// The learned report drives the planner to exactly the budget; at a budget of one merge per planted pair
// the planner takes the planted pairs first.
void SearchStageTest::plannerMeetsBudget() {
    QFETCH(int, heads);
    const SimilarityReport report = training::learnedSimilarity(*m_searched);
    const Plan plan = planFromSimilarity(report, Budget::ofHeads(heads));
    validatePlan(plan, 2, 8, "plan");
    QCOMPARE(plan.keptHeads(), heads);

    const Plan twoMerges = planFromSimilarity(report, Budget::ofHeads(30));
    for (const Planted& planted : kPlanted) {
        const LayerPlan& layer = twoMerges.layers[static_cast<size_t>(planted.layer)];
        const HeadGroups& groups = planted.kind == HeadKind::Key ? layer.keyGroups : layer.valueGroups;
        const bool together = std::any_of(groups.begin(), groups.end(), [&](const std::vector<int>& group) {
            return std::count(group.begin(), group.end(), planted.head) +
                       std::count(group.begin(), group.end(), planted.copy) ==
                   2;
        });
        QVERIFY(together);
    }
}

void SearchStageTest::stateRoundTripContinuesExactly_data() {
    QTest::addColumn<bool>("trainModel");
    QTest::newRow("frozen model") << false;
    QTest::newRow("trained model") << true;
}

// save -> load into a fresh state -> the next steps equal the uninterrupted run's; A comes from the file.
void SearchStageTest::stateRoundTripContinuesExactly() {
    QFETCH(bool, trainModel);
    const model::Transformer source = sourceModel();
    SearchOptions options = pullingOptions();
    if (trainModel) options.modelLearningRate = 1e-3;
    SearchStageState original(source, options);
    TokenBatches batches(source->config().vocabSize, 8);
    for (int step = 0; step < 3; ++step) training::searchStep(original, batches.next(), options);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path stateDir = pathOf(dir, "search");
    original.save(stateDir);
    QCOMPARE(std::filesystem::exists(stateDir / "model.safetensors"), trainModel);

    SimilarityReport flat;  // another A at construction: load must replace it
    for (int layer = 0; layer < 2; ++layer)
        flat.layers.push_back({layer, Matrix(8, 8, 0.5f), Matrix(8, 8, 0.5f), {}, {}});
    SearchStageState restored(source, options, &flat);
    QVERIFY(!at::equal(restored.affinity(0, HeadKind::Key), original.affinity(0, HeadKind::Key)));
    restored.load(stateDir);
    QCOMPARE(restored.step(), int64_t{3});
    for (int layer = 0; layer < 2; ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            QVERIFY(at::equal(restored.affinity(layer, kind), original.affinity(layer, kind)));
            QVERIFY(at::equal(restored.omega(layer, kind), original.omega(layer, kind)));
        }
    }

    for (int step = 0; step < 2; ++step) {
        const at::Tensor batch = batches.next();
        const SearchStepResult expected = training::searchStep(original, batch, options);
        const SearchStepResult actual = training::searchStep(restored, batch, options);
        QVERIFY(closeTo(actual.lmLoss, expected.lmLoss));
        QVERIFY(closeTo(actual.pullLoss, expected.pullLoss));
        QVERIFY(closeTo(actual.gradNorm, expected.gradNorm));
    }
    for (size_t i = 0; i < original.omegaParameters().size(); ++i) {
        QVERIFY(at::allclose(restored.omegaParameters()[i].second, original.omegaParameters()[i].second, 0,
                             1e-6));
    }
    for (const auto& item : original.headsModel()->named_parameters()) {
        QVERIFY2(at::allclose(parameterNamed(restored.headsModel(), item.key()), item.value(), 0, 1e-6),
                 item.key().c_str());
    }
}

// Truncated, foreign, mismatched or incomplete states are refused with an InvalidInput naming the file.
void SearchStageTest::loadRejectsBadState() {
    const model::Transformer source = sourceModel();
    const SearchOptions options = pullingOptions();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path stateDir = pathOf(dir, "search");
    const std::filesystem::path searchFile = stateDir / "search.safetensors";
    SearchStageState(source, options).save(stateDir);
    const auto expectError = [&](const std::function<void()>& call, const std::string& file) {
        const Error error = test::thrownError(call);
        QCOMPARE(error.code, ErrorCode::InvalidInput);
        QVERIFY2(error.path.find(file) != std::string::npos, error.describe().c_str());
    };

    // Another model shape (4 heads).
    const model::Transformer small = test::makeTinyModel(test::tinyConfig(), kModelSeed);
    SearchStageState other(small, options);
    expectError([&] { other.load(stateDir); }, "search.safetensors");

    // A frozen search resumed as a trained one.
    SearchOptions trainedOptions = options;
    trainedOptions.modelLearningRate = 1e-3;
    SearchStageState trained(source, trainedOptions);
    expectError([&] { trained.load(stateDir); }, "search.safetensors");

    // The optimizer file missing.
    std::filesystem::remove(stateDir / "optimizer-omega.safetensors");
    SearchStageState same(source, options);
    expectError([&] { same.load(stateDir); }, "optimizer-omega.safetensors");

    // Truncated in its data.
    SearchStageState(source, options).save(stateDir);
    const auto size = std::filesystem::file_size(searchFile);
    std::filesystem::resize_file(searchFile, size - 100);
    expectError([&] { same.load(stateDir); }, "search.safetensors");

    // A file of another kind.
    io::writeSafetensors(searchFile, {}, {{"format", "dha-fusion-stage"}});
    expectError([&] { same.load(stateDir); }, "search.safetensors");

    // A non-finite Omega.
    SearchStageState(source, options).save(stateDir);
    {
        const auto file = io::SafetensorsFile::open(searchFile);
        std::vector<at::Tensor> values;
        std::vector<io::TensorToWrite> tensors;
        for (const io::TensorInfo& info : file->tensors()) {
            at::Tensor value = at::empty(info.shape, at::kFloat);
            std::memcpy(value.data_ptr(), file->data(info), info.byteSize());
            if (info.name == "layers.1.value.0") value[2][3] = std::nanf("");
            values.push_back(value);
            tensors.push_back({info.name, io::DType::F32, info.shape, values.back().data_ptr()});
        }
        const auto metadata = file->metadata();
        io::writeSafetensors(searchFile.string() + ".new", tensors, {metadata.begin(), metadata.end()});
    }
    std::filesystem::rename(searchFile.string() + ".new", searchFile);
    expectError([&] { same.load(stateDir); }, "search.safetensors");
}

// Options out of range and a similarity report of another shape are refused before any work.
void SearchStageTest::refusesBadInputs() {
    const model::Transformer source = sourceModel();
    SearchOptions negative;
    negative.pullWeight = -1;
    QCOMPARE(test::thrownError([&] { SearchStageState(source, negative); }).code, ErrorCode::InvalidInput);
    SearchOptions infinite;
    infinite.omegaLearningRate = INFINITY;
    QCOMPARE(test::thrownError([&] { SearchStageState(source, infinite); }).code, ErrorCode::InvalidInput);

    SimilarityReport oneLayer;
    oneLayer.layers.push_back({0, Matrix(8, 8, 1.0f), Matrix(8, 8, 1.0f), {}, {}});
    QCOMPARE(test::thrownError([&] { SearchStageState(source, SearchOptions{}, &oneLayer); }).code,
             ErrorCode::InvalidInput);

    const SearchOptions options;
    SearchStageState state(source, options);
    QCOMPARE(test::thrownError([&] { training::learnedSimilarity(state, nullptr, 0.5); }).code,
             ErrorCode::InvalidInput);
    QCOMPARE(test::thrownError([&] { training::learnedSimilarity(state, &oneLayer, 1.5); }).code,
             ErrorCode::InvalidInput);
    QCOMPARE(test::thrownError([&] { training::learnedSimilarity(state, &oneLayer, 0.5); }).code,
             ErrorCode::InvalidInput);
    SearchOptions negativeStep;
    negativeStep.omegaLearningRate = -1e-2;
    const at::Tensor firstBatch = TokenBatches(source->config().vocabSize, 1).next();
    QCOMPARE(test::thrownError([&] { training::searchStep(state, firstBatch, negativeStep); }).code,
             ErrorCode::InvalidInput);
    QCOMPARE(state.step(), int64_t{0});
    SearchOptions trainedOptions;
    trainedOptions.modelLearningRate = 1e-3;  // the state was built frozen
    const at::Tensor batch = TokenBatches(source->config().vocabSize, 1).next();
    QCOMPARE(test::thrownError([&] { training::searchStep(state, batch, trainedOptions); }).code,
             ErrorCode::Internal);
}

DHA_TEST_SUITE(SearchStageTest)
#include "search_stage_test.moc"
