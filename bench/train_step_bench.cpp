// Training-step throughput (forward, backward, clipping, AdamW) of one Llama-style MHA shape in fp32 and
// under bf16 autocast, measured side by side (rounds interleave the variants, so machine noise hits them
// alike). Usage: dha_bench_train_step [--layers N] [--hidden N] [--heads N] [--intermediate N] [--vocab N]
//                             [--batch N] [--context N] [--steps N] [--rounds N]
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dha/runtime.h"
#include "model/transformer.h"
#include "training/adamw.h"
#include "training/model_initialisation.h"
#include "training/train_step.h"

namespace {

struct Shape {
    int layers = 6, hidden = 256, heads = 8, intermediate = 704, vocab = 4096, batch = 16, context = 256;
    int steps = 5, rounds = 3;
};

dha::ModelConfig configFor(const Shape& shape) {
    dha::ModelConfig config;
    config.hiddenSize = shape.hidden;
    config.numLayers = shape.layers;
    config.numQueryHeads = shape.heads;
    config.numKeyValueHeads = shape.heads;
    config.headDim = shape.hidden / shape.heads;
    config.intermediateSize = shape.intermediate;
    config.vocabSize = shape.vocab;
    config.maxPositionEmbeddings = shape.context;
    config.rmsNormEps = 1e-5;
    config.tieWordEmbeddings = true;
    config.layers.assign(static_cast<size_t>(shape.layers), dha::HeadLayout::gqa(shape.heads, shape.heads));
    return config;
}

struct Variant {
    const char* name = "";
    bool bf16 = false;
    dha::model::Transformer model{nullptr};
    dha::training::AdamW::NamedParameters parameters;
    std::unique_ptr<dha::training::AdamW> optimizer;
    double seconds = 0;
    int64_t tokens = 0;
    double lastLoss = 0;
};

}  // namespace

int main(int argc, char** argv) {
    Shape shape;
    for (int i = 1; i + 1 < argc; i += 2) {
        const int value = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--layers"))
            shape.layers = value;
        else if (!std::strcmp(argv[i], "--hidden"))
            shape.hidden = value;
        else if (!std::strcmp(argv[i], "--heads"))
            shape.heads = value;
        else if (!std::strcmp(argv[i], "--intermediate"))
            shape.intermediate = value;
        else if (!std::strcmp(argv[i], "--vocab"))
            shape.vocab = value;
        else if (!std::strcmp(argv[i], "--batch"))
            shape.batch = value;
        else if (!std::strcmp(argv[i], "--context"))
            shape.context = value;
        else if (!std::strcmp(argv[i], "--steps"))
            shape.steps = value;
        else if (!std::strcmp(argv[i], "--rounds"))
            shape.rounds = value;
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    dha::initRuntime();
    const dha::ModelConfig config = configFor(shape);
    std::vector<Variant> variants;
    variants.resize(2);
    variants[0].name = "fp32";
    variants[1].name = "bf16 autocast";
    variants[1].bf16 = true;
    for (Variant& variant : variants) {
        variant.model = dha::model::Transformer(config);
        dha::training::initialiseWeights(variant.model, 1, 0.02);
        for (const auto& item : variant.model->named_parameters())
            variant.parameters.emplace_back(item.key(), item.value());
        variant.optimizer =
            std::make_unique<dha::training::AdamW>(variant.parameters, dha::training::AdamWOptions{});
    }
    std::printf(
        "%s\nshape: %d layers, hidden %d, %d heads, intermediate %d, vocab %d; batch %d x context %d; %lld "
        "parameters\n",
        dha::runtimeDescription().c_str(), shape.layers, shape.hidden, shape.heads, shape.intermediate,
        shape.vocab, shape.batch, shape.context, static_cast<long long>(variants[0].model->parameterCount()));
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
    for (int round = 0; round <= shape.rounds; ++round) {  // round 0 warms up and is not counted
        for (Variant& variant : variants) {
            for (int step = 0; step < shape.steps; ++step) {
                const at::Tensor batch =
                    at::randint(shape.vocab, {shape.batch, shape.context + 1}, generator, at::kLong);
                const auto start = std::chrono::steady_clock::now();
                const auto result = dha::training::trainStep(
                    *variant.model, variant.parameters, *variant.optimizer, batch, 1e-3, 1.0, variant.bf16);
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                variant.lastLoss = result.loss;
                if (round > 0) {
                    variant.seconds += seconds;
                    variant.tokens += int64_t{shape.batch} * shape.context;
                }
            }
        }
    }
    for (const Variant& variant : variants) {
        std::printf("%-14s %8.0f tokens/s  %6.3f s/step  (last loss %.3f)\n", variant.name,
                    variant.tokens / variant.seconds, variant.seconds / (shape.rounds * shape.steps),
                    variant.lastLoss);
    }
    return 0;
}
