// The DHA transformer against independent plain-ATen references (P1-P3, RoPE, KV cache, generation).
#include <QTest>

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "dha/error.h"
#include "dha/kernels/attention.h"
#include "dha/kernels/rope.h"
#include "dha/kernels/swiglu.h"
#include "model/generation.h"
#include "model/kv_cache.h"
#include "model/tensor_names.h"
#include "model/transformer.h"
#include "test_models.h"
#include "test_registry.h"
#include "tiny_model_weights.h"

using namespace dha;

namespace {

using Weights = std::map<std::string, at::Tensor>;

// How the reference lets query heads share K/V heads: not at all (MHA), transformers' repeat_kv (contiguous
// GQA), or an explicit gather per query head from the layout's maps (any DHA layout).
enum class KvSharing { None, RepeatKv, PerQueryHead };

Weights weightsOf(model::Transformer& model) {
    Weights weights;
    for (const auto& item : model->named_parameters())
        weights[item.key()] = item.value().detach().to(at::kFloat);
    return weights;
}

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor tokensOf(const std::vector<int64_t>& ids, int64_t batch = 1) {
    return at::tensor(ids, at::kLong).view({batch, -1});
}

// ---- Independent reference: plain ATen, double-precision angles, no kernel code shared with the engine.
// ----
at::Tensor refRmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    return x / at::sqrt(x.pow(2).mean(-1, true) + eps) * weight;
}

// Rotates pairs (j, j + d/2) by position * theta^(-2j/d), positions offset..offset+T-1 divided by `scaling`.
at::Tensor refRope(const at::Tensor& x, int64_t offset, double theta, double scaling = 1.0) {
    const int64_t seq = x.size(2), dim = x.size(3), half = dim / 2;
    const at::Tensor frequencies = at::pow(theta, at::arange(half, at::kDouble) * (-2.0 / dim));
    const at::Tensor positions = (at::arange(seq, at::kDouble) + offset) / scaling;
    const at::Tensor angles = at::outer(positions, frequencies).to(at::kFloat);  // [T, d/2]
    const at::Tensor x1 = x.slice(-1, 0, half), x2 = x.slice(-1, half, dim);
    return at::cat({x1 * angles.cos() - x2 * angles.sin(), x2 * angles.cos() + x1 * angles.sin()}, -1);
}

at::Tensor refAttention(const at::Tensor& q, at::Tensor k, at::Tensor v, const HeadLayout& layout,
                        KvSharing sharing) {
    const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), dim = q.size(3);
    if (sharing == KvSharing::RepeatKv) {  // transformers' repeat_kv
        const int64_t repeats = heads / k.size(1);
        k = k.unsqueeze(2).expand({batch, k.size(1), repeats, seq, dim}).reshape({batch, heads, seq, dim});
        v = v.unsqueeze(2).expand({batch, v.size(1), repeats, seq, dim}).reshape({batch, heads, seq, dim});
    } else if (sharing == KvSharing::PerQueryHead) {
        std::vector<at::Tensor> keys, values;
        for (int64_t h = 0; h < heads; ++h) {
            keys.push_back(k.select(1, layout.keyHeadOfQuery[static_cast<size_t>(h)]));
            values.push_back(v.select(1, layout.valueHeadOfQuery[static_cast<size_t>(h)]));
        }
        k = at::stack(keys, 1);
        v = at::stack(values, 1);
    }
    const at::Tensor mask = at::ones({seq, seq}, at::kBool).triu(1);
    const at::Tensor scores = at::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(dim));
    return at::matmul(at::softmax(scores.masked_fill(mask, -INFINITY), -1), v);
}

at::Tensor refLinear(const Weights& w, const std::string& name, const at::Tensor& x) {
    at::Tensor y = at::matmul(x, w.at(name + ".weight").t());
    const auto bias = w.find(name + ".bias");
    return bias == w.end() ? y : y + bias->second;
}

at::Tensor refForward(const ModelConfig& c, const Weights& w, const at::Tensor& tokens, KvSharing sharing) {
    const int64_t batch = tokens.size(0), seq = tokens.size(1), d = c.headDim;
    at::Tensor h = w.at("model.embed_tokens.weight").index_select(0, tokens.flatten()).view({batch, seq, -1});
    for (int l = 0; l < c.numLayers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        const HeadLayout& layout = c.layers[static_cast<size_t>(l)];
        const at::Tensor x = refRmsNorm(h, w.at(p + "input_layernorm.weight"), c.rmsNormEps);
        const auto heads = [&](const std::string& proj, int64_t n) {
            return refLinear(w, p + "self_attn." + proj, x).view({batch, seq, n, d}).transpose(1, 2);
        };
        const at::Tensor q = refRope(heads("q_proj", c.numQueryHeads), 0, c.ropeTheta);
        const at::Tensor k = refRope(heads("k_proj", layout.numKeyHeads), 0, c.ropeTheta);
        const at::Tensor v = heads("v_proj", layout.numValueHeads);
        const at::Tensor attended =
            refAttention(q, k, v, layout, sharing).transpose(1, 2).reshape({batch, seq, -1});
        h = h + refLinear(w, p + "self_attn.o_proj", attended);
        const at::Tensor y = refRmsNorm(h, w.at(p + "post_attention_layernorm.weight"), c.rmsNormEps);
        const at::Tensor gate = refLinear(w, p + "mlp.gate_proj", y);
        h = h +
            refLinear(w, p + "mlp.down_proj", gate * at::sigmoid(gate) * refLinear(w, p + "mlp.up_proj", y));
    }
    h = refRmsNorm(h, w.at("model.norm.weight"), c.rmsNormEps);
    const std::string output = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    return at::matmul(h, w.at(output).t());
}

const std::vector<int64_t> kTokens = {3, 17, 42, 5, 63, 0, 21, 8, 8, 30, 11, 59};  // batch 2 x 6

}  // namespace

class TransformerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parameterNamesAreTheHfTable_data();
    void parameterNamesAreTheHfTable();
    void mhaMatchesReference_data();
    void mhaMatchesReference();
    void gqaMeanPoolMatchesRepeatKvReference();
    void dhaLayoutMatchesPerHeadReference();
    void kvBytesPerTokenMatchAllocation_data();
    void kvBytesPerTokenMatchAllocation();
    void ropeMatchesReference();
    void fusedPreRopeKeysEqualMixedRotatedKeys();
    void attentionKernelHonoursOffsetAndWindow();
    void cachedPrefillInChunksMatchesFullForward();
    void generationWithCacheMatchesRecompute();
    void samplingIsSeededAndStops();
    void generationRespectsContextLimit();
    void rejectsBadTokensAndCacheMisuse();
    void bf16ModelIsCloseToFp32();
};

void TransformerTest::parameterNamesAreTheHfTable_data() {
    QTest::addColumn<bool>("tied");
    QTest::addColumn<bool>("bias");
    QTest::addColumn<bool>("dha");
    QTest::newRow("mha") << false << false << false;
    QTest::newRow("tied") << true << false << false;
    QTest::newRow("bias-dha") << false << true << true;
}

void TransformerTest::parameterNamesAreTheHfTable() {
    QFETCH(bool, tied);
    QFETCH(bool, bias);
    QFETCH(bool, dha);
    ModelConfig config = dha ? test::tinyDhaConfig() : test::tinyConfig();
    config.tieWordEmbeddings = tied;
    config.attentionBias = config.outputBias = bias;
    model::Transformer model(config);
    const auto parameters = model->named_parameters();
    const auto expected = model::expectedTensors(config);
    QCOMPARE(parameters.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(parameters[i].key(), expected[i].name);
        QCOMPARE(parameters[i].value().sizes().vec(), expected[i].shape);
    }
    QCOMPARE(parameters.contains("lm_head.weight"), !tied);
    QCOMPARE(parameters.contains("model.layers.1.self_attn.o_proj.bias"), bias);
    const HeadLayout& layout = config.layers[1];
    QCOMPARE(parameters["model.layers.1.self_attn.k_proj.weight"].size(0), int64_t{layout.numKeyHeads} * 8);
    QCOMPARE(parameters["model.layers.1.self_attn.v_proj.weight"].size(0), int64_t{layout.numValueHeads} * 8);
    QCOMPARE(model::layerTensor(3, "self_attn.k_proj.weight"),
             std::string("model.layers.3.self_attn.k_proj.weight"));
}

void TransformerTest::mhaMatchesReference_data() {
    QTest::addColumn<bool>("tied");
    QTest::addColumn<bool>("bias");
    QTest::newRow("untied") << false << false;
    QTest::newRow("tied+bias") << true << true;
}

// P1: identity layouts reproduce an MHA forward written with plain ATen.
void TransformerTest::mhaMatchesReference() {
    QFETCH(bool, tied);
    QFETCH(bool, bias);
    ModelConfig config = test::tinyConfig();
    config.tieWordEmbeddings = tied;
    config.attentionBias = config.outputBias = bias;
    model::Transformer model = test::makeTinyModel(config, 11);
    at::NoGradGuard noGrad;
    const at::Tensor tokens = tokensOf(kTokens, 2);
    const at::Tensor logits = model->forward(tokens);
    QCOMPARE(logits.sizes().vec(), (std::vector<int64_t>{2, 6, 64}));
    QCOMPARE(logits.scalar_type(), at::kFloat);
    const at::Tensor reference = refForward(config, weightsOf(model), tokens, KvSharing::None);
    QVERIFY(reference.abs().max().item<double>() > 0.5);  // a meaningful comparison, not zeros against zeros
    QVERIFY2(maxAbsDiff(logits, reference) <= 1e-5, std::to_string(maxAbsDiff(logits, reference)).c_str());
}

// P2: mean-pooling adjacent heads' K/V rows into a GQA layout equals transformers' repeat_kv forward.
void TransformerTest::gqaMeanPoolMatchesRepeatKvReference() {
    ModelConfig mhaConfig = test::tinyConfig();
    mhaConfig.attentionBias = mhaConfig.outputBias = true;
    model::Transformer mha = test::makeTinyModel(mhaConfig, 5);
    const int groups = 2, heads = mhaConfig.numQueryHeads, d = mhaConfig.headDim;
    const ModelConfig gqaConfig =
        test::withLayouts(mhaConfig, {HeadLayout::gqa(heads, groups), HeadLayout::gqa(heads, groups)});
    model::Transformer gqa(gqaConfig);
    at::NoGradGuard noGrad;
    const Weights source = weightsOf(mha);
    for (auto& item : gqa->named_parameters()) {
        const std::string& name = item.key();
        at::Tensor sourceTensor = source.at(name);
        if (name.find("k_proj") != std::string::npos || name.find("v_proj") != std::string::npos) {
            // rows of head h are [h*d, (h+1)*d); heads (2g, 2g+1) average into group g
            const std::vector<int64_t> perHead =
                sourceTensor.dim() == 2
                    ? std::vector<int64_t>{groups, heads / groups, d, sourceTensor.size(1)}
                    : std::vector<int64_t>{groups, heads / groups, d};
            sourceTensor = sourceTensor.reshape(perHead).mean(1).reshape(item.value().sizes());
        }
        item.value().copy_(sourceTensor);
    }
    const at::Tensor tokens = tokensOf(kTokens, 2);
    const at::Tensor logits = gqa->forward(tokens);
    const at::Tensor reference = refForward(gqaConfig, weightsOf(gqa), tokens, KvSharing::RepeatKv);
    QVERIFY2(maxAbsDiff(logits, reference) <= 1e-5, std::to_string(maxAbsDiff(logits, reference)).c_str());
    QVERIFY(maxAbsDiff(logits, mha->forward(tokens)) > 1e-3);  // pooling really changed the model
}

// P2 for DHA: non-contiguous, unequal, layer-specific key and value groups.
void TransformerTest::dhaLayoutMatchesPerHeadReference() {
    const ModelConfig config = test::tinyDhaConfig();
    QVERIFY(!config.isUniform());
    QCOMPARE(config.layers[0].keyHeadOfQuery, (std::vector<int>{0, 1, 0, 1}));
    QCOMPARE(config.layers[0].valueHeadOfQuery, (std::vector<int>{1, 0, 2, 1}));
    model::Transformer model = test::makeTinyModel(config, 7);
    at::NoGradGuard noGrad;
    const at::Tensor tokens = tokensOf(kTokens, 2);
    const at::Tensor logits = model->forward(tokens);
    const at::Tensor reference = refForward(config, weightsOf(model), tokens, KvSharing::PerQueryHead);
    QVERIFY2(maxAbsDiff(logits, reference) <= 1e-5, std::to_string(maxAbsDiff(logits, reference)).c_str());
    // Swapping the value map of layer 0 must change the output: the maps are really used.
    ModelConfig swapped = config;
    swapped.layers[0].valueHeadOfQuery = {1, 2, 0, 1};
    const at::Tensor other = refForward(swapped, weightsOf(model), tokens, KvSharing::PerQueryHead);
    QVERIFY(maxAbsDiff(logits, other) > 1e-3);
}

void TransformerTest::kvBytesPerTokenMatchAllocation_data() {
    QTest::addColumn<int>("kind");  // 0 MHA, 1 GQA(2), 2 DHA
    QTest::addColumn<bool>("bf16");
    for (const bool bf16 : {false, true}) {
        const char* suffix = bf16 ? "-bf16" : "-fp32";
        QTest::newRow((std::string("mha") + suffix).c_str()) << 0 << bf16;
        QTest::newRow((std::string("gqa") + suffix).c_str()) << 1 << bf16;
        QTest::newRow((std::string("dha") + suffix).c_str()) << 2 << bf16;
    }
}

// P3: bytes per token from the layout equal what the cache allocates, and the cache holds compact heads.
void TransformerTest::kvBytesPerTokenMatchAllocation() {
    QFETCH(int, kind);
    QFETCH(bool, bf16);
    const ModelConfig base = test::tinyConfig();
    const ModelConfig config = kind == 0 ? base
                               : kind == 1
                                   ? test::withLayouts(base, {HeadLayout::gqa(4, 2), HeadLayout::gqa(4, 2)})
                                   : test::tinyDhaConfig();
    const c10::ScalarType dtype = bf16 ? at::kBFloat16 : at::kFloat;
    const int64_t batch = 3, maxLength = 7;
    model::KvCache cache(config, batch, maxLength, at::TensorOptions().dtype(dtype));
    int64_t heads = 0;  // sum over layers of hk + hv, counted here independently
    for (const HeadLayout& layout : config.layers) heads += layout.numKeyHeads + layout.numValueHeads;
    const int64_t expected = config.headDim * heads * (bf16 ? 2 : 4);
    QCOMPARE(model::kvCacheBytesPerToken(config, dtype), expected);
    QCOMPARE(cache.allocatedBytes() % (batch * maxLength), int64_t{0});
    QCOMPARE(cache.allocatedBytes() / (batch * maxLength), expected);
    QCOMPARE(kvBytesPerToken(config, bf16 ? 2 : 4), expected);  // the config's own accounting agrees
    for (int l = 0; l < config.numLayers; ++l) {
        QCOMPARE(cache.keys(l).size(1), int64_t{config.layers[static_cast<size_t>(l)].numKeyHeads});
        QCOMPARE(cache.values(l).size(1), int64_t{config.layers[static_cast<size_t>(l)].numValueHeads});
    }
    if (kind == 2) QVERIFY(expected < model::kvCacheBytesPerToken(base, dtype));
}

void TransformerTest::ropeMatchesReference() {
    const at::Tensor x = at::randn({2, 3, 5, 8}, at::kFloat);
    for (const double scaling : {1.0, 4.0}) {
        kernels::RopeParams params;
        params.headDim = 8;
        params.theta = 500.0;
        params.linearScaling = scaling;
        const at::Tensor positions = at::arange(9, 14, at::kLong);
        const at::Tensor rotated = kernels::applyRope(x, kernels::ropeTables(positions, params));
        QVERIFY(maxAbsDiff(rotated, refRope(x, 9, 500.0, scaling)) <= 1e-5);
    }
    // bf16 input: computed in fp32, returned as bf16.
    kernels::RopeParams params;
    params.headDim = 8;
    const at::Tensor tables = at::arange(5, at::kLong);
    const at::Tensor rotatedBf16 =
        kernels::applyRope(x.to(at::kBFloat16), kernels::ropeTables(tables, params));
    QCOMPARE(rotatedBf16.scalar_type(), at::kBFloat16);
    QVERIFY(maxAbsDiff(rotatedBf16, refRope(x, 0, 10000.0)) <= 5e-2);
}

// RoPE rotates every head alike, so fusing pre-RoPE key projections is exact (dha-method.md section 1).
void TransformerTest::fusedPreRopeKeysEqualMixedRotatedKeys() {
    const int64_t hidden = 32, d = 8, seq = 9;
    const at::Tensor x = at::randn({1, seq, hidden}, at::kFloat);
    const at::Tensor w1 = at::randn({d, hidden}), w2 = at::randn({d, hidden});
    const double a = 0.3, b = 0.7;
    kernels::RopeParams params;
    params.headDim = d;
    const kernels::RopeTables tables = kernels::ropeTables(at::arange(3, 3 + seq, at::kLong), params);
    const auto keysOf = [&](const at::Tensor& w) {  // [1, 1, seq, d]
        return kernels::applyRope(at::matmul(x, w.t()).unsqueeze(1), tables);
    };
    const at::Tensor fusedThenRotated = keysOf(a * w1 + b * w2);
    const at::Tensor rotatedThenMixed = a * keysOf(w1) + b * keysOf(w2);
    QVERIFY(maxAbsDiff(fusedThenRotated, rotatedThenMixed) <= 1e-5);
}

void TransformerTest::attentionKernelHonoursOffsetAndWindow() {
    const int64_t offset = 4, seq = 3, keysLength = offset + seq, d = 8;
    const at::Tensor q = at::randn({2, 4, seq, d}), k = at::randn({2, 2, keysLength, d}),
                     v = at::randn({2, 3, keysLength, d});
    const std::vector<int64_t> keyOf = {1, 0, 0, 1}, valueOf = {2, 2, 0, 1};
    for (const int64_t window : {int64_t{0}, int64_t{3}}) {
        kernels::AttentionParams params;
        params.queryOffset = offset;
        if (window > 0) params.slidingWindow = window;
        const at::Tensor out =
            kernels::causalAttention(q, k, v, at::tensor(keyOf), at::tensor(valueOf), params);
        // reference: loop over every query head and position
        at::Tensor expected = at::zeros_like(q);
        for (int64_t h = 0; h < 4; ++h) {
            for (int64_t t = 0; t < seq; ++t) {
                const int64_t position = offset + t;
                const int64_t first = window > 0 ? std::max<int64_t>(0, position - window + 1) : 0;
                const at::Tensor keys = k.select(1, keyOf[h]).slice(1, first, position + 1);  // [2, n, d]
                const at::Tensor values = v.select(1, valueOf[h]).slice(1, first, position + 1);
                const at::Tensor query = q.select(1, h).select(1, t).unsqueeze(1);  // [2, 1, d]
                const at::Tensor weights =
                    at::softmax(at::matmul(query, keys.transpose(1, 2)) / std::sqrt(8.0), -1);
                expected.select(1, h).select(1, t).copy_(at::matmul(weights, values).squeeze(1));
            }
        }
        QVERIFY2(maxAbsDiff(out, expected) <= 1e-5, std::to_string(window).c_str());
    }
}

void TransformerTest::cachedPrefillInChunksMatchesFullForward() {
    const ModelConfig config = test::tinyDhaConfig();
    model::Transformer model = test::makeTinyModel(config, 3);
    at::NoGradGuard noGrad;
    const at::Tensor tokens = tokensOf(kTokens, 2);  // [2, 6]
    const at::Tensor full = model->forward(tokens);
    model::KvCache cache(config, 2, 8, at::TensorOptions());
    const at::Tensor first = model->forward(tokens.slice(1, 0, 4), &cache);
    QCOMPARE(cache.length(), int64_t{4});
    const at::Tensor second = model->forward(tokens.slice(1, 4, 6), &cache);
    QCOMPARE(cache.length(), int64_t{6});
    QVERIFY(maxAbsDiff(at::cat({first, second}, 1), full) <= 1e-5);
    // Cache full: 6 + 3 > 8 is refused and leaves the cache as it was.
    bool threw = false;
    try {
        model->forward(tokens.slice(1, 0, 3), &cache);
    } catch (const Exception& error) {
        threw = true;
        QCOMPARE(error.error().code, ErrorCode::Usage);
    }
    QVERIFY(threw);
    QCOMPARE(cache.length(), int64_t{6});
    cache.truncate(4);  // re-run the last two positions
    QVERIFY(maxAbsDiff(model->forward(tokens.slice(1, 4, 6), &cache), second) <= 1e-6);
    cache.reset();
    QVERIFY(maxAbsDiff(model->forward(tokens, &cache), full) <= 1e-6);
}

void TransformerTest::generationWithCacheMatchesRecompute() {
    const ModelConfig config = test::tinyDhaConfig();
    model::Transformer model = test::makeTinyModel(config, 21);
    const std::vector<int64_t> prompt = {5, 9, 33, 2, 60};
    std::vector<at::Tensor> cachedLogits, recomputedLogits;
    model::GenerationOptions options;
    options.maxNewTokens = 10;
    const auto cached = model::generate(model, prompt, options, [&](const model::GenerationStep& step) {
        cachedLogits.push_back(step.logits.clone());
        return true;
    });
    options.useKvCache = false;
    const auto recomputed = model::generate(model, prompt, options, [&](const model::GenerationStep& step) {
        recomputedLogits.push_back(step.logits.clone());
        return true;
    });
    QCOMPARE(cached.tokens.size(), size_t{10});
    QCOMPARE(cached.tokens, recomputed.tokens);
    QCOMPARE(cached.stopReason, model::StopReason::MaxNewTokens);
    QCOMPARE(cached.kvCacheBytes,
             model::kvCacheBytesPerToken(config, at::kFloat) * 14);  // 5 + 10 - 1 positions
    QCOMPARE(recomputed.kvCacheBytes, int64_t{0});
    QCOMPARE(cachedLogits.size(), recomputedLogits.size());
    for (size_t i = 0; i < cachedLogits.size(); ++i) {
        QVERIFY2(maxAbsDiff(cachedLogits[i], recomputedLogits[i]) <= 1e-5, std::to_string(i).c_str());
    }
    // Both agree with an independent full recompute: greedy token i is the argmax of the reference logits.
    at::NoGradGuard noGrad;
    std::vector<int64_t> sequence = prompt;
    sequence.insert(sequence.end(), cached.tokens.begin(), cached.tokens.end() - 1);
    const at::Tensor reference =
        refForward(config, weightsOf(model), tokensOf(sequence), KvSharing::PerQueryHead);
    for (size_t i = 0; i < cached.tokens.size(); ++i) {
        const at::Tensor row = reference[0][static_cast<int64_t>(prompt.size() - 1 + i)];
        QVERIFY(maxAbsDiff(row, cachedLogits[i]) <= 1e-5);
        QCOMPARE(row.argmax().item<int64_t>(), cached.tokens[i]);
    }
}

void TransformerTest::samplingIsSeededAndStops() {
    const ModelConfig config = test::tinyDhaConfig();
    model::Transformer model = test::makeTinyModel(config, 2);
    const std::vector<int64_t> prompt = {1, 2, 3};
    model::GenerationOptions options;
    options.maxNewTokens = 12;
    options.temperature = 1.5;
    options.seed = 99;
    const auto first = model::generate(model, prompt, options);
    const auto again = model::generate(model, prompt, options);
    QCOMPARE(first.tokens, again.tokens);
    options.seed = 100;
    QVERIFY(model::generate(model, prompt, options).tokens != first.tokens);

    options.topK = 1;  // top-1 sampling is greedy whatever the temperature
    const auto topOne = model::generate(model, prompt, options);
    model::GenerationOptions greedy;
    greedy.maxNewTokens = 12;
    QCOMPARE(topOne.tokens, model::generate(model, prompt, greedy).tokens);

    // EOS stops before the EOS token; the callback cancels after the token it returned false for.
    const std::vector<int64_t> greedyTokens = model::generate(model, prompt, greedy).tokens;
    greedy.eosTokenId = greedyTokens[3];
    const auto stopped = model::generate(model, prompt, greedy);
    QCOMPARE(stopped.stopReason, model::StopReason::EndOfSequence);
    QVERIFY(stopped.tokens.size() <= 3);
    greedy.eosTokenId.reset();
    const auto cancelled = model::generate(model, prompt, greedy,
                                           [](const model::GenerationStep& step) { return step.index < 4; });
    QCOMPARE(cancelled.stopReason, model::StopReason::Cancelled);
    QCOMPARE(cancelled.tokens.size(), size_t{5});
}

void TransformerTest::generationRespectsContextLimit() {
    test::TinyModelShape shape;
    shape.maxPositionEmbeddings = 8;
    const ModelConfig config = test::tinyDhaConfig(shape);
    model::Transformer model = test::makeTinyModel(config, 4);
    model::GenerationOptions options;
    options.maxNewTokens = 20;
    const auto result = model::generate(model, {1, 2, 3, 4, 5}, options);
    QCOMPARE(result.stopReason, model::StopReason::ContextFull);
    QCOMPARE(result.tokens.size(), size_t{3});
    QCOMPARE(model::generate(model, std::vector<int64_t>(8, 1), options).tokens.size(), size_t{0});
    bool threw = false;
    try {
        model::generate(model, std::vector<int64_t>(9, 1), options);
    } catch (const Exception& error) {
        threw = true;
        QVERIFY(error.error().message.find("more than the model's context of 8") != std::string::npos);
    }
    QVERIFY(threw);
}

void TransformerTest::rejectsBadTokensAndCacheMisuse() {
    const ModelConfig config = test::tinyConfig();
    model::Transformer model(config);
    const auto codeOf = [](const std::function<void()>& call) {
        try {
            call();
        } catch (const Exception& error) {
            return error.error().code;
        }
        return ErrorCode::Internal;  // "no exception" is reported as a mismatch below
    };
    QCOMPARE(codeOf([&] { model->forward(tokensOf({1, 64})); }), ErrorCode::InvalidInput);
    QCOMPARE(codeOf([&] { model->forward(tokensOf({-1, 3})); }), ErrorCode::InvalidInput);
    QCOMPARE(codeOf([&] { model->forward(at::zeros({2, 3}, at::kFloat)); }), ErrorCode::Usage);
    model::KvCache cache(config, 2, 4, at::TensorOptions());
    QCOMPARE(codeOf([&] { model->forward(tokensOf({1, 2, 3}), &cache); }), ErrorCode::Usage);  // batch 1 vs 2
    QCOMPARE(codeOf([&] { model::KvCache(config, 0, 4, at::TensorOptions()); }), ErrorCode::Usage);
    ModelConfig broken = config;
    broken.layers.pop_back();
    QCOMPARE(codeOf([&] { model::Transformer bad(broken); }), ErrorCode::Usage);
    broken = config;
    broken.layers[1].keyHeadOfQuery = {0, 0, 0, 9};
    QCOMPARE(codeOf([&] { model::Transformer bad(broken); }), ErrorCode::InvalidInput);
}

void TransformerTest::bf16ModelIsCloseToFp32() {
    const ModelConfig config = test::tinyDhaConfig();
    model::Transformer fp32 = test::makeTinyModel(config, 8);
    model::Transformer bf16 = test::makeTinyModel(config, 8, {at::kBFloat16, c10::kCPU});
    QCOMPARE(bf16->dtype(), at::kBFloat16);
    at::NoGradGuard noGrad;
    const at::Tensor tokens = tokensOf(kTokens, 2);
    const at::Tensor reference = fp32->forward(tokens);
    const at::Tensor logits = bf16->forward(tokens);
    QCOMPARE(logits.scalar_type(), at::kFloat);
    const double scale = reference.abs().max().item<double>();
    QVERIFY2(maxAbsDiff(logits, reference) <= 5e-2 * std::max(1.0, scale),
             (std::to_string(maxAbsDiff(logits, reference)) + " at scale " + std::to_string(scale)).c_str());
    QVERIFY(maxAbsDiff(logits, reference) > 0.0);  // really computed in bf16
    // A bf16 cache under an fp32 model: storage halves, results stay close.
    model::KvCache cache(config, 2, 6, at::TensorOptions().dtype(at::kBFloat16));
    QVERIFY(maxAbsDiff(fp32->forward(tokens, &cache), reference) <= 5e-2 * std::max(1.0, scale));
}

DHA_TEST_SUITE(TransformerTest)
#include "transformer_test.moc"
