// Saving a Transformer as a Hugging Face-format model directory, atomically.
#pragma once

#include <filesystem>

#include "dha/model_config.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace dha::model {

// Writes modelDir/model.safetensors (tensors in the canonical order of expectedTensors(): embeddings, layers
// in order, final norm, lm_head) at `dtype`, then modelDir/config.json from serializeModelConfig with
// torch_dtype set to match. Each file is replaced atomically; the directory is created when missing. Same
// model, same bytes. `config` must describe `model`'s tensors (its layouts may carry updated metadata such as
// dhaSource). Other files in the directory (tokenizer, a stale shard index) are left alone: readers prefer
// model.safetensors.
void saveModel(const std::filesystem::path& modelDir, const ModelConfig& config, Transformer& model,
               io::DType dtype = io::DType::F32);

}  // namespace dha::model
