// What the DHA and GQA exports share: options, result, the source model's identity, and the write-check-
// publish sequence.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dha/job.h"
#include "dha/model_config.h"
#include "exporting/model_card.h"
#include "exporting/reload_check.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace dha::exporting {

struct ExportOptions {
    io::DType dtype =
        io::DType::F32;  // how the weights are stored (F32, BF16 or F16); also the KV figures' dtype
    ModelCardFacts card;
    const CancelToken* cancel = nullptr;  // checked between steps; a cancel publishes nothing
    ReloadHook afterReloadForTesting;     // runs on the reloaded model before the comparison
};

struct ExportResult {
    std::filesystem::path directory;  // where the export now is
    ReloadCheck reloadCheck;
    int64_t kvBytesPerToken = 0;  // at ExportOptions::dtype
    int64_t sourceKvBytesPerToken = 0;
    std::vector<std::string> files;  // the file names in the directory
};

// The source model directory as an export records it.
struct SourceModel {
    std::filesystem::path dir;
    ModelConfig config;
    std::string fingerprint;  // io::modelFingerprint
};

// Reads <dir>/config.json and the checkpoint headers, and checks the source is the model `converted` came
// from as far as the config can tell (layers, heads, sizes, vocabulary): InvalidInput naming the directory
// otherwise.
SourceModel readSourceModel(const std::filesystem::path& dir, const ModelConfig& converted);

// The source as a DHA model's config.json records it (the `dha` object's source_model: fingerprint and
// num_key_value_heads), for re-exporting a DHA model whose source directory is gone or unknown. `dir` is
// where its tokenizer files are copied from (the DHA model's own directory). Throws InvalidInput naming
// `configPath` when the config has no usable record.
SourceModel recordedSourceModel(const ModelConfig& dhaConfig, const std::filesystem::path& dir,
                                const std::filesystem::path& configPath);

// Tokenizer files (tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
// added_tokens.json, generation_config.json) present in `sourceDir`, copied atomically into `targetDir`.
// Returns their names.
std::vector<std::string> copyTokenizerFiles(const std::filesystem::path& sourceDir,
                                            const std::filesystem::path& targetDir);

// Throws Cancelled when the options' token is set.
void throwIfCancelled(const ExportOptions& options, const char* step);

// Writes `model` under `config` (weights at options.dtype), the tokenizer files and the model card into a
// staging directory; reloads it and compares logits with `reference` (and the reloaded layouts and `dha`
// object with `config`'s); only then renames it onto `target`. `target` must not exist or be empty.
// card.format / card.notes / card.facts come from the caller; the figures are filled in here.
ExportResult writeExport(model::Transformer model, const ModelConfig& config,
                         const model::Transformer& reference, const SourceModel& source,
                         const std::filesystem::path& target, const ExportOptions& options,
                         ModelCardInput card);

}  // namespace dha::exporting
