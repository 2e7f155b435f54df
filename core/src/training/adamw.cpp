// AdamW with safetensors state, and global gradient-norm clipping.
#include "training/adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "dha/error.h"
#include "io/safetensors.h"

namespace dha::training {
namespace {

std::string numberText(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    return buffer;
}

}  // namespace

AdamW::AdamW(NamedParameters parameters, AdamWOptions options) : m_options(options) {
    for (auto& [name, parameter] : parameters) {
        if (parameter.scalar_type() != at::kFloat) {
            fail(ErrorCode::Internal, name, "AdamW keeps fp32 master weights; this parameter is not fp32");
        }
        Slot slot;
        slot.name = name;
        slot.parameter = parameter;
        slot.expAvg = at::zeros(parameter.sizes(), parameter.options());
        slot.expAvgSq = at::zeros(parameter.sizes(), parameter.options());
        slot.decay = parameter.dim() >= 2;
        m_slots.push_back(std::move(slot));
    }
}

void AdamW::step(double learningRate) {
    at::NoGradGuard noGrad;
    ++m_stepCount;
    const double biasCorrection1 = 1.0 - std::pow(m_options.beta1, static_cast<double>(m_stepCount));
    const double biasCorrection2 = 1.0 - std::pow(m_options.beta2, static_cast<double>(m_stepCount));
    const double stepSize = learningRate / biasCorrection1;
    const double secondMomentScale = std::sqrt(biasCorrection2);
    for (Slot& slot : m_slots) {
        at::Tensor& parameter = slot.parameter;
        if (slot.decay && m_options.weightDecay != 0.0)
            parameter.mul_(1.0 - learningRate * m_options.weightDecay);
        const at::Tensor& gradient = parameter.grad();
        if (gradient.defined()) {
            slot.expAvg.mul_(m_options.beta1).add_(gradient, 1.0 - m_options.beta1);
            slot.expAvgSq.mul_(m_options.beta2).addcmul_(gradient, gradient, 1.0 - m_options.beta2);
        } else {
            slot.expAvg.mul_(m_options.beta1);
            slot.expAvgSq.mul_(m_options.beta2);
        }
        const at::Tensor denominator = (slot.expAvgSq.sqrt() / secondMomentScale).add_(m_options.epsilon);
        parameter.addcdiv_(slot.expAvg, denominator, -stepSize);
    }
}

void AdamW::save(const std::filesystem::path& file) const {
    std::vector<at::Tensor> hostTensors;  // keeps CPU copies alive until the file is written (no copy on CPU)
    hostTensors.reserve(2 * m_slots.size());
    std::vector<io::TensorToWrite> tensors;
    for (const Slot& slot : m_slots) {
        const std::vector<int64_t> shape(slot.parameter.sizes().begin(), slot.parameter.sizes().end());
        hostTensors.push_back(slot.expAvg.to(at::kCPU).contiguous());
        tensors.push_back({slot.name + ".exp_avg", io::DType::F32, shape, hostTensors.back().data_ptr()});
        hostTensors.push_back(slot.expAvgSq.to(at::kCPU).contiguous());
        tensors.push_back({slot.name + ".exp_avg_sq", io::DType::F32, shape, hostTensors.back().data_ptr()});
    }
    io::writeSafetensors(file, tensors,
                         {{"format", "dha-adamw"},
                          {"step", std::to_string(m_stepCount)},
                          {"beta1", numberText(m_options.beta1)},
                          {"beta2", numberText(m_options.beta2)},
                          {"epsilon", numberText(m_options.epsilon)},
                          {"weight_decay", numberText(m_options.weightDecay)}});
}

void AdamW::load(const std::filesystem::path& file) {
    const auto state = io::SafetensorsFile::open(file);
    const auto& metadata = state->metadata();
    const auto format = metadata.find("format");
    const auto step = metadata.find("step");
    if (format == metadata.end() || format->second != "dha-adamw" || step == metadata.end()) {
        failInput(file.string(),
                  "is not a DHA AdamW state (metadata format \"dha-adamw\" and step expected)");
    }
    int64_t stepCount = -1;
    try {
        size_t used = 0;
        stepCount = std::stoll(step->second, &used);
        if (used != step->second.size()) stepCount = -1;
    } catch (const std::exception&) {
        stepCount = -1;
    }
    if (stepCount < 0) failInput(file.string(), "metadata step '" + step->second + "' is not a step count");
    if (state->tensors().size() != 2 * m_slots.size()) {
        failInput(file.string(), "holds " + std::to_string(state->tensors().size()) +
                                     " tensors; this model needs " + std::to_string(2 * m_slots.size()) +
                                     " (exp_avg and exp_avg_sq per parameter)");
    }
    std::vector<at::Tensor> restored;  // checked completely before anything is replaced
    for (const Slot& slot : m_slots) {
        for (const char* suffix : {".exp_avg", ".exp_avg_sq"}) {
            const std::string name = slot.name + suffix;
            const io::TensorInfo* tensor = state->find(name);
            const std::vector<int64_t> shape(slot.parameter.sizes().begin(), slot.parameter.sizes().end());
            if (tensor == nullptr) failInput(file.string(), "has no tensor " + name);
            if (tensor->dtype != io::DType::F32 || tensor->shape != shape) {
                failInput(file.string(), name + " is " + io::dtypeName(tensor->dtype) +
                                             " of another shape; expected F32 of the parameter's shape");
            }
            at::Tensor value = at::empty(shape, at::kFloat);
            std::memcpy(value.data_ptr(), state->data(*tensor), tensor->byteSize());
            restored.push_back(std::move(value));
        }
    }
    for (size_t i = 0; i < m_slots.size(); ++i) {
        m_slots[i].expAvg = restored[2 * i].to(m_slots[i].parameter.device());
        m_slots[i].expAvgSq = restored[2 * i + 1].to(m_slots[i].parameter.device());
    }
    m_stepCount = stepCount;
}

double clipGradientNorm(const AdamW::NamedParameters& parameters, double maxNorm) {
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> norms;
    for (const auto& [name, parameter] : parameters) {
        if (parameter.grad().defined()) norms.push_back(parameter.grad().detach().to(at::kFloat).norm());
    }
    if (norms.empty()) return 0.0;
    const double total = at::stack(norms).norm().item<double>();
    if (maxNorm > 0.0 && std::isfinite(total)) {
        const double scale = maxNorm / (total + 1e-6);
        if (scale < 1.0) {
            for (const auto& [name, parameter] : parameters) {
                if (parameter.grad().defined()) parameter.mutable_grad().mul_(scale);
            }
        }
    }
    return total;
}

}  // namespace dha::training
