// Compact per-layer key/value storage for incremental decoding.
#include "model/kv_cache.h"

#include <ATen/ATen.h>

#include <string>

#include "dha/error.h"

namespace dha::model {
namespace {

std::string shapeText(at::IntArrayRef sizes) {
    std::string text = "[";
    for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
    return text + "]";
}

}  // namespace

KvCache::KvCache(const ModelConfig& config, int64_t batchSize, int64_t maxLength,
                 const at::TensorOptions& options)
    : m_batchSize(batchSize), m_maxLength(maxLength) {
    if (batchSize < 1 || maxLength < 1) {
        fail(ErrorCode::Usage, "kv cache",
             "batch size and length must be positive (got " + std::to_string(batchSize) + " x " +
                 std::to_string(maxLength) + ")");
    }
    for (const HeadLayout& layout : config.layers) {
        m_keys.push_back(at::empty({batchSize, layout.numKeyHeads, maxLength, config.headDim}, options));
        m_values.push_back(at::empty({batchSize, layout.numValueHeads, maxLength, config.headDim}, options));
    }
}

c10::ScalarType KvCache::dtype() const { return m_keys.empty() ? at::kFloat : m_keys.front().scalar_type(); }

std::pair<at::Tensor, at::Tensor> KvCache::append(int layer, const at::Tensor& keys,
                                                  const at::Tensor& values) {
    const at::Tensor& keyStore = this->keys(layer);      // [batch, hk, maxLength, d]
    const at::Tensor& valueStore = this->values(layer);  // [batch, hv, maxLength, d]
    const int64_t newTokens = keys.dim() == 4 ? keys.size(2) : -1;
    const bool keysFit = keys.dim() == 4 && keys.size(0) == m_batchSize && keys.size(1) == keyStore.size(1) &&
                         keys.size(3) == keyStore.size(3);
    const bool valuesFit = values.dim() == 4 && values.size(0) == m_batchSize &&
                           values.size(1) == valueStore.size(1) && values.size(2) == newTokens &&
                           values.size(3) == valueStore.size(3);
    if (!keysFit || !valuesFit) {
        fail(ErrorCode::Internal, "kv cache",
             "layer " + std::to_string(layer) + " appends keys " + shapeText(keys.sizes()) + " and values " +
                 shapeText(values.sizes()) + " to a cache of keys " + shapeText(keyStore.sizes()) +
                 " and values " + shapeText(valueStore.sizes()));
    }
    if (newTokens > remaining()) {
        fail(ErrorCode::Usage, "kv cache",
             "cannot append " + std::to_string(newTokens) + " tokens: the cache holds " +
                 std::to_string(m_length) + " of " + std::to_string(m_maxLength));
    }
    keyStore.narrow(2, m_length, newTokens).copy_(keys);
    valueStore.narrow(2, m_length, newTokens).copy_(values);
    return {keyStore.narrow(2, 0, m_length + newTokens), valueStore.narrow(2, 0, m_length + newTokens)};
}

void KvCache::advance(int64_t tokens) {
    if (tokens < 0 || tokens > remaining()) {
        fail(ErrorCode::Internal, "kv cache",
             "cannot advance by " + std::to_string(tokens) + " tokens at length " + std::to_string(m_length));
    }
    m_length += tokens;
}

void KvCache::truncate(int64_t length) {
    if (length < 0 || length > m_length) {
        fail(
            ErrorCode::Usage, "kv cache",
            "cannot truncate to " + std::to_string(length) + " tokens at length " + std::to_string(m_length));
    }
    m_length = length;
}

const at::Tensor& KvCache::keys(int layer) const {
    if (layer < 0 || layer >= numLayers())
        fail(ErrorCode::Internal, "kv cache", "no layer " + std::to_string(layer));
    return m_keys[static_cast<size_t>(layer)];
}

const at::Tensor& KvCache::values(int layer) const {
    if (layer < 0 || layer >= numLayers())
        fail(ErrorCode::Internal, "kv cache", "no layer " + std::to_string(layer));
    return m_values[static_cast<size_t>(layer)];
}

int64_t KvCache::allocatedBytes() const {
    int64_t bytes = 0;
    for (const at::Tensor& tensor : m_keys) bytes += static_cast<int64_t>(tensor.storage().nbytes());
    for (const at::Tensor& tensor : m_values) bytes += static_cast<int64_t>(tensor.storage().nbytes());
    return bytes;
}

int64_t kvCacheBytesPerToken(const ModelConfig& config, c10::ScalarType dtype) {
    int64_t elements = 0;
    for (const HeadLayout& layout : config.layers) elements += kvElementsPerToken(layout, config.headDim);
    return elements * static_cast<int64_t>(c10::elementSize(dtype));
}

}  // namespace dha::model
