// Fusion weights: per-group mixing of source K/V heads, the fusion loss and the collapse into compact heads.
#include "conversion/fusion_weights.h"

#include <string>
#include <utility>

#include "dha/error.h"

namespace dha::conversion {
namespace {

int kindIndex(HeadKind kind) { return kind == HeadKind::Key ? 0 : 1; }
const char* kindName(HeadKind kind) { return kind == HeadKind::Key ? "key" : "value"; }

[[noreturn]] void failShape(const std::string& what, const at::Tensor& tensor) {
    std::string shape = "[";
    for (int64_t d = 0; d < tensor.dim(); ++d) shape += (d ? ", " : "") + std::to_string(tensor.size(d));
    fail(ErrorCode::Internal, "fusion weights", what + " has shape " + shape + "]");
}

at::Tensor indexTensor(const std::vector<int>& heads, const c10::Device& device) {
    std::vector<int64_t> values(heads.begin(), heads.end());
    return at::tensor(values, at::TensorOptions().dtype(at::kLong)).to(device);
}

// Puts rows listed in `order` (row a of `rows` belongs at position order[a]) back into source order.
at::Tensor toSourceOrder(const at::Tensor& rows, const std::vector<int>& order) {
    std::vector<int> inverse(order.size());
    for (size_t a = 0; a < order.size(); ++a) inverse[static_cast<size_t>(order[a])] = static_cast<int>(a);
    return rows.index_select(0, indexTensor(inverse, rows.device()));
}

void checkMhaSource(const ModelConfig& config) {
    for (int layer = 0; layer < config.numLayers; ++layer) {
        const HeadLayout& layout = config.layers[static_cast<size_t>(layer)];
        if (layout.isMha()) continue;
        fail(ErrorCode::Unsupported, "source model",
             "layer " + std::to_string(layer) + " has " + std::to_string(layout.numKeyHeads) + " key and " +
                 std::to_string(layout.numValueHeads) + " value heads for " +
                 std::to_string(config.numQueryHeads) +
                 " query heads; fusion needs an MHA source (one key and one value head per query head)");
    }
}

}  // namespace

at::Tensor mixHeads(const at::Tensor& omega, const at::Tensor& heads) {
    if (omega.dim() != 2 || omega.size(0) != omega.size(1)) failShape("a fusion block", omega);
    if (heads.dim() != 2 || heads.size(0) != omega.size(0)) failShape("the heads to mix", heads);
    return omega.matmul(heads);  // [n, n] x [n, rowWidth]
}

at::Tensor groupFusionLoss(const at::Tensor& omega) {
    if (omega.dim() != 2 || omega.size(0) != omega.size(1)) failShape("a fusion block", omega);
    const at::Tensor rows = omega.to(at::kFloat);
    const int64_t n = rows.size(0);
    if (n < 2) return (rows * 0.0).sum();  // no pairs; keeps the graph so backward() always works
    // squared[j, k] = ||row_j - row_k||^2, from the differences themselves: equal rows give exactly 0.
    const at::Tensor squared = (rows.unsqueeze(1) - rows.unsqueeze(0)).pow(2).sum(-1);  // [n, n]
    return squared.sum() / static_cast<double>(n * (n - 1));  // both triangles: 2 * the n(n-1)/2 pairs
}

at::Tensor collapseWeights(const at::Tensor& omega) {
    if (omega.dim() != 2 || omega.size(0) != omega.size(1)) failShape("a fusion block", omega);
    return omega.mean(0);
}

FusionWeights::FusionWeights(model::Transformer source, const Plan& plan, FusionInit init)
    : m_source(std::move(source)), m_plan(plan) {
    const ModelConfig& config = m_source->config();
    validatePlan(m_plan, config.numLayers, config.numQueryHeads, "plan");
    checkMhaSource(config);
    m_headDim = config.headDim;
    m_hiddenSize = config.hiddenSize;
    const auto options = at::TensorOptions().dtype(at::kFloat).device(m_source->device());
    m_blocks.resize(static_cast<size_t>(config.numLayers));
    for (int layer = 0; layer < config.numLayers; ++layer) {
        auto& perKind = m_blocks[static_cast<size_t>(layer)];
        perKind.resize(2);
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            for (const auto& group : groupsOf(layer, kind)) {
                const auto n = static_cast<int64_t>(group.size());
                at::Tensor block =
                    init == FusionInit::Identity ? at::eye(n, options) : at::full({n, n}, 1.0 / n, options);
                perKind[static_cast<size_t>(kindIndex(kind))].push_back(block.set_requires_grad(true));
            }
        }
    }
}

const HeadGroups& FusionWeights::groupsOf(int layer, HeadKind kind) const {
    const LayerPlan& layerPlan = m_plan.layers.at(static_cast<size_t>(layer));
    return kind == HeadKind::Key ? layerPlan.keyGroups : layerPlan.valueGroups;
}

const std::vector<at::Tensor>& FusionWeights::blocksOf(int layer, HeadKind kind) const {
    return m_blocks.at(static_cast<size_t>(layer))[static_cast<size_t>(kindIndex(kind))];
}

int FusionWeights::numGroups(int layer, HeadKind kind) const {
    return static_cast<int>(blocksOf(layer, kind).size());
}

const at::Tensor& FusionWeights::block(int layer, HeadKind kind, int group) const {
    return blocksOf(layer, kind).at(static_cast<size_t>(group));
}

std::vector<at::Tensor> FusionWeights::parameters() const {
    std::vector<at::Tensor> result;
    for (const auto& perKind : m_blocks) {
        for (const auto& blocks : perKind) result.insert(result.end(), blocks.begin(), blocks.end());
    }
    return result;
}

std::string FusionWeights::blockName(int layer, HeadKind kind, int group) {
    return "layers." + std::to_string(layer) + "." + kindName(kind) + "." + std::to_string(group);
}

ProjectionWeights FusionWeights::sourceHeads(int layer, HeadKind kind) const {
    const model::AttentionLayer& attention = m_source->layer(layer)->selfAttn;
    const model::Projection& projection = kind == HeadKind::Key ? attention->kProj : attention->vProj;
    const int64_t heads = m_source->config().numQueryHeads;
    ProjectionWeights result;
    result.weight = projection->weight().reshape({heads, m_headDim * m_hiddenSize});  // [H, headDim * hidden]
    if (projection->bias().defined()) result.bias = projection->bias().reshape({heads, m_headDim});
    return result;
}

ProjectionWeights FusionWeights::fusedProjection(int layer, HeadKind kind) const {
    const ProjectionWeights source = sourceHeads(layer, kind);
    const HeadGroups& groups = groupsOf(layer, kind);
    const std::vector<at::Tensor>& blocks = blocksOf(layer, kind);
    std::vector<at::Tensor> weightSlots, biasSlots;  // per group [n, ...], in group order
    std::vector<int> order;                          // the source head of each slot row, in that order
    for (size_t g = 0; g < groups.size(); ++g) {
        const at::Tensor members = indexTensor(groups[g], source.weight.device());
        weightSlots.push_back(mixHeads(blocks[g], source.weight.index_select(0, members).to(at::kFloat)));
        if (source.bias.defined())
            biasSlots.push_back(mixHeads(blocks[g], source.bias.index_select(0, members).to(at::kFloat)));
        order.insert(order.end(), groups[g].begin(), groups[g].end());
    }
    const auto dtype = source.weight.scalar_type();
    const int64_t rows = static_cast<int64_t>(order.size()) * m_headDim;
    ProjectionWeights result;
    result.weight = toSourceOrder(at::cat(weightSlots, 0), order).to(dtype).reshape({rows, m_hiddenSize});
    if (source.bias.defined())
        result.bias = toSourceOrder(at::cat(biasSlots, 0), order).to(dtype).reshape({rows});
    return result;
}

at::Tensor FusionWeights::fusionLoss() const {
    at::Tensor total = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(m_source->device()));
    for (const at::Tensor& block : parameters()) total = total + groupFusionLoss(block);
    return total;
}

std::vector<GroupFusionLoss> FusionWeights::groupLosses() const {
    at::NoGradGuard noGrad;
    std::vector<GroupFusionLoss> result;
    for (int layer = 0; layer < m_plan.numLayers(); ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const std::vector<at::Tensor>& blocks = blocksOf(layer, kind);
            for (size_t g = 0; g < blocks.size(); ++g) {
                result.push_back({layer, kind, static_cast<int>(g), static_cast<int>(blocks[g].size(0)),
                                  groupFusionLoss(blocks[g]).item<double>()});
            }
        }
    }
    return result;
}

std::vector<CollapsedLayer> FusionWeights::collapse() const {
    at::NoGradGuard noGrad;
    std::vector<CollapsedLayer> result;
    for (int layer = 0; layer < m_plan.numLayers(); ++layer) {
        CollapsedLayer collapsed;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const ProjectionWeights source = sourceHeads(layer, kind);
            const HeadGroups& groups = groupsOf(layer, kind);
            std::vector<at::Tensor> weights, biases;  // one merged head per group, in group order
            for (size_t g = 0; g < groups.size(); ++g) {
                const at::Tensor mix = collapseWeights(blocksOf(layer, kind)[g]);  // [n]
                const at::Tensor members = indexTensor(groups[g], source.weight.device());
                weights.push_back(mix.matmul(source.weight.index_select(0, members).to(at::kFloat)));
                if (source.bias.defined())
                    biases.push_back(mix.matmul(source.bias.index_select(0, members).to(at::kFloat)));
            }
            const auto dtype = source.weight.scalar_type();
            const int64_t rows = static_cast<int64_t>(groups.size()) * m_headDim;
            ProjectionWeights& target = kind == HeadKind::Key ? collapsed.key : collapsed.value;
            target.weight = at::stack(weights, 0).to(dtype).reshape({rows, m_hiddenSize}).contiguous();
            if (source.bias.defined())
                target.bias = at::stack(biases, 0).to(dtype).reshape({rows}).contiguous();
        }
        result.push_back(std::move(collapsed));
    }
    return result;
}

}  // namespace dha::conversion
