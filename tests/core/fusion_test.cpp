// Fusion weights, fusion loss, collapse and mean pooling on tiny random models (P2, P8, dha-method 4.2-4.3).
#include <QTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>
#include <vector>

#include "conversion/dha_model_builder.h"
#include "conversion/fusion_weights.h"
#include "dha/budget.h"
#include "dha/error.h"
#include "fusion_fixtures.h"
#include "model/tensor_names.h"
#include "test_registry.h"
#include "tiny_model_weights.h"

using namespace dha;
using conversion::FusionInit;
using conversion::FusionWeights;

namespace {

constexpr double kLogitTolerance = 1e-5;

Plan planNamed(const std::string& name) {
    if (name == "mha") return test::mhaFusionPlan();
    if (name == "decoupled") return test::decoupledFusionPlan();
    if (name == "shared-equal") return test::sharedEqualPlan();
    return test::sharedUnequalPlan();
}

// Sets every block of every group to `n` equal rows drawn at random (a group that can collapse losslessly).
void setEqualRows(const FusionWeights& fusion, at::Generator& generator) {
    at::NoGradGuard noGrad;
    for (const at::Tensor& block : fusion.parameters()) {
        const int64_t n = block.size(0);
        const at::Tensor row = at::rand({1, n}, generator) * (2.0 / n);
        block.copy_(row.expand({n, n}));
    }
}

// The parameter (a handle sharing its storage), or an undefined tensor when the model has none of that name.
at::Tensor parameterNamed(const model::Transformer& model, const std::string& name) {
    const auto parameters = model->named_parameters();
    const at::Tensor* found = parameters.find(name);
    return found != nullptr ? *found : at::Tensor();
}

}  // namespace

class FusionTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void identityFusedModelIsSource_data();
    void identityFusedModelIsSource();
    void mhaPlanCollapsesToSource();
    void equalRowsCollapseLosslessly_data();
    void equalRowsCollapseLosslessly();
    void uniformWeightsAreGqaMeanPool_data();
    void uniformWeightsAreGqaMeanPool();
    void fusionLossHandComputed();
    void fusionLossOfPlanSumsGroups();
    void gradientsReachFusionWeights();
    void refusesPlansThatDoNotFit();
};

void FusionTest::identityFusedModelIsSource_data() {
    QTest::addColumn<QString>("plan");
    QTest::addColumn<bool>("biased");
    QTest::newRow("mha") << "mha" << false;
    QTest::newRow("decoupled") << "decoupled" << false;
    QTest::newRow("decoupled-biased") << "decoupled" << true;
}

// P8: identity fusion weights leave the model exactly the source, whatever the grouping.
void FusionTest::identityFusedModelIsSource() {
    QFETCH(QString, plan);
    QFETCH(bool, biased);
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(biased), 11);
    const FusionWeights fusion(source, planNamed(plan.toStdString()));
    const model::Transformer fused = conversion::buildFusedModel(fusion);
    const at::Tensor tokens = test::fixedTokens(source->config().vocabSize);
    const double diff = test::maxAbsDifference(test::logitsOf(fused, tokens), test::logitsOf(source, tokens));
    QVERIFY2(diff <= kLogitTolerance, std::to_string(diff).c_str());
    // The fused projections are the source's, head for head, in the source order.
    for (int layer = 0; layer < source->numLayers(); ++layer) {
        const auto key = fusion.fusedProjection(layer, HeadKind::Key);
        QVERIFY(at::allclose(key.weight, source->layer(layer)->selfAttn->kProj->weight(), 0, 1e-7));
        const auto value = fusion.fusedProjection(layer, HeadKind::Value);
        QVERIFY(at::allclose(value.weight, source->layer(layer)->selfAttn->vProj->weight(), 0, 1e-7));
        QCOMPARE(value.bias.defined(), biased);
        if (biased) QVERIFY(at::allclose(value.bias, source->layer(layer)->selfAttn->vProj->bias(), 0, 1e-7));
    }
}

// An MHA plan (singleton groups) with identity weights collapses into the source itself.
void FusionTest::mhaPlanCollapsesToSource() {
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(true), 12);
    const Plan plan = test::mhaFusionPlan();
    const model::Transformer compact =
        conversion::buildDhaModel(source, plan, FusionWeights(source, plan).collapse());
    QCOMPARE(compact->config().layers, source->config().layers);
    for (const auto& item : source->named_parameters()) {
        QVERIFY2(at::equal(parameterNamed(compact, item.key()), item.value()), item.key().c_str());
    }
}

void FusionTest::equalRowsCollapseLosslessly_data() {
    QTest::addColumn<QString>("plan");
    QTest::addColumn<bool>("biased");
    QTest::newRow("decoupled") << "decoupled" << false;
    QTest::newRow("decoupled-biased") << "decoupled" << true;
    QTest::newRow("shared-equal") << "shared-equal" << false;
    QTest::newRow("shared-unequal") << "shared-unequal" << true;
}

// When every block's rows are equal the fusion loss is 0 and collapsing changes nothing (dha-method 4.3).
void FusionTest::equalRowsCollapseLosslessly() {
    QFETCH(QString, plan);
    QFETCH(bool, biased);
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(biased), 13);
    const Plan groups = planNamed(plan.toStdString());
    const FusionWeights fusion(source, groups);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(99);
    setEqualRows(fusion, generator);

    QVERIFY(std::abs(fusion.fusionLoss().item<double>()) <= 1e-12);
    for (const auto& group : fusion.groupLosses()) QVERIFY(std::abs(group.loss) <= 1e-12);

    const model::Transformer fused = conversion::buildFusedModel(fusion);
    const model::Transformer compact = conversion::buildDhaModel(source, groups, fusion.collapse());
    QCOMPARE(compact->config().layers, groups.layouts());
    for (int layer = 0; layer < groups.numLayers(); ++layer) {
        const auto& layerPlan = groups.layers[static_cast<size_t>(layer)];
        QCOMPARE(compact->layer(layer)->selfAttn->kProj->weight().size(0),
                 static_cast<int64_t>(layerPlan.numKeyHeads()) * 4);
        QCOMPARE(compact->layer(layer)->selfAttn->vProj->weight().size(0),
                 static_cast<int64_t>(layerPlan.numValueHeads()) * 4);
    }
    const at::Tensor tokens = test::fixedTokens(source->config().vocabSize);
    const at::Tensor fusedLogits = test::logitsOf(fused, tokens);
    const double diff = test::maxAbsDifference(test::logitsOf(compact, tokens), fusedLogits);
    QVERIFY2(diff <= kLogitTolerance, std::to_string(diff).c_str());
    // The fusion did change the model (equal rows are not the identity), so the check above has teeth.
    QVERIFY(test::maxAbsDifference(fusedLogits, test::logitsOf(source, tokens)) > 1e-3);
}

void FusionTest::uniformWeightsAreGqaMeanPool_data() {
    QTest::addColumn<int>("groups");
    QTest::addColumn<bool>("biased");
    QTest::newRow("2 groups") << 2 << false;
    QTest::newRow("4 groups, biased") << 4 << true;
    QTest::newRow("1 group") << 1 << false;
}

// P2: uniform weights on adjacent equal groups are the GQA mean-pool conversion.
void FusionTest::uniformWeightsAreGqaMeanPool() {
    QFETCH(int, groups);
    QFETCH(bool, biased);
    const ModelConfig config = test::fusionSourceConfig(biased);
    const model::Transformer source = test::makeTinyModel(config, 14);
    const Plan plan = adjacentGqaPlan(config.numLayers, config.numQueryHeads, groups);
    const model::Transformer pooled = conversion::buildMeanPoolModel(source, plan);

    const ModelConfig& pooledConfig = pooled->config();
    QVERIFY(pooledConfig.isUniform());
    QCOMPARE(pooledConfig.numKeyValueHeads, groups);
    for (const HeadLayout& layout : pooledConfig.layers) QCOMPARE(layout, HeadLayout::gqa(8, groups));

    const int64_t heads = config.numQueryHeads, headDim = config.headDim, hidden = config.hiddenSize;
    // Independent mean pool: average the adjacent heads of each group.
    const auto meanPool = [&](const at::Tensor& weight) {
        const int64_t width = weight.dim() == 2 ? hidden : 1;
        return weight.reshape({groups, heads / groups, headDim, width})
            .mean(1)
            .reshape({-1, width})
            .squeeze(-1);
    };
    at::NoGradGuard noGrad;
    for (int layer = 0; layer < config.numLayers; ++layer) {
        for (const char* name : {"k_proj", "v_proj"}) {
            for (const char* part : {"weight", "bias"}) {
                const std::string tensor =
                    model::layerTensor(layer, std::string("self_attn.") + name + "." + part);
                const at::Tensor original = parameterNamed(source, tensor);
                if (!original.defined()) continue;
                const at::Tensor expected = meanPool(original);
                QVERIFY2(at::allclose(parameterNamed(pooled, tensor), expected, 1e-6, 1e-6), tensor.c_str());
            }
        }
        const std::string query = model::layerTensor(layer, "self_attn.q_proj.weight");
        QVERIFY(at::equal(parameterNamed(pooled, query), parameterNamed(source, query)));
    }
}

void FusionTest::fusionLossHandComputed() {
    const auto loss = [](std::vector<float> values, int64_t n) {
        return conversion::groupFusionLoss(at::tensor(values).view({n, n})).item<double>();
    };
    // ||(1,2) - (3,5)||^2 = 4 + 9 over one pair.
    QCOMPARE(loss({1, 2, 3, 5}, 2), 13.0);
    // Pairs of diag(1, 2, 3): 1 + 4, 1 + 9, 4 + 9; their mean is 28 / 3.
    QVERIFY(std::abs(loss({1, 0, 0, 0, 2, 0, 0, 0, 3}, 3) - 28.0 / 3.0) < 1e-6);
    QCOMPARE(loss({0.5f}, 1), 0.0);
    QCOMPARE(loss({0.25f, 0.75f, 0.25f, 0.75f}, 2), 0.0);
    const at::Tensor mean =
        conversion::collapseWeights(at::tensor(std::vector<float>{1, 2, 3, 5}).view({2, 2}));
    QVERIFY(at::equal(mean, at::tensor(std::vector<float>{2, 3.5})));
}

// Identity blocks: every pair of rows is sqrt(2) apart, so each group of two or more contributes 2.
void FusionTest::fusionLossOfPlanSumsGroups() {
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(), 15);
    const Plan plan = test::decoupledFusionPlan();
    const FusionWeights fusion(source, plan);
    int multiHeadGroups = 0;
    for (const LayerPlan& layer : plan.layers) {
        for (const HeadGroups* groups : {&layer.keyGroups, &layer.valueGroups}) {
            for (const auto& group : *groups) multiHeadGroups += group.size() > 1 ? 1 : 0;
        }
    }
    QVERIFY(multiHeadGroups > 0);
    QVERIFY(std::abs(fusion.fusionLoss().item<double>() - 2.0 * multiHeadGroups) < 1e-6);
    const auto losses = fusion.groupLosses();
    QCOMPARE(losses.size(), fusion.parameters().size());
    for (const auto& group : losses) {
        const auto& layer = plan.layers[static_cast<size_t>(group.layer)];
        const auto& groups = group.kind == HeadKind::Key ? layer.keyGroups : layer.valueGroups;
        QCOMPARE(group.size, static_cast<int>(groups[static_cast<size_t>(group.group)].size()));
        QCOMPARE(group.loss, group.size > 1 ? 2.0 : 0.0);
    }
    QCOMPARE(FusionWeights::blockName(1, HeadKind::Value, 2), std::string("layers.1.value.2"));
}

// Autograd: the fusion loss's gradient is 4/(n(n-1)) (n r_j - sum_k r_k) per row (zero for equal rows), and a
// loss through the fused projection reaches both the blocks and the source weights.
void FusionTest::gradientsReachFusionWeights() {
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(), 16);
    const FusionWeights fusion(source, test::sharedEqualPlan());
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    {
        at::NoGradGuard noGrad;
        setEqualRows(fusion, generator);                                       // every group equal ...
        fusion.block(0, HeadKind::Key, 1).copy_(at::rand({4, 4}, generator));  // ... but one
    }
    fusion.fusionLoss().backward();
    for (int layer = 0; layer < 2; ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            for (int group = 0; group < fusion.numGroups(layer, kind); ++group) {
                const at::Tensor& block = fusion.block(layer, kind, group);
                QVERIFY(block.grad().defined());
                const bool moving = layer == 0 && kind == HeadKind::Key && group == 1;
                if (!moving) {
                    QCOMPARE(block.grad().abs().max().item<double>(), 0.0);
                    continue;
                }
                const at::Tensor rows = block.detach();
                const at::Tensor expected = (4.0 / 12.0) * (4.0 * rows - rows.sum(0, true));
                QVERIFY(block.grad().abs().max().item<double>() > 1e-3);
                QVERIFY(at::allclose(block.grad(), expected, 1e-5, 1e-6));
            }
        }
    }

    for (const at::Tensor& block : fusion.parameters()) block.mutable_grad().reset();
    const at::Tensor& sourceKey = source->layer(1)->selfAttn->kProj->weight();
    const auto fused = fusion.fusedProjection(1, HeadKind::Key);
    QVERIFY(fused.weight.requires_grad());
    const at::Tensor input = at::rand({3, source->config().hiddenSize}, generator);
    at::linear(input, fused.weight).pow(2).sum().backward();
    for (int group = 0; group < fusion.numGroups(1, HeadKind::Key); ++group) {
        QVERIFY(fusion.block(1, HeadKind::Key, group).grad().abs().max().item<double>() > 0);
    }
    QVERIFY(!fusion.block(1, HeadKind::Value, 0).grad().defined());
    QVERIFY(sourceKey.grad().defined() && sourceKey.grad().abs().max().item<double>() > 0);
}

void FusionTest::refusesPlansThatDoNotFit() {
    const model::Transformer source = test::makeTinyModel(test::fusionSourceConfig(), 17);
    Plan wrongHeads = adjacentGqaPlan(2, 4, 2);
    const Error heads = test::thrownError([&] { FusionWeights(source, wrongHeads); });
    QCOMPARE(heads.code, ErrorCode::InvalidInput);
    QVERIFY2(heads.message.find("source_heads 4") != std::string::npos, heads.message.c_str());

    Plan missingHead = test::sharedEqualPlan();
    missingHead.layers[1].valueGroups[0].pop_back();
    QCOMPARE(test::thrownError([&] { FusionWeights(source, missingHead); }).code, ErrorCode::InvalidInput);

    ModelConfig gqa = test::fusionSourceConfig();
    gqa.layers.assign(2, HeadLayout::gqa(8, 4));
    gqa.numKeyValueHeads = 4;
    const model::Transformer gqaSource = test::makeTinyModel(gqa, 18);
    const Error notMha = test::thrownError([&] { FusionWeights(gqaSource, test::sharedEqualPlan()); });
    QCOMPARE(notMha.code, ErrorCode::Unsupported);
    QVERIFY2(
        notMha.message.find("layer 0 has 4 key and 4 value heads for 8 query heads") != std::string::npos,
        notMha.message.c_str());
}

DHA_TEST_SUITE(FusionTest)
#include "fusion_test.moc"
