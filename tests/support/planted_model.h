// A generated checkpoint with planted head redundancy: in every layer the key heads and the value heads are
// random rotations and scalings of a few prototype heads, grouped differently for K and V and per layer.
// Weight CKA sees the groups exactly (CKA = 1 within a group); raw cosine does not.
#pragma once

#include <cstdint>
#include <filesystem>

#include "dha/model_config.h"
#include "dha/plan.h"
#include "io/safetensors.h"
#include "test_models.h"

namespace dha::test {

struct PlantedModelSpec {
    // 3 layers of 8 query heads of width 8 over a 64-wide model: large enough that heads of different
    // prototypes are clearly apart (CKA of independent 8 x 64 blocks is small), small enough for a unit test.
    TinyModelShape shape{3, 64, 8, 8, 96, 64, 128};
    uint64_t seed = 1;
    io::DType dtype = io::DType::F32;
};

struct PlantedModel {
    ModelConfig config;  // MHA: the planted structure is what analysis and planning should find
    // The planted groups in canonical form (each group ascending, groups ordered by their smallest head):
    // layers[l].keyGroups[g] are the key heads made from key prototype g. plan.keptHeads() is the budget
    // at which a planner should recover them exactly.
    Plan plan;
};

// Writes the model directory (config.json + model.safetensors; no tokenizer) and returns what was planted.
// Every layer has between 2 and H/2 key groups and value groups, drawn from the seed, the key and value
// partitions of a layer differ, and each head is s * Q * prototype with Q a random orthogonal headDim x
// headDim matrix and s in [0.5, 2]. The other weights are those of writeTinyModel(dir, config, seed).
PlantedModel writePlantedModel(const std::filesystem::path& dir, const PlantedModelSpec& spec = {});

}  // namespace dha::test
