// exportGqaModel: a DHA model with shared, uniform groups rewritten as a stock Llama GQA checkpoint.
#include "exporting/gqa_export.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>

#include "conversion/dha_model_builder.h"
#include "dha/budget.h"
#include "dha/error.h"
#include "exporting/export_staging.h"
#include "model/tensor_names.h"

namespace dha::exporting {
namespace {

int keptHeads(const ModelConfig& config) {
    int kept = 0;
    for (const HeadLayout& layout : config.layers) kept += layout.numKeyHeads + layout.numValueHeads;
    return kept;
}

// The uniform GQA group count whose K+V head total is closest to this model's (ties: the larger count,
// which keeps at least as much).
int nearestGroupCount(const ModelConfig& config) {
    const int kept = keptHeads(config);
    int best = 0;
    for (int groups = 1; groups <= config.numQueryHeads; ++groups) {
        if (config.numQueryHeads % groups != 0) continue;
        const int distance = std::abs(2 * groups * config.numLayers - kept);
        if (best == 0 || distance <= std::abs(2 * best * config.numLayers - kept)) best = groups;
    }
    return best;
}

[[noreturn]] void refuse(const ModelConfig& config, io::DType kvDtype, const std::string& reason) {
    const int bytes = static_cast<int>(io::dtypeSize(kvDtype));
    const int groups = nearestGroupCount(config);
    const KvAccounting nearest =
        kvAccounting(adjacentGqaPlan(config.numLayers, config.numQueryHeads, groups), config.headDim, bytes);
    const int64_t own = kvBytesPerToken(config, bytes);
    fail(ErrorCode::Unsupported, "GQA export",
         reason + "; the nearest GQA plan keeps " + std::to_string(groups) + " key/value heads per layer (" +
             describeBytes(nearest.bytesPerToken) + " per token at " + dtypeLabel(kvDtype) + ", " +
             describePercent(nearest.savedFraction()) + " saved)",
         "this model keeps " + std::to_string(keptHeads(config)) + " key+value heads (" + describeBytes(own) +
             " per token); export it in the DHA format, or convert with a uniform plan whose keys and values "
             "share their groups");
}

// Rows (dim 0) or columns (dim 1) of a projection, moved head by head: block p of the result is block
// order[p] of `weight`.
at::Tensor permuteHeads(const at::Tensor& weight, int64_t dim, const std::vector<int>& order,
                        int64_t headDim) {
    const at::Tensor index =
        at::tensor(std::vector<int64_t>(order.begin(), order.end()), at::TensorOptions().dtype(at::kLong))
            .to(weight.device());
    const int64_t heads = weight.size(dim) / headDim;
    std::vector<int64_t> split(weight.sizes().begin(), weight.sizes().end());
    split[static_cast<size_t>(dim)] = heads;
    split.insert(split.begin() + dim + 1, headDim);  // [..., heads, headDim, ...]
    return weight.reshape(split).index_select(dim, index).reshape(weight.sizes()).contiguous();
}

}  // namespace

GqaMapping gqaMapping(const ModelConfig& config, io::DType kvDtype) {
    GqaMapping mapping;
    for (int layer = 0; layer < config.numLayers; ++layer) {
        const HeadLayout& layout = config.layers.at(static_cast<size_t>(layer));
        const std::string name = "layer " + std::to_string(layer);
        const HeadGroups keyGroups = layout.keyGroups();  // each group ascending
        std::map<std::vector<int>, int> valueHeadOfGroup;
        const HeadGroups valueGroups = layout.valueGroups();
        for (size_t v = 0; v < valueGroups.size(); ++v)
            valueHeadOfGroup[valueGroups[v]] = static_cast<int>(v);

        std::vector<int> queryOrder, valueOrder;
        size_t smallest = keyGroups.empty() ? 0 : keyGroups.front().size(), largest = smallest;
        for (const auto& group : keyGroups) {
            const auto value = valueHeadOfGroup.find(group);
            if (layout.numKeyHeads != layout.numValueHeads || value == valueHeadOfGroup.end()) {
                refuse(config, kvDtype,
                       name + " keys and values are grouped differently (" +
                           std::to_string(layout.numKeyHeads) + " key heads, " +
                           std::to_string(layout.numValueHeads) + " value heads)");
            }
            valueOrder.push_back(value->second);
            queryOrder.insert(queryOrder.end(), group.begin(), group.end());
            smallest = std::min(smallest, group.size());
            largest = std::max(largest, group.size());
        }
        if (smallest != largest) {
            refuse(config, kvDtype,
                   name + " has groups of unequal size (" + std::to_string(smallest) + " to " +
                       std::to_string(largest) + " query heads per key/value head)");
        }
        if (layer == 0) {
            mapping.groups = layout.numKeyHeads;
        } else if (layout.numKeyHeads != mapping.groups) {
            refuse(config, kvDtype,
                   name + " keeps " + std::to_string(layout.numKeyHeads) +
                       " key/value heads and layer 0 keeps " + std::to_string(mapping.groups));
        }
        mapping.queryOrder.push_back(std::move(queryOrder));
        mapping.valueHeadOfGroup.push_back(std::move(valueOrder));
    }
    return mapping;
}

model::Transformer buildGqaModel(const model::Transformer& dhaModel, const GqaMapping& mapping) {
    const ModelConfig& source = dhaModel->config();
    if (static_cast<int>(mapping.queryOrder.size()) != source.numLayers || mapping.groups < 1) {
        fail(ErrorCode::Internal, "GQA export", "the GQA mapping does not match the model's layers");
    }
    ModelConfig config = source;
    config.layers.assign(static_cast<size_t>(source.numLayers),
                         HeadLayout::gqa(source.numQueryHeads, mapping.groups));
    config.numKeyValueHeads = mapping.groups;
    config.dhaSource.reset();

    at::NoGradGuard noGrad;
    const int64_t headDim = source.headDim;
    std::map<std::string, at::Tensor> replacements;
    for (int layer = 0; layer < source.numLayers; ++layer) {
        const model::AttentionLayer& attention = dhaModel->layer(layer)->selfAttn;
        const std::vector<int>& queries = mapping.queryOrder[static_cast<size_t>(layer)];
        const std::vector<int>& values = mapping.valueHeadOfGroup[static_cast<size_t>(layer)];
        const auto put = [&](const std::string& suffix, const at::Tensor& tensor) {
            replacements[model::layerTensor(layer, "self_attn." + suffix)] = tensor;
        };
        put("q_proj.weight", permuteHeads(attention->qProj->weight(), 0, queries, headDim));
        put("o_proj.weight", permuteHeads(attention->oProj->weight(), 1, queries, headDim));
        put("v_proj.weight", permuteHeads(attention->vProj->weight(), 0, values, headDim));
        if (attention->qProj->bias().defined()) {
            put("q_proj.bias", permuteHeads(attention->qProj->bias(), 0, queries, headDim));
            put("v_proj.bias", permuteHeads(attention->vProj->bias(), 0, values, headDim));
        }
        // k_proj stays: GQA head g is key head g, whose group the new query positions g*H/G.. hold.
    }
    return conversion::rebuildModel(dhaModel, config, replacements);
}

ExportResult exportGqaModel(const model::Transformer& dhaModel, const std::filesystem::path& sourceDir,
                            const std::filesystem::path& target, const ExportOptions& options) {
    gqaMapping(dhaModel->config(), options.dtype);  // refuse a plan GQA cannot express first
    checkExportTarget(target);
    return exportGqaModel(dhaModel, readSourceModel(sourceDir, dhaModel->config()), target, options);
}

ExportResult exportGqaModel(const model::Transformer& dhaModel, const SourceModel& source,
                            const std::filesystem::path& target, const ExportOptions& options) {
    const GqaMapping mapping = gqaMapping(dhaModel->config(), options.dtype);
    checkExportTarget(target);
    const model::Transformer gqaModel = buildGqaModel(dhaModel, mapping);
    ModelCardInput card;
    card.format = "GQA (stock Llama)";
    card.notes = "Its query heads are renumbered so that the " +
                 std::to_string(dhaModel->config().numQueryHeads / mapping.groups) +
                 " query heads sharing each key/value head are adjacent (rows of q_proj, columns of o_proj); "
                 "it computes the same function as the DHA model it was exported from.";
    // The reference is the DHA model itself: the permutation must be exact.
    return writeExport(gqaModel, gqaModel->config(), dhaModel, source, target, options, std::move(card));
}

}  // namespace dha::exporting
