// A fresh model's config and random weights (shared by `dha init` and `dha pretrain`).
#include "training/model_initialisation.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "dha/error.h"
#include "io/atomic_file.h"

namespace dha::training {
namespace {

namespace fs = std::filesystem;

void requireDivides(int divisor, const char* divisorFlag, int value, const char* valueFlag) {
    if (divisor <= 0 || value % divisor != 0) {
        fail(ErrorCode::Usage, valueFlag,
             std::string(valueFlag) + " " + std::to_string(value) + " is not a multiple of " + divisorFlag +
                 " " + std::to_string(divisor));
    }
}

}  // namespace

std::string tokenizerFileName(const fs::path& source) {
    const std::string extension = source.extension().string();
    if (extension == ".model") return "tokenizer.model";
    if (extension == ".json") return "tokenizer.json";
    fail(ErrorCode::Usage, source.string(),
         "the tokenizer must be a SentencePiece .model or a tokenizer.json file");
}

std::unique_ptr<tok::Tokenizer> loadTokenizerFile(const fs::path& file) {
    return tokenizerFileName(file) == "tokenizer.model" ? tok::loadSentencePieceModel(file)
                                                        : tok::loadTokenizerJson(file);
}

io::DType storedDtype(const std::string& name) {
    if (name == "F32") return io::DType::F32;
    if (name == "BF16") return io::DType::BF16;
    if (name == "F16") return io::DType::F16;
    fail(ErrorCode::Usage, "--dtype", "unknown dtype '" + name + "' (F32, BF16 or F16)");
}

ModelConfig buildModelConfig(const InitModelSpec& spec, const tok::Tokenizer& tokenizer) {
    requireDivides(spec.numQueryHeads, "--heads", spec.hiddenSize, "--hidden");
    const int keyValueHeads = spec.numKeyValueHeads > 0 ? spec.numKeyValueHeads : spec.numQueryHeads;
    requireDivides(keyValueHeads, "--kv-heads", spec.numQueryHeads, "--heads");

    ModelConfig config;
    config.modelType = "llama";
    config.hiddenSize = spec.hiddenSize;
    config.numLayers = spec.numLayers;
    config.numQueryHeads = spec.numQueryHeads;
    config.numKeyValueHeads = keyValueHeads;
    config.headDim = spec.hiddenSize / spec.numQueryHeads;
    config.intermediateSize =
        spec.intermediateSize > 0 ? spec.intermediateSize : (8 * spec.hiddenSize / 3 + 31) / 32 * 32;
    config.vocabSize = tokenizer.vocabSize();
    config.maxPositionEmbeddings = spec.maxPositionEmbeddings;
    config.ropeTheta = spec.ropeTheta;
    config.rmsNormEps = 1e-5;
    config.tieWordEmbeddings = spec.tieWordEmbeddings;
    config.torchDtype = spec.dtype == "F32" ? "float32" : spec.dtype == "BF16" ? "bfloat16" : "float16";
    config.bosTokenId = tokenizer.bosId();
    config.eosTokenId = tokenizer.eosId();
    config.layers.assign(static_cast<size_t>(spec.numLayers),
                         HeadLayout::gqa(spec.numQueryHeads, keyValueHeads));
    // The canonical form: exactly what a reader of the written config.json will see (and all of its checks).
    return parseModelConfig(serializeModelConfig(config), "config.json");
}

void initialiseWeights(model::Transformer& model, uint64_t seed, double std) {
    torch::NoGradGuard noGrad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (auto& parameter : model->named_parameters()) {
        at::Tensor& tensor = parameter.value();
        const std::string& name = parameter.key();
        if (name.find("norm.weight") != std::string::npos) {
            tensor.fill_(1.0);
        } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
            tensor.zero_();
        } else {
            tensor.copy_(at::empty(tensor.sizes(), at::kFloat).normal_(0.0, std, generator));
        }
    }
}

void copyFileInto(const fs::path& source, const fs::path& target) {
    io::writeFileAtomically(target, io::readSmallFile(source, size_t{256} << 20));
}

}  // namespace dha::training
