// Every layer's key and value outputs over a calibration batch, with one decoder layer in memory at a time.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>

#include "dha/kernels/rope.h"
#include "dha/model_config.h"
#include "io/safetensors.h"

namespace dha::analysis {

struct KvRows {
    at::Tensor keys;    // [hk * headDim, tokens] float32: head h's outputs are rows h*headDim .. +headDim
    at::Tensor values;  // [hv * headDim, tokens] float32
};

// Walks the decoder layer by layer: keeps the hidden states of all calibration windows, loads one layer's
// weights from the mmapped checkpoint (pages released after the copy), reads its K/V outputs, runs it
// forward and drops it. The maths is the model's own (model::DecoderLayer), in float32.
class LayerActivations {
public:
    // tokens: int64 [windows, windowLength], every id < config.vocabSize. Checks every tensor the walk
    // needs (headers only: embeddings and all layers) before anything is computed; errors name the file.
    LayerActivations(const ModelConfig& config, const io::SafetensorsCheckpoint& checkpoint,
                     const std::filesystem::path& modelDir, const at::Tensor& tokens, c10::Device device);

    int nextLayer() const { return m_nextLayer; }
    // K/V outputs of layer nextLayer(), keys before RoPE when preRopeKeys, else as attention sees them
    // (after RoPE); then advances the hidden states past that layer.
    KvRows next(bool preRopeKeys);

private:
    const ModelConfig& m_config;
    const io::SafetensorsCheckpoint& m_checkpoint;
    c10::Device m_device;
    kernels::RopeTables m_rope;  // positions 0 .. windowLength-1
    at::Tensor m_hidden;         // [windows, windowLength, hidden] float32
    int m_nextLayer = 0;
};

}  // namespace dha::analysis
