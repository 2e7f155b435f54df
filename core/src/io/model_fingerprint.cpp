// Model fingerprint: SHA-256 over config.json and the tensor table, with every field length-prefixed.
#include "io/model_fingerprint.h"

#include <cstdint>
#include <string_view>

#include "io/atomic_file.h"
#include "io/sha256.h"

namespace dha::io {
namespace {

// Each field is preceded by its length, so no two different tables hash the same byte stream.
void addField(Sha256& hash, std::string_view bytes) {
    const uint64_t size = bytes.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(size >> (8 * i));
    hash.update(prefix, sizeof prefix);
    hash.update(bytes);
}

}  // namespace

std::string modelFingerprint(const std::filesystem::path& configJsonPath,
                             const SafetensorsCheckpoint& checkpoint) {
    Sha256 hash;
    addField(hash, "dha-model-fingerprint-v1");
    addField(hash, readSmallFile(configJsonPath));              // the size limit of loadModelConfig
    const std::vector<std::string> names = checkpoint.names();  // sorted
    addField(hash, std::to_string(names.size()));
    for (const std::string& name : names) {
        const TensorInfo& tensor = *checkpoint.find(name)->tensor;
        addField(hash, name);
        addField(hash, dtypeName(tensor.dtype));
        std::string shape;
        for (const int64_t dim : tensor.shape) shape += std::to_string(dim) + ",";
        addField(hash, shape);
    }
    return toHex(hash.finish());
}

std::string modelFingerprint(const std::filesystem::path& modelDir) {
    return modelFingerprint(modelDir / "config.json", SafetensorsCheckpoint::open(modelDir));
}

}  // namespace dha::io
