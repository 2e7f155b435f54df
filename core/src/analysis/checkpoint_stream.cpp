// Streamed tensor reads: copy out of the mapping (whose bytes are not aligned for their dtype), then release.
#include "analysis/checkpoint_stream.h"

#include <ATen/ATen.h>

#include <cstring>

#include "dha/error.h"
#include "io/json_reader.h"
#include "model/tensor_dtype.h"
#include "model/tensor_names.h"

namespace dha::analysis {
namespace {

namespace fs = std::filesystem;

std::string quotedName(const std::string& name) { return "'" + io::printableExcerpt(name, 200) + "'"; }

const io::SafetensorsCheckpoint::Entry& entryOf(const io::SafetensorsCheckpoint& checkpoint,
                                                const std::string& name) {
    const io::SafetensorsCheckpoint::Entry* entry = checkpoint.find(name);
    if (entry == nullptr) fail(ErrorCode::Internal, name, "tensor read before it was checked");
    return *entry;
}

}  // namespace

void checkTensor(const io::SafetensorsCheckpoint& checkpoint, const fs::path& modelDir,
                 const std::string& name, const std::vector<int64_t>& shape) {
    const io::SafetensorsCheckpoint::Entry* entry = checkpoint.find(name);
    if (entry == nullptr) {
        std::error_code error;
        const fs::path container = fs::exists(modelDir / "model.safetensors", error)
                                       ? modelDir / "model.safetensors"
                                       : modelDir / "model.safetensors.index.json";
        failInput(container.string(), "missing tensor " + quotedName(name),
                  "config.json does not describe these weights");
    }
    const std::string file = (modelDir / checkpoint.fileNameOf(name)).string();
    const io::TensorInfo& tensor = *entry->tensor;
    if (!io::isFloatingPoint(tensor.dtype)) {
        failInput(file, "tensor " + quotedName(name) + " has dtype " + io::dtypeName(tensor.dtype) +
                            ", expected a floating-point dtype (F32, F16, BF16 or F64)");
    }
    if (tensor.shape != shape) {
        failInput(file,
                  "tensor " + quotedName(name) + " has shape " + model::shapeToString(tensor.shape) +
                      ", expected " + model::shapeToString(shape),
                  "config.json does not describe these weights");
    }
}

at::Tensor readTensor(const io::SafetensorsCheckpoint& checkpoint, const std::string& name) {
    const io::SafetensorsCheckpoint::Entry& entry = entryOf(checkpoint, name);
    const io::TensorInfo& info = *entry.tensor;
    at::Tensor copy = at::empty(info.shape, at::TensorOptions().dtype(model::scalarTypeOf(info.dtype)));
    std::memcpy(copy.data_ptr(), entry.file->data(info), info.byteSize());
    entry.file->releasePages(info);
    return copy;
}

at::Tensor gatherRows(const io::SafetensorsCheckpoint& checkpoint, const std::string& name,
                      const std::vector<int64_t>& rowIds) {
    const io::SafetensorsCheckpoint::Entry& entry = entryOf(checkpoint, name);
    const io::TensorInfo& info = *entry.tensor;
    if (info.shape.size() != 2) fail(ErrorCode::Internal, name, "gatherRows needs a 2-d tensor");
    const int64_t rows = info.shape[0];
    const size_t rowBytes = static_cast<size_t>(info.shape[1]) * io::dtypeSize(info.dtype);
    const auto count = static_cast<int64_t>(rowIds.size());
    at::Tensor gathered =
        at::empty({count, info.shape[1]}, at::TensorOptions().dtype(model::scalarTypeOf(info.dtype)));
    auto* target = static_cast<std::byte*>(gathered.data_ptr());
    const std::byte* source = entry.file->data(info);
    for (int64_t i = 0; i < count; ++i) {
        const int64_t row = rowIds[static_cast<size_t>(i)];
        if (row < 0 || row >= rows) {
            fail(ErrorCode::Internal, name, "row " + std::to_string(row) + " is outside the tensor");
        }
        std::memcpy(target + static_cast<size_t>(i) * rowBytes, source + static_cast<size_t>(row) * rowBytes,
                    rowBytes);
    }
    entry.file->releasePages(info);
    return gathered.to(at::kFloat);
}

}  // namespace dha::analysis
