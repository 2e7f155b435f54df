// Checked reads of the search and fusion stages' state files.
#include "training/state_file.h"

#include <cmath>
#include <cstring>
#include <exception>

#include "dha/error.h"

namespace dha::training {

const std::string& metadataValue(const io::SafetensorsFile& file, const std::string& key) {
    const auto found = file.metadata().find(key);
    if (found == file.metadata().end()) failInput(file.path().string(), "metadata has no \"" + key + "\"");
    return found->second;
}

int64_t metadataCount(const io::SafetensorsFile& file, const std::string& key) {
    const std::string& text = metadataValue(file, key);
    try {
        size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size() && value >= 0) return value;
    } catch (const std::exception&) {
    }
    failInput(file.path().string(), "metadata " + key + " '" + text + "' is not a count >= 0");
}

double metadataNumber(const io::SafetensorsFile& file, const std::string& key) {
    const std::string& text = metadataValue(file, key);
    try {
        size_t used = 0;
        const double value = std::stod(text, &used);
        if (used == text.size() && std::isfinite(value)) return value;
    } catch (const std::exception&) {
    }
    failInput(file.path().string(), "metadata " + key + " '" + text + "' is not a finite number");
}

at::Tensor readTensor(const io::SafetensorsFile& file, const std::string& name, io::DType dtype,
                      const std::vector<int64_t>& shape, const std::string& expected) {
    const io::TensorInfo* tensor = file.find(name);
    if (tensor == nullptr) failInput(file.path().string(), "has no tensor " + name);
    if (tensor->dtype != dtype || tensor->shape != shape) {
        failInput(file.path().string(), name + " is " + io::dtypeName(tensor->dtype) + " of " +
                                            std::to_string(tensor->shape.size()) +
                                            " dimensions or another shape; expected " + io::dtypeName(dtype) +
                                            " " + expected);
    }
    at::Tensor value = at::empty(shape, dtype == io::DType::F64 ? at::kDouble : at::kFloat);
    std::memcpy(value.data_ptr(), file.data(*tensor), tensor->byteSize());
    return value;
}

}  // namespace dha::training
