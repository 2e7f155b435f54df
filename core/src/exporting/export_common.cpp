// The shared export sequence: stage, write weights + tokenizer, reload check, model card, publish.
#include "exporting/export_common.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "dha/error.h"
#include "exporting/export_staging.h"
#include "io/atomic_file.h"
#include "io/model_fingerprint.h"
#include "model/model_writer.h"

namespace dha::exporting {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTokenizerFileBytes = size_t{256} << 20;
const char* const kTokenizerFiles[] = {"tokenizer.model",       "tokenizer.json",
                                       "tokenizer_config.json", "special_tokens_map.json",
                                       "added_tokens.json",     "generation_config.json"};

void checkSame(const fs::path& dir, const char* what, int64_t source, int64_t converted) {
    if (source == converted) return;
    failInput(dir.string(),
              std::string("the source model has ") + what + " " + std::to_string(source) +
                  " but the converted model has " + std::to_string(converted),
              "pass the directory of the model the conversion started from");
}

// What the written config.json must say when read back: the layouts and the `dha` object as intended.
void checkReloadedConfig(const ModelConfig& written, const ModelConfig& reloaded, const fs::path& target) {
    if (reloaded.layers != written.layers || reloaded.dhaSource != written.dhaSource) {
        fail(ErrorCode::Internal, target.string(),
             "reload check failed: config.json reads back with other head layouts or another `dha` object; "
             "nothing was published");
    }
}

}  // namespace

SourceModel readSourceModel(const fs::path& dir, const ModelConfig& converted) {
    SourceModel source;
    source.dir = dir;
    source.config = loadModelConfig(dir / "config.json");
    source.fingerprint = io::modelFingerprint(dir);
    checkSame(dir, "layers", source.config.numLayers, converted.numLayers);
    checkSame(dir, "query heads", source.config.numQueryHeads, converted.numQueryHeads);
    checkSame(dir, "head dimension", source.config.headDim, converted.headDim);
    checkSame(dir, "hidden size", source.config.hiddenSize, converted.hiddenSize);
    checkSame(dir, "intermediate size", source.config.intermediateSize, converted.intermediateSize);
    checkSame(dir, "vocabulary size", source.config.vocabSize, converted.vocabSize);
    return source;
}

SourceModel recordedSourceModel(const ModelConfig& dhaConfig, const fs::path& dir, const fs::path& configPath) {
    if (!dhaConfig.dhaSource || dhaConfig.dhaSource->sourceNumKeyValueHeads < 1) {
        failInput(configPath.string(),
                  "the `dha` object records no source model (dha.source_model.num_key_value_heads)",
                  "export the conversion run directory instead, whose run.json names the source");
    }
    const int sourceKvHeads = dhaConfig.dhaSource->sourceNumKeyValueHeads;
    if (dhaConfig.numQueryHeads % sourceKvHeads != 0) {
        failInput(configPath.string(), "dha.source_model.num_key_value_heads " + std::to_string(sourceKvHeads) +
                                           " does not divide num_attention_heads " +
                                           std::to_string(dhaConfig.numQueryHeads));
    }
    // The source had this model's shape with uniform GQA (or MHA) layouts: conversion changes only K and V.
    SourceModel source;
    source.dir = dir;
    source.config = dhaConfig;
    source.config.numKeyValueHeads = sourceKvHeads;
    source.config.layers.assign(static_cast<size_t>(dhaConfig.numLayers),
                                HeadLayout::gqa(dhaConfig.numQueryHeads, sourceKvHeads));
    source.config.dhaSource.reset();
    source.config.originalJson.clear();
    source.fingerprint = dhaConfig.dhaSource->fingerprint;
    return source;
}

std::vector<std::string> copyTokenizerFiles(const fs::path& sourceDir, const fs::path& targetDir) {
    std::vector<std::string> copied;
    for (const char* name : kTokenizerFiles) {
        std::error_code error;
        if (!fs::exists(sourceDir / name, error)) continue;
        // readSmallFile refuses anything but a regular file of sane size, naming it.
        io::writeFileAtomically(targetDir / name,
                                io::readSmallFile(sourceDir / name, kMaxTokenizerFileBytes));
        copied.push_back(name);
    }
    return copied;
}

void throwIfCancelled(const ExportOptions& options, const char* step) {
    if (options.cancel != nullptr && options.cancel->isCancelled()) {
        fail(ErrorCode::Cancelled, {},
             std::string("export cancelled while ") + step + "; nothing was published");
    }
}

ExportResult writeExport(model::Transformer model, const ModelConfig& config,
                         const model::Transformer& reference, const SourceModel& source,
                         const fs::path& target, const ExportOptions& options, ModelCardInput card) {
    throwIfCancelled(options, "starting");
    ExportStaging staging(target);  // refuses an occupied target before any work
    model::saveModel(staging.directory(), config, model, options.dtype);
    std::vector<std::string> files = {"config.json", "model.safetensors"};
    throwIfCancelled(options, "writing the weights");
    const std::vector<std::string> tokenizer = copyTokenizerFiles(source.dir, staging.directory());
    files.insert(files.end(), tokenizer.begin(), tokenizer.end());
    throwIfCancelled(options, "copying the tokenizer");

    ReloadCheck check = checkReload(staging.directory(), staging.target(), reference, options.dtype,
                                    options.afterReloadForTesting);
    checkReloadedConfig(config, check.reloadedConfig, staging.target());
    throwIfCancelled(options, "checking the written model");

    const int bytes = static_cast<int>(io::dtypeSize(options.dtype));
    ExportResult result;
    result.directory = staging.target();
    result.kvBytesPerToken = kvBytesPerToken(config, bytes);
    result.sourceKvBytesPerToken = kvBytesPerToken(source.config, bytes);
    card.title = staging.target().filename().string();
    card.sourceDir = source.dir;
    card.sourceFingerprint = source.fingerprint;
    card.source = source.config;
    card.exported = check.reloadedConfig;
    card.storedDtype = options.dtype;
    card.reloadCheck = check;
    card.facts = options.card;
    io::writeFileAtomically(staging.directory() / "README.md", modelCardText(card));
    files.push_back("README.md");
    throwIfCancelled(options, "writing the model card");

    staging.publish();
    std::sort(files.begin(), files.end());
    result.reloadCheck = std::move(check);
    result.files = std::move(files);
    return result;
}

}  // namespace dha::exporting
