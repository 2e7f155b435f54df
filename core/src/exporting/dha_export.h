// Export of a converted model in the native DHA format (formats.md, "Output 1").
#pragma once

#include <filesystem>

#include "exporting/export_common.h"
#include "model/transformer.h"

namespace dha::exporting {

// The config.json an export of `dhaModel` writes: its config with the `dha` object's source_model
// (fingerprint and num_key_value_heads of `source`) and the source's KV bytes per token at `storedDtype`.
ModelConfig dhaExportConfig(const ModelConfig& dhaModel, const SourceModel& source, io::DType storedDtype);

// Writes `dhaModel` (any layouts: MHA, GQA or DHA) to `target` as config.json with the `dha` object,
// model.safetensors with the compact k_proj/v_proj, the source's tokenizer files and README.md; the
// directory appears only after the reload check passed (max |logit diff| within kReloadTolerance; see
// reload_check.h for bf16/fp16). `sourceDir` is the model the conversion started from. Throws
// dha::Exception: Usage when `target` exists and is not an empty directory, InvalidInput when the source
// does not match, Internal when the reload check fails, Cancelled, Io.
ExportResult exportDhaModel(const model::Transformer& dhaModel, const std::filesystem::path& sourceDir,
                            const std::filesystem::path& target, const ExportOptions& options = {});
// The same with the source already read (readSourceModel or recordedSourceModel).
ExportResult exportDhaModel(const model::Transformer& dhaModel, const SourceModel& source,
                            const std::filesystem::path& target, const ExportOptions& options = {});

}  // namespace dha::exporting
