// writeSafetensors: deterministic, atomically published .safetensors files.
#include <set>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/checked_math.h"
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

namespace dha::io {
namespace {

uint64_t byteSizeOf(const std::filesystem::path& path, const TensorToWrite& tensor) {
    uint64_t bytes = dtypeSize(tensor.dtype);
    for (const int64_t dim : tensor.shape) {
        if (dim < 0)
            fail(ErrorCode::Usage, path.string(), "tensor '" + tensor.name + "' has a negative dimension");
        const auto product = checkedMultiply(bytes, static_cast<uint64_t>(dim));
        if (!product) fail(ErrorCode::Usage, path.string(), "tensor '" + tensor.name + "' size overflows");
        bytes = *product;
    }
    return bytes;
}

}  // namespace

void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // Keys keep insertion order, so the header (and therefore the file) depends only on the arguments.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::set<std::string> seen;
    std::vector<uint64_t> sizes;
    uint64_t offset = 0;
    for (const auto& tensor : tensors) {
        if (tensor.name.empty() || tensor.name == "__metadata__" || !seen.insert(tensor.name).second) {
            fail(ErrorCode::Usage, path.string(),
                 "tensor name '" + tensor.name + "' is empty, reserved or repeated");
        }
        const uint64_t bytes = byteSizeOf(path, tensor);
        if (bytes > 0 && tensor.data == nullptr) {
            fail(ErrorCode::Usage, path.string(), "tensor '" + tensor.name + "' has no data");
        }
        const auto end = checkedAdd(offset, bytes);
        if (!end) fail(ErrorCode::Usage, path.string(), "total tensor size overflows");
        header[tensor.name] = {
            {"dtype", dtypeName(tensor.dtype)}, {"shape", tensor.shape}, {"data_offsets", {offset, *end}}};
        sizes.push_back(bytes);
        offset = *end;
    }
    std::string headerText;
    try {
        headerText = header.dump();
    } catch (const nlohmann::json::exception& error) {  // a name or metadata string that is not UTF-8
        fail(ErrorCode::Usage, path.string(), std::string("cannot encode the header: ") + error.what());
    }
    // The data section then starts 8-byte aligned, as the format recommends.
    headerText.append((8 - headerText.size() % 8) % 8, ' ');

    unsigned char lengthBytes[8];
    uint64_t length = headerText.size();
    for (unsigned char& byte : lengthBytes) {
        byte = static_cast<unsigned char>(length & 0xff);
        length >>= 8;
    }
    AtomicFileWriter writer(path);
    writer.write(lengthBytes, sizeof lengthBytes);
    writer.write(headerText);
    // Tensor data is streamed straight from the caller's buffers: no copy of a multi-GB checkpoint in memory.
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (sizes[i] > 0) writer.write(tensors[i].data, sizes[i]);
    }
    writer.commit();
}

}  // namespace dha::io
