// Export of a converted model as a stock Llama GQA checkpoint (formats.md, "Output 2"), where its layouts
// allow one: keys and values grouped alike, the same number of equal-size groups in every layer.
#pragma once

#include <filesystem>
#include <vector>

#include "exporting/export_common.h"
#include "model/transformer.h"

namespace dha::exporting {

// How a DHA model maps onto stock GQA: per layer, the query heads in their new order (group g's members,
// ascending, at positions g*H/G .. (g+1)*H/G - 1) and, per group g, the DHA value head that serves it (key
// head g serves it as keys).
struct GqaMapping {
    int groups = 0;                                  // G = num_key_value_heads
    std::vector<std::vector<int>> queryOrder;        // [layer][new query position] -> DHA query head
    std::vector<std::vector<int>> valueHeadOfGroup;  // [layer][group] -> DHA value head
};

// The mapping, or dha::Exception (Unsupported, path "GQA export") saying which layer prevents it and how,
// and naming the nearest uniform GQA plan with its KV cost at kvDtype, e.g. "layer 3 keys and values are
// grouped differently; the nearest GQA plan keeps 2 key/value heads per layer (1.5 KiB per token at bf16,
// 75% saved)".
GqaMapping gqaMapping(const ModelConfig& dhaConfig, io::DType kvDtype);

// The stock GQA model: query heads permuted (rows of q_proj and its bias, columns of o_proj), K heads in
// group order, V heads reordered to match, num_key_value_heads = G, no `dha` object. Exactly the same
// function as `dhaModel` (up to summation order). Same dtype and device.
model::Transformer buildGqaModel(const model::Transformer& dhaModel, const GqaMapping& mapping);

// Writes buildGqaModel(dhaModel, gqaMapping(...)) to `target` with the tokenizer and a model card, published
// after a reload check against `dhaModel` itself. Throws what gqaMapping and exportDhaModel throw.
ExportResult exportGqaModel(const model::Transformer& dhaModel, const std::filesystem::path& sourceDir,
                            const std::filesystem::path& target, const ExportOptions& options = {});
// The same with the source already read (readSourceModel or recordedSourceModel).
ExportResult exportGqaModel(const model::Transformer& dhaModel, const SourceModel& source,
                            const std::filesystem::path& target, const ExportOptions& options = {});

}  // namespace dha::exporting
