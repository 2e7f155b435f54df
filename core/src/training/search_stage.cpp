// The search stage's state: the full-group fusion weights over a copy of the source, the pull's affinities,
// the optimizers, and its checkpoint.
#include "training/search_stage.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h in LibTorch 2.x

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "analysis/head_similarity.h"
#include "conversion/dha_model_builder.h"
#include "dha/error.h"
#include "io/safetensors.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "training/fused_forward.h"
#include "training/state_file.h"

namespace dha::training {
namespace {

constexpr const char* kFormat = "dha-search-stage";
constexpr const char* kSearchFile = "search.safetensors";
constexpr const char* kOmegaOptimizerFile = "optimizer-omega.safetensors";
constexpr const char* kModelOptimizerFile = "optimizer-model.safetensors";

int kindIndex(HeadKind kind) { return kind == HeadKind::Key ? 0 : 1; }

void checkOption(bool ok, const std::string& what) {
    if (!ok) failInput("search options", what);
}

bool isFusedProjection(const std::string& name) {
    return name.find(".self_attn.k_proj.") != std::string::npos ||
           name.find(".self_attn.v_proj.") != std::string::npos;
}

// The source and the options, checked before the source is copied.
const model::Transformer& checkedSource(const model::Transformer& source, const SearchOptions& options) {
    checkOption(std::isfinite(options.omegaLearningRate) && options.omegaLearningRate >= 0,
                "the Omega learning rate must be a finite number >= 0");
    checkOption(std::isfinite(options.modelLearningRate) && options.modelLearningRate >= 0,
                "the model learning rate must be a finite number >= 0");
    checkOption(std::isfinite(options.pullWeight) && options.pullWeight >= 0,
                "the pull weight must be a finite number >= 0");
    checkOption(std::isfinite(options.gradientClip), "the gradient clip must be a finite number");
    checkOption(options.steps >= 0, "the step count must be >= 0");
    if (source->dtype() != at::kFloat) {
        fail(ErrorCode::Unsupported, "search stage",
             "the search stage trains fp32 weights and this source model is not fp32",
             "load the source as fp32; bf16 autocast still applies to the forward pass");
    }
    return source;
}

std::string affinityName(int layer, HeadKind kind) {
    return "layers." + std::to_string(layer) + (kind == HeadKind::Key ? ".key" : ".value") + ".affinity";
}

// A of one (layer, K|V): from the report when given, else the weight CKA of the source's projection.
Matrix affinitySimilarity(const model::Transformer& source, const SimilarityReport* report, int layer,
                          HeadKind kind) {
    if (report != nullptr) {
        const LayerSimilarity& entry = report->layers[static_cast<size_t>(layer)];
        return kind == HeadKind::Key ? entry.key : entry.value;
    }
    const model::AttentionLayer& attention = source->layer(layer)->selfAttn;
    const model::Projection& projection = kind == HeadKind::Key ? attention->kProj : attention->vProj;
    return analysis::linearCka(projection->weight().detach(), source->config().numQueryHeads);
}

// An F32 [heads, heads] tensor of the file with only finite values, copied out.
at::Tensor readSquare(const io::SafetensorsFile& file, const std::string& name, int64_t heads) {
    at::Tensor value = readTensor(file, name, io::DType::F32, {heads, heads},
                                  "[" + std::to_string(heads) + ", " + std::to_string(heads) + "]");
    if (!at::isfinite(value).all().item<bool>()) failInput(file.path().string(), name + " is not finite");
    return value;
}

}  // namespace

Plan searchPlan(int numLayers, int numHeads) {
    std::vector<int> all(static_cast<size_t>(numHeads));
    for (int head = 0; head < numHeads; ++head) all[static_cast<size_t>(head)] = head;
    Plan plan;
    plan.sourceHeads = numHeads;
    plan.layers.assign(static_cast<size_t>(numLayers), LayerPlan{{all}, {all}});
    return plan;
}

at::Tensor rowDistances(const at::Tensor& omega) {
    return (omega.unsqueeze(1) - omega.unsqueeze(0)).pow(2).sum(-1);
}

at::Tensor pullTerm(const at::Tensor& omega, const at::Tensor& affinity) {
    const at::Tensor rows = omega.to(at::kFloat);
    const int64_t n = rows.size(0);
    // D0 = ||e_j - e_k||^2: 2 off the diagonal. D - D0 is exactly 0 at the identity.
    const at::Tensor identityDistance = (1 - at::eye(n, rows.options().requires_grad(false))) * 2;
    return (affinity.to(rows.device()) * (rowDistances(rows) - identityDistance)).sum();
}

at::Tensor pullAffinity(const Matrix& similarity) {
    const int n = similarity.rows;
    at::Tensor result = at::zeros({n, n}, at::kFloat);
    double total = 0;
    std::vector<double> values(static_cast<size_t>(n) * n, 0.0);
    for (int j = 0; j < n; ++j) {
        for (int k = 0; k < n; ++k) {
            if (j == k) continue;
            const double mean = (static_cast<double>(similarity.at(j, k)) + similarity.at(k, j)) / 2.0;
            const double clipped = std::isfinite(mean) ? std::min(1.0, std::max(0.0, mean)) : 0.0;
            values[static_cast<size_t>(j) * n + k] = clipped;
            total += clipped;
        }
    }
    if (total <= 0) return result;
    float* out = result.data_ptr<float>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i] * n / total);
    return result;
}

SearchStageState::SearchStageState(const model::Transformer& source, const SearchOptions& options,
                                   const SimilarityReport* affinitySource)
    : m_fusion(conversion::cloneModel(checkedSource(source, options)),
               searchPlan(source->config().numLayers, source->config().numQueryHeads)),
      m_fused(conversion::buildFusedModel(m_fusion)),
      m_trainsModel(options.modelLearningRate > 0) {
    const int layers = numLayers();
    const int heads = numHeads();
    if (affinitySource != nullptr) {
        // The planner's checks, plus the layer count of this model.
        if (affinitySource->layers.size() != static_cast<size_t>(layers)) {
            failInput("similarity", "the report has " + std::to_string(affinitySource->layers.size()) +
                                        " layers and the model " + std::to_string(layers));
        }
        for (int layer = 0; layer < layers; ++layer) {
            const LayerSimilarity& entry = affinitySource->layers[static_cast<size_t>(layer)];
            for (const Matrix* matrix : {&entry.key, &entry.value}) {
                bool ok = matrix->rows == heads && matrix->cols == heads &&
                          matrix->values.size() == static_cast<size_t>(heads) * heads;
                for (size_t i = 0; ok && i < matrix->values.size(); ++i)
                    ok = std::isfinite(matrix->values[i]);
                if (!ok || entry.layer != layer) {
                    failInput("similarity", "layer " + std::to_string(layer) + " of the report is not " +
                                                std::to_string(heads) + " x " + std::to_string(heads) +
                                                " finite similarities of this model's layer " +
                                                std::to_string(layer));
                }
            }
        }
    }

    at::NoGradGuard noGrad;
    for (int layer = 0; layer < layers; ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            m_affinity.push_back(pullAffinity(affinitySimilarity(headsModel(), affinitySource, layer, kind))
                                     .to(m_fused->device()));
            m_omegaParameters.emplace_back(conversion::FusionWeights::blockName(layer, kind, 0),
                                           m_fusion.block(layer, kind, 0));
        }
    }
    // One copy of every weight but the fused projections, seen by both models (as in FusionStageState).
    const auto fusedParameters = m_fused->named_parameters();
    for (const auto& item : m_fusion.source()->named_parameters()) {
        at::Tensor parameter = item.value();
        if (!isFusedProjection(item.key())) {
            const at::Tensor* shared = fusedParameters.find(item.key());
            if (shared == nullptr)
                fail(ErrorCode::Internal, item.key(), "the fused model has no such parameter");
            parameter.set_(*shared);
            parameter = *shared;
        }
        if (m_trainsModel) {
            m_modelParameters.emplace_back(item.key(), parameter);
        } else {
            // Frozen: no weight gradients are ever computed.
            item.value().set_requires_grad(false);
            parameter.set_requires_grad(false);
        }
    }
    // The fused model's own k/v projections stay differentiable either way: the step reads dLoss/dW~ from
    // them.
    m_omegaOptimizer = std::make_unique<AdamW>(m_omegaParameters, options.omegaOptimizer);
    if (m_trainsModel) m_modelOptimizer = std::make_unique<AdamW>(m_modelParameters, options.modelOptimizer);
}

int SearchStageState::numLayers() const { return headsModel()->config().numLayers; }
int SearchStageState::numHeads() const { return headsModel()->config().numQueryHeads; }

const at::Tensor& SearchStageState::affinity(int layer, HeadKind kind) const {
    if (layer < 0 || layer >= numLayers())
        fail(ErrorCode::Internal, "search stage", "no layer " + std::to_string(layer));
    return m_affinity[static_cast<size_t>(layer) * 2 + static_cast<size_t>(kindIndex(kind))];
}

at::Tensor SearchStageState::pullLoss() const {
    std::vector<at::Tensor> terms;
    for (int layer = 0; layer < numLayers(); ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value})
            terms.push_back(pullTerm(omega(layer, kind), affinity(layer, kind)));
    }
    return at::stack(terms).sum();
}

void SearchStageState::refreshFusedModel() { refreshFusedProjections(m_fusion, m_fused); }

void SearchStageState::finishStep() {
    refreshFusedModel();
    ++m_step;
}

void SearchStageState::save(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    if (m_trainsModel) {
        model::Transformer heads = headsModel();
        model::saveModel(dir, heads->config(), heads, io::DType::F32);
        m_modelOptimizer->save(dir / kModelOptimizerFile);
    }
    const int64_t heads = numHeads();
    std::vector<at::Tensor> hostTensors;  // keeps the CPU copies alive until the file is written
    std::vector<io::TensorToWrite> tensors;
    hostTensors.reserve(m_omegaParameters.size() * 2);
    for (int layer = 0; layer < numLayers(); ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            hostTensors.push_back(omega(layer, kind).detach().to(at::kCPU).contiguous());
            tensors.push_back({conversion::FusionWeights::blockName(layer, kind, 0),
                               io::DType::F32,
                               {heads, heads},
                               hostTensors.back().data_ptr()});
            hostTensors.push_back(affinity(layer, kind).to(at::kCPU).contiguous());
            tensors.push_back(
                {affinityName(layer, kind), io::DType::F32, {heads, heads}, hostTensors.back().data_ptr()});
        }
    }
    io::writeSafetensors(dir / kSearchFile, tensors,
                         {{"format", kFormat},
                          {"step", std::to_string(m_step)},
                          {"layers", std::to_string(numLayers())},
                          {"heads", std::to_string(heads)},
                          {"trains_model", m_trainsModel ? "1" : "0"}});
    m_omegaOptimizer->save(dir / kOmegaOptimizerFile);
}

void SearchStageState::load(const std::filesystem::path& dir) {
    // The search file first, checked completely before anything changes.
    const auto file = io::SafetensorsFile::open(dir / kSearchFile);
    const std::string where = file->path().string();
    if (metadataValue(*file, "format") != kFormat) {
        failInput(where,
                  std::string("is not a search stage state (metadata format \"") + kFormat + "\" expected)");
    }
    const int64_t step = metadataCount(*file, "step");
    const int64_t layers = metadataCount(*file, "layers");
    const int64_t heads = metadataCount(*file, "heads");
    if (layers != numLayers() || heads != numHeads()) {
        failInput(where, "is the search of a model with " + std::to_string(layers) + " layers of " +
                             std::to_string(heads) + " heads; this model has " + std::to_string(numLayers()) +
                             " layers of " + std::to_string(numHeads()));
    }
    const std::string& trains = metadataValue(*file, "trains_model");
    if (trains != "0" && trains != "1")
        failInput(where, "metadata trains_model '" + trains + "' is not 0 or 1");
    if ((trains == "1") != m_trainsModel) {
        failInput(where,
                  std::string("was saved with the model ") + (trains == "1" ? "trained" : "frozen") +
                      " and this search has it " + (m_trainsModel ? "trained" : "frozen"),
                  "resume with the model learning rate the search started with");
    }
    const size_t expected = m_omegaParameters.size() * 2;
    if (file->tensors().size() != expected) {
        failInput(where, "holds " + std::to_string(file->tensors().size()) + " tensors; this model needs " +
                             std::to_string(expected) + " (an Omega and an affinity per layer, K and V)");
    }
    std::vector<at::Tensor> omegas;
    std::vector<at::Tensor> affinities;
    for (int layer = 0; layer < numLayers(); ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            omegas.push_back(readSquare(*file, conversion::FusionWeights::blockName(layer, kind, 0), heads));
            const at::Tensor a = readSquare(*file, affinityName(layer, kind), heads);
            if ((a < 0).any().item<bool>())
                failInput(where, affinityName(layer, kind) + " has negative weights");
            affinities.push_back(a);
        }
    }

    m_omegaOptimizer->load(dir / kOmegaOptimizerFile);
    if (m_trainsModel) {
        m_modelOptimizer->load(dir / kModelOptimizerFile);
        model::Transformer model = headsModel();  // its non-projection weights are the fused model's
        model::loadWeights(model, io::SafetensorsCheckpoint::open(dir), dir);
    }
    {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < omegas.size(); ++i) {
            at::Tensor& target = m_omegaParameters[i].second;
            target.copy_(omegas[i].to(target.device()));
            m_affinity[i] = affinities[i].to(target.device());
        }
    }
    m_step = step;
    refreshFusedModel();
}

}  // namespace dha::training
