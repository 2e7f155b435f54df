// Building a fresh Llama-style model: its config from a shape and a tokenizer, and transformers' random
// initialisation. Shared by `dha init` and `dha pretrain`, so both create the same model from the same seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "dha/model_config.h"
#include "dha/model_init.h"
#include "io/safetensors.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace dha::training {

// "tokenizer.model" or "tokenizer.json": the file name a tokenizer takes inside a model directory, from the
// source's extension; anything else is a Usage error naming the file.
std::string tokenizerFileName(const std::filesystem::path& source);
// Loads a tokenizer.model or tokenizer.json by its extension.
std::unique_ptr<tok::Tokenizer> loadTokenizerFile(const std::filesystem::path& file);

// "F32" / "BF16" / "F16" -> the stored dtype; anything else is a Usage error on --dtype.
io::DType storedDtype(const std::string& name);

// The canonical config of spec's shape (numLayers .. tieWordEmbeddings, dtype) with the tokenizer's
// vocabulary and BOS/EOS ids: exactly what a reader of the written config.json sees. Shape errors are
// Usage errors naming the CLI flag (--hidden, --heads, --kv-heads).
ModelConfig buildModelConfig(const InitModelSpec& spec, const tok::Tokenizer& tokenizer);

// transformers' Llama initialisation, deterministic in `seed`: normal(0, std) for projections and
// embeddings, ones for the RMSNorm scales, zeros for biases.
void initialiseWeights(model::Transformer& model, uint64_t seed, double std);

// Copies a (small, < 256 MiB) file atomically, e.g. a tokenizer into a model directory.
void copyFileInto(const std::filesystem::path& source, const std::filesystem::path& target);

}  // namespace dha::training
