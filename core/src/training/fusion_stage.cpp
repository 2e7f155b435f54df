// Building, checkpointing and restoring the fusion stage: the shared-weight fused model, the blocks, the
// multipliers and both optimizers.
#include "training/fusion_stage.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "conversion/dha_model_builder.h"
#include "dha/error.h"
#include "io/safetensors.h"
#include "model/model_loader.h"
#include "model/model_writer.h"
#include "training/fused_forward.h"
#include "training/state_file.h"

namespace dha::training {
namespace {

const char* const kPlanShape = "of the shape this plan needs";

constexpr const char* kFormat = "dha-fusion-stage";
constexpr const char* kFusionFile = "fusion.safetensors";
constexpr const char* kModelOptimizerFile = "optimizer-model.safetensors";
constexpr const char* kFusionOptimizerFile = "optimizer-fusion.safetensors";

// k_proj/v_proj weights and biases: the parameters the fusion weights replace in the fused model.
bool isFusedProjection(const std::string& name) {
    return name.find(".self_attn.k_proj.") != std::string::npos ||
           name.find(".self_attn.v_proj.") != std::string::npos;
}

const model::Transformer& checkedSource(const model::Transformer& source) {
    if (source->dtype() != at::kFloat) {
        fail(ErrorCode::Unsupported, "fusion stage",
             "the fusion stage trains fp32 weights and this source model is not fp32",
             "load the source as fp32; bf16 autocast still applies to the forward pass");
    }
    return source;
}

std::string numberText(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    return buffer;
}

}  // namespace

FusionStageState::FusionStageState(const model::Transformer& source, const Plan& plan,
                                   const FusionStageOptions& options)
    : m_fusion(conversion::cloneModel(checkedSource(source)), plan),
      m_fused(conversion::buildFusedModel(m_fusion)),
      m_schedule(m_fusion.fusionLoss().item<double>(), options.rampSteps) {
    at::NoGradGuard noGrad;
    const auto fusedParameters = m_fused->named_parameters();
    for (const auto& item : m_fusion.source()->named_parameters()) {
        if (isFusedProjection(item.key())) {
            m_modelParameters.emplace_back(item.key(), item.value());  // a source head: trained here
            continue;
        }
        const at::Tensor* shared = fusedParameters.find(item.key());
        if (shared == nullptr) fail(ErrorCode::Internal, item.key(), "the fused model has no such parameter");
        item.value().set_(*shared);  // one copy of the weight, seen by both models
        m_modelParameters.emplace_back(item.key(), *shared);
    }
    const ModelConfig& config = m_fusion.source()->config();
    for (int layer = 0; layer < config.numLayers; ++layer) {
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            for (int group = 0; group < m_fusion.numGroups(layer, kind); ++group) {
                m_fusionParameters.emplace_back(conversion::FusionWeights::blockName(layer, kind, group),
                                                m_fusion.block(layer, kind, group));
            }
        }
    }
    m_modelOptimizer = std::make_unique<AdamW>(m_modelParameters, options.modelOptimizer);
    m_fusionOptimizer = std::make_unique<AdamW>(m_fusionParameters, options.fusionOptimizer);
}

model::Transformer FusionStageState::collapsedModel() const {
    return conversion::buildDhaModel(headsModel(), plan(), m_fusion.collapse());
}

void FusionStageState::refreshFusedModel() { refreshFusedProjections(m_fusion, m_fused); }

void FusionStageState::finishStep() {
    refreshFusedModel();
    ++m_step;
}

void FusionStageState::save(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    model::Transformer heads = headsModel();
    model::saveModel(dir, heads->config(), heads, io::DType::F32);

    std::vector<at::Tensor> hostTensors;  // keeps the CPU copies alive until the file is written
    std::vector<io::TensorToWrite> tensors;
    hostTensors.reserve(m_fusionParameters.size() + 2);
    for (const auto& [name, block] : m_fusionParameters) {
        hostTensors.push_back(block.detach().to(at::kCPU).contiguous());
        tensors.push_back(
            {name, io::DType::F32, {block.size(0), block.size(1)}, hostTensors.back().data_ptr()});
    }
    for (const auto& [name, value] : {std::pair<const char*, double>{"lambda1", m_multipliers.lambda1},
                                      std::pair<const char*, double>{"lambda2", m_multipliers.lambda2}}) {
        hostTensors.push_back(at::full({}, value, at::TensorOptions().dtype(at::kDouble)));
        tensors.push_back({name, io::DType::F64, {}, hostTensors.back().data_ptr()});
    }
    io::writeSafetensors(dir / kFusionFile, tensors,
                         {{"format", kFormat},
                          {"step", std::to_string(m_step)},
                          {"initial_loss", numberText(m_schedule.initialLoss())},
                          {"ramp_steps", std::to_string(m_schedule.rampSteps())}});
    m_modelOptimizer->save(dir / kModelOptimizerFile);
    m_fusionOptimizer->save(dir / kFusionOptimizerFile);
}

void FusionStageState::load(const std::filesystem::path& dir) {
    // The fusion file first, checked completely before anything changes.
    const auto file = io::SafetensorsFile::open(dir / kFusionFile);
    if (metadataValue(*file, "format") != kFormat) {
        failInput(file->path().string(),
                  std::string("is not a fusion stage state (metadata format \"") + kFormat + "\" expected)");
    }
    const int64_t step = metadataCount(*file, "step");
    const FusionSchedule schedule(metadataNumber(*file, "initial_loss"), metadataCount(*file, "ramp_steps"));
    if (file->tensors().size() != m_fusionParameters.size() + 2) {
        failInput(file->path().string(),
                  "holds " + std::to_string(file->tensors().size()) + " tensors; this plan needs " +
                      std::to_string(m_fusionParameters.size()) + " fusion blocks and the 2 multipliers");
    }
    std::vector<at::Tensor> blocks;
    for (const auto& [name, block] : m_fusionParameters)
        blocks.push_back(readTensor(*file, name, io::DType::F32, {block.size(0), block.size(1)}, kPlanShape));
    LagrangeMultipliers multipliers;
    multipliers.lambda1 = readTensor(*file, "lambda1", io::DType::F64, {}, kPlanShape).item<double>();
    multipliers.lambda2 = readTensor(*file, "lambda2", io::DType::F64, {}, kPlanShape).item<double>();
    if (!std::isfinite(multipliers.lambda1) || !std::isfinite(multipliers.lambda2))
        failInput(file->path().string(), "a Lagrange multiplier is not finite");

    m_modelOptimizer->load(dir / kModelOptimizerFile);
    m_fusionOptimizer->load(dir / kFusionOptimizerFile);
    model::Transformer heads = headsModel();  // its non-projection weights are the fused model's
    model::loadWeights(heads, io::SafetensorsCheckpoint::open(dir), dir);
    {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < blocks.size(); ++i)
            m_fusionParameters[i].second.copy_(blocks[i].to(m_fusionParameters[i].second.device()));
    }
    m_schedule = schedule;
    m_multipliers = multipliers;
    m_step = step;
    refreshFusedModel();
}

}  // namespace dha::training
