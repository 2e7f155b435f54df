// exportDhaModel: the native DHA checkpoint, with the source's identity and KV figures in config.json.
#include "exporting/dha_export.h"

#include "exporting/export_staging.h"

namespace dha::exporting {

ModelConfig dhaExportConfig(const ModelConfig& dhaModel, const SourceModel& source, io::DType storedDtype) {
    ModelConfig config = dhaModel;
    DhaSourceInfo info;
    info.fingerprint = source.fingerprint;
    info.sourceNumKeyValueHeads = source.config.numKeyValueHeads;
    info.sourceKvBytesPerToken = kvBytesPerToken(source.config, static_cast<int>(io::dtypeSize(storedDtype)));
    config.dhaSource = info;
    return config;
}

ExportResult exportDhaModel(const model::Transformer& dhaModel, const std::filesystem::path& sourceDir,
                            const std::filesystem::path& target, const ExportOptions& options) {
    checkExportTarget(target);  // before reading the source: the cheapest refusal first
    return exportDhaModel(dhaModel, readSourceModel(sourceDir, dhaModel->config()), target, options);
}

ExportResult exportDhaModel(const model::Transformer& dhaModel, const SourceModel& source,
                            const std::filesystem::path& target, const ExportOptions& options) {
    ModelCardInput card;
    card.format = "DHA";
    return writeExport(dhaModel, dhaExportConfig(dhaModel->config(), source, options.dtype), dhaModel, source,
                       target, options, std::move(card));
}

}  // namespace dha::exporting
