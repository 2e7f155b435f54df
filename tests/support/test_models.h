// Tiny seeded Llama-style test models: configs (MHA, GQA, DHA; tied, biased) and model directories.
// This header has no torch types, so any test can write a model directory; tiny_model_weights.h builds the
// in-memory Transformer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "dha/head_layout.h"
#include "dha/model_config.h"
#include "io/safetensors.h"

namespace dha::test {

struct TinyModelShape {
    int numLayers = 2;
    int hiddenSize = 32;
    int numQueryHeads = 4;
    int headDim = 8;
    int intermediateSize = 48;
    int vocabSize = 64;
    int maxPositionEmbeddings = 128;
};

// A llama config of that shape: MHA in every layer, untied embeddings, no biases, fp32, no BOS/EOS ids.
ModelConfig tinyConfig(const TinyModelShape& shape = {});

// Replaces the layouts (one per layer). numKeyValueHeads follows a uniform layout; a non-uniform (DHA) one
// gets a dhaSource describing the MHA source, so config.json carries the `dha` object.
ModelConfig withLayouts(ModelConfig config, std::vector<HeadLayout> layouts);

// DHA layouts for numLayers layers of numQueryHeads heads: per layer different key and value head counts and
// non-contiguous, unequal groups (for 4 heads: layer 0 keys [0,1,0,1] values [1,0,2,1]; layer 1 keys all 0,
// values [1,0,1,0]).
std::vector<HeadLayout> exampleDhaLayouts(int numQueryHeads, int numLayers);

// tinyConfig(shape) with exampleDhaLayouts.
ModelConfig tinyDhaConfig(const TinyModelShape& shape = {});

// Builds the model of `config` with weights drawn from `seed` (tiny_model_weights.h says how) and saves it as
// a Hugging Face-format directory (config.json + model.safetensors) with model::saveModel.
void writeTinyModel(const std::filesystem::path& dir, const ModelConfig& config, uint64_t seed,
                    io::DType dtype = io::DType::F32);

}  // namespace dha::test
