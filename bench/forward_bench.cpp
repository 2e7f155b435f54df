// Forward (prefill) and decode throughput, and KV cache size, of one model shape under MHA, GQA and DHA head
// layouts at fp32 and bf16, measured side by side in one run (rounds interleave the variants, so machine
// noise hits them alike). Usage: dha_bench_forward [--layers N] [--hidden N] [--heads N] [--rounds N]
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dha/runtime.h"
#include "model/generation.h"
#include "model/kv_cache.h"
#include "model/transformer.h"

namespace {

using dha::HeadLayout;
using dha::ModelConfig;

struct Shape {
    int layers = 4, hidden = 512, heads = 8, vocab = 8000, batch = 4, sequence = 256, decodeTokens = 64, rounds = 3;
};

// A DHA layout keeping `keyHeads` key and `valueHeads` value heads, with interleaved (non-contiguous) groups.
HeadLayout interleaved(int heads, int keyHeads, int valueHeads) {
    HeadLayout layout;
    layout.numKeyHeads = keyHeads;
    layout.numValueHeads = valueHeads;
    for (int query = 0; query < heads; ++query) {
        layout.keyHeadOfQuery.push_back(query % keyHeads);
        layout.valueHeadOfQuery.push_back((heads - 1 - query) % valueHeads);
    }
    return layout;
}

ModelConfig configFor(const Shape& shape, const std::vector<HeadLayout>& layouts) {
    ModelConfig config;
    config.hiddenSize = shape.hidden;
    config.numLayers = shape.layers;
    config.numQueryHeads = shape.heads;
    config.numKeyValueHeads = shape.heads;
    config.headDim = shape.hidden / shape.heads;
    config.intermediateSize = (8 * shape.hidden / 3 + 31) / 32 * 32;
    config.vocabSize = shape.vocab;
    config.maxPositionEmbeddings = shape.sequence + shape.decodeTokens + 8;
    config.tieWordEmbeddings = true;
    config.layers = layouts;
    return config;
}

struct Variant {
    std::string name;
    ModelConfig config;
    c10::ScalarType dtype;
    dha::model::Transformer model{nullptr};
    std::vector<double> prefillTokensPerSecond, decodeTokensPerSecond;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0.0 : values[values.size() / 2];
}

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = dha::initRuntime();
    Shape shape;
    for (int i = 1; i + 1 < argc; i += 2) {
        const int value = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--layers")) shape.layers = value;
        else if (!std::strcmp(argv[i], "--hidden")) shape.hidden = value;
        else if (!std::strcmp(argv[i], "--heads")) shape.heads = value;
        else if (!std::strcmp(argv[i], "--rounds")) shape.rounds = value;
        else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    const int H = shape.heads;
    // 25% of the K+V heads kept: GQA with H/4 groups, and a DHA plan spending the same total unevenly.
    std::vector<HeadLayout> mha(shape.layers, HeadLayout::mha(H)), gqa(shape.layers, HeadLayout::gqa(H, std::max(1, H / 4)));
    std::vector<HeadLayout> dhaLayouts;
    for (int layer = 0; layer < shape.layers; ++layer) {
        const int total = 2 * std::max(1, H / 4);
        const int keys = std::clamp(layer % 2 == 0 ? total / 4 : total - total / 4, 1, total - 1);
        dhaLayouts.push_back(interleaved(H, keys, total - keys));
    }

    torch::NoGradGuard noGrad;
    std::vector<Variant> variants;
    for (c10::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
        const char* dtypeName = dtype == at::kFloat ? "fp32" : "bf16";
        for (const auto& [name, layouts] : {std::pair{"MHA", mha}, std::pair{"GQA-25%", gqa}, std::pair{"DHA-25%", dhaLayouts}}) {
            Variant variant{std::string(name) + " " + dtypeName, configFor(shape, layouts), dtype};
            dha::model::TransformerOptions options;
            options.dtype = dtype;
            variant.model = dha::model::Transformer(variant.config, options);
            at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(1);
            for (auto& parameter : variant.model->parameters()) {
                parameter.copy_(at::empty(parameter.sizes()).normal_(0.0, 0.02, generator));
            }
            variants.push_back(std::move(variant));
        }
    }

    const at::Tensor tokens = at::randint(shape.vocab, {shape.batch, shape.sequence}, at::kLong);
    const std::vector<int64_t> prompt(tokens[0].data_ptr<int64_t>(), tokens[0].data_ptr<int64_t>() + 16);
    for (int round = 0; round <= shape.rounds; ++round) {  // round 0 warms up and is discarded
        for (Variant& variant : variants) {
            auto start = std::chrono::steady_clock::now();
            variant.model->forward(tokens);
            const double prefill = shape.batch * shape.sequence / secondsSince(start);
            dha::model::GenerationOptions options;
            options.maxNewTokens = shape.decodeTokens;
            start = std::chrono::steady_clock::now();
            const auto result = dha::model::generate(variant.model, prompt, options);
            const double decode = static_cast<double>(result.tokens.size()) / secondsSince(start);
            if (round > 0) {
                variant.prefillTokensPerSecond.push_back(prefill);
                variant.decodeTokensPerSecond.push_back(decode);
            }
        }
    }

    std::printf("forward benchmark: %d layers, hidden %d, %d query heads, vocab %d, %d threads (%s)\n", shape.layers,
                shape.hidden, H, shape.vocab, threads, dha::runtimeDescription().c_str());
    std::printf("prefill: batch %d x %d tokens; decode: %d tokens after a 16-token prompt; median of %d rounds\n\n",
                shape.batch, shape.sequence, shape.decodeTokens, shape.rounds);
    std::printf("%-14s %16s %16s %22s\n", "variant", "prefill tok/s", "decode tok/s", "KV bytes/token (cache)");
    for (const Variant& variant : variants) {
        std::printf("%-14s %16.0f %16.1f %22lld\n", variant.name.c_str(), median(variant.prefillTokensPerSecond),
                    median(variant.decodeTokensPerSecond),
                    static_cast<long long>(dha::model::kvCacheBytesPerToken(variant.config, variant.dtype)));
    }
    return 0;
}
