// AdamW over a model's named parameters, with its state saved to and restored from safetensors by Hugging
// Face parameter name, so a resumed run continues bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dha::training {

struct AdamWOptions {
    double beta1 = 0.9;
    double beta2 = 0.95;
    double epsilon = 1e-8;
    double weightDecay = 0.1;
};

// PyTorch's torch.optim.AdamW update, in fp32. Weight decay applies to matrices (embeddings, projections,
// lm_head) and not to vectors (RMSNorm scales, biases): decaying a norm scale towards zero only fights the
// normalisation.
class AdamW {
public:
    using NamedParameters = std::vector<std::pair<std::string, at::Tensor>>;
    AdamW(NamedParameters parameters, AdamWOptions options);

    // One update from the parameters' .grad() (a missing gradient counts as zero); advances stepCount.
    void step(double learningRate);
    int64_t stepCount() const { return m_stepCount; }

    // optimizer.safetensors: "<name>.exp_avg" and "<name>.exp_avg_sq" (F32, the parameter's shape) for every
    // parameter in order, and metadata {"format": "dha-adamw", "step": N, betas, epsilon, weight decay}.
    void save(const std::filesystem::path& file) const;
    // Restores moments and step count; every tensor must be present with the right dtype and shape, and
    // nothing else; errors name the file.
    void load(const std::filesystem::path& file);

private:
    struct Slot {
        std::string name;
        at::Tensor parameter;
        at::Tensor expAvg;    // first moment, parameter's shape
        at::Tensor expAvgSq;  // second moment
        bool decay = false;
    };
    std::vector<Slot> m_slots;
    AdamWOptions m_options;
    int64_t m_stepCount = 0;
};

// Scales all gradients so their global L2 norm is at most maxNorm (PyTorch's clip_grad_norm_, with its 1e-6);
// returns the norm before clipping. maxNorm <= 0 only measures.
double clipGradientNorm(const AdamW::NamedParameters& parameters, double maxNorm);

}  // namespace dha::training
