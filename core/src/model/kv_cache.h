// The KV cache: per layer, hk[l] key heads and hv[l] value heads, never expanded to the query heads.
// That is where DHA's memory saving is real.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "dha/model_config.h"

namespace dha::model {

class KvCache {
public:
    // Allocates every layer at once: keys [batch, hk[l], maxLength, headDim], values [batch, hv[l],
    // maxLength, headDim], with `options` (dtype and device). Usage error when batchSize or maxLength is not
    // positive.
    KvCache(const ModelConfig& config, int64_t batchSize, int64_t maxLength,
            const at::TensorOptions& options);

    int numLayers() const { return static_cast<int>(m_keys.size()); }
    int64_t batchSize() const { return m_batchSize; }
    int64_t maxLength() const { return m_maxLength; }
    int64_t length() const { return m_length; }  // tokens whose keys and values every layer holds
    int64_t remaining() const { return m_maxLength - m_length; }
    c10::ScalarType dtype() const;

    // Writes keys [batch, hk, T, d] and values [batch, hv, T, d] of `layer` at positions [length, length + T)
    // and returns views of that layer's positions [0, length + T). Does not move length(): call advance(T)
    // once every layer has appended, so a failed forward pass leaves the cache as it was.
    std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor& keys, const at::Tensor& values);
    void advance(int64_t tokens);
    void truncate(int64_t length);  // forget positions >= length
    void reset() { m_length = 0; }

    const at::Tensor& keys(int layer) const;    // [batch, hk, maxLength, d], valid up to length()
    const at::Tensor& values(int layer) const;  // [batch, hv, maxLength, d]

    // Bytes of tensor storage the cache really holds (sum of nbytes over every layer's keys and values).
    int64_t allocatedBytes() const;

private:
    int64_t m_batchSize;
    int64_t m_maxLength;
    int64_t m_length = 0;
    std::vector<at::Tensor> m_keys;
    std::vector<at::Tensor> m_values;
};

// KV cache bytes per token from the layouts alone: headDim * sum_l (hk[l] + hv[l]) * elementSize(dtype).
int64_t kvCacheBytesPerToken(const ModelConfig& config, c10::ScalarType dtype);

}  // namespace dha::model
