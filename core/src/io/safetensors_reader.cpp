// SafetensorsFile: opens a .safetensors file through mmap and validates its whole header before any use.
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "dha/error.h"
#include "io/checked_math.h"
#include "io/json_reader.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"

namespace dha::io {
namespace {

using Json = nlohmann::json;

// The reference implementation's cap: real headers are KBs to a few MB; anything larger is hostile.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;
// PyTorch's own limit on tensor rank; a longer shape is junk even if every entry is 1.
constexpr size_t kMaxRank = 64;

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string offsetsText(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::optional<uint64_t> nonNegativeInteger(const Json& value) {
    if (value.is_number_unsigned()) return value.get<uint64_t>();
    if (value.is_number_integer() && value.get<int64_t>() >= 0)
        return static_cast<uint64_t>(value.get<int64_t>());
    return std::nullopt;
}

// Reads one tensor entry; `where` is "tensor 'name'" for messages.
TensorInfo parseEntry(const std::string& path, const std::string& name, const Json& entry,
                      uint64_t dataSize) {
    const std::string where = "tensor '" + printableExcerpt(name) + "'";
    if (!entry.is_object()) failInput(path, where + " is " + jsonTypeName(entry) + ", expected an object");
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!entry.contains(key)) failInput(path, where + " has no '" + key + "'");
    }
    for (const auto& item : entry.items()) {
        if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets") {
            failInput(path, where + " has an unexpected key '" + printableExcerpt(item.key()) + "'");
        }
    }
    TensorInfo tensor;
    tensor.name = name;

    const Json& dtype = entry["dtype"];
    if (!dtype.is_string())
        failInput(path, where + " dtype is " + jsonTypeName(dtype) + ", expected a string");
    const auto& dtypeText = dtype.get_ref<const std::string&>();
    const auto parsed = dtypeFromName(dtypeText);
    if (!parsed) {
        if (isKnownUnsupportedDtypeName(dtypeText)) {
            fail(ErrorCode::Unsupported, path,
                 where + " has dtype " + dtypeText + ", which this build cannot read",
                 "convert the checkpoint to F32, F16 or BF16");
        }
        failInput(path, where + " has unknown dtype '" + printableExcerpt(dtypeText) + "'");
    }
    tensor.dtype = *parsed;

    const Json& shape = entry["shape"];
    if (!shape.is_array())
        failInput(path, where + " shape is " + jsonTypeName(shape) + ", expected an array");
    if (shape.size() > kMaxRank) {
        failInput(path, where + " shape has " + std::to_string(shape.size()) + " dimensions, more than " +
                            std::to_string(kMaxRank));
    }
    uint64_t numel = 1;
    bool overflow = false;
    for (size_t i = 0; i < shape.size(); ++i) {
        const auto dim = nonNegativeInteger(shape[i]);
        if (!dim || *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            failInput(path, where + " shape[" + std::to_string(i) + "] is " +
                                printableExcerpt(shape[i].dump()) + ", expected a non-negative integer");
        }
        tensor.shape.push_back(static_cast<int64_t>(*dim));
        const auto product = checkedMultiply(numel, *dim);
        overflow = overflow || !product;
        numel = product.value_or(0);
    }
    const auto bytes = checkedMultiply(numel, dtypeSize(tensor.dtype));
    if (overflow || !bytes || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        failInput(path, where + " shape " + shapeText(tensor.shape) +
                            " has too many elements (the size overflows)");
    }

    const Json& offsets = entry["data_offsets"];
    const bool twoEntries = offsets.is_array() && offsets.size() == 2;
    const auto begin = twoEntries ? nonNegativeInteger(offsets[0]) : std::nullopt;
    const auto end = twoEntries ? nonNegativeInteger(offsets[1]) : std::nullopt;
    if (!begin || !end) {
        failInput(path, where + " data_offsets is " + printableExcerpt(offsets.dump()) +
                            ", expected [begin, end] with two non-negative integers");
    }
    if (*begin > *end)
        failInput(path, where + " data_offsets " + offsetsText(*begin, *end) + " end before they begin");
    if (*end > dataSize) {
        failInput(path, where + " data_offsets " + offsetsText(*begin, *end) +
                            " run past the end of the data (" + std::to_string(dataSize) + " bytes)");
    }
    if (*end - *begin != *bytes) {
        failInput(path, where + " data_offsets " + offsetsText(*begin, *end) + " hold " +
                            std::to_string(*end - *begin) + " bytes, but " + dtypeName(tensor.dtype) + " " +
                            shapeText(tensor.shape) + " needs " + std::to_string(*bytes));
    }
    tensor.dataBegin = *begin;
    tensor.dataEnd = *end;
    return tensor;
}

std::map<std::string, std::string> parseMetadata(const std::string& path, const Json& metadata) {
    if (!metadata.is_object()) {
        failInput(path, std::string("__metadata__ is ") + jsonTypeName(metadata) +
                            ", expected an object of strings");
    }
    std::map<std::string, std::string> result;
    for (const auto& item : metadata.items()) {
        if (!item.value().is_string()) {
            failInput(path, "__metadata__ value of '" + printableExcerpt(item.key()) + "' is " +
                                jsonTypeName(item.value()) + ", expected a string");
        }
        result.emplace(item.key(), item.value().get<std::string>());
    }
    return result;
}

// Tensors holding bytes must not share any; empty tensors own no bytes and may sit anywhere in range.
void checkNoOverlap(const std::string& path, const std::vector<TensorInfo>& tensors) {
    std::vector<const TensorInfo*> nonEmpty;
    for (const auto& tensor : tensors) {
        if (tensor.dataEnd > tensor.dataBegin) nonEmpty.push_back(&tensor);
    }
    std::sort(nonEmpty.begin(), nonEmpty.end(), [](const TensorInfo* a, const TensorInfo* b) {
        return a->dataBegin != b->dataBegin ? a->dataBegin < b->dataBegin : a->name < b->name;
    });
    for (size_t i = 1; i < nonEmpty.size(); ++i) {
        const TensorInfo& previous = *nonEmpty[i - 1];
        const TensorInfo& current = *nonEmpty[i];
        if (current.dataBegin < previous.dataEnd) {
            failInput(path, "tensors '" + printableExcerpt(previous.name) + "' " +
                                offsetsText(previous.dataBegin, previous.dataEnd) + " and '" +
                                printableExcerpt(current.name) + "' " +
                                offsetsText(current.dataBegin, current.dataEnd) + " overlap");
        }
    }
}

}  // namespace

int64_t TensorInfo::numel() const {
    int64_t count = 1;
    for (const int64_t dim : shape) count *= dim;
    return count;
}

SafetensorsFile::~SafetensorsFile() = default;

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
    const std::string pathText = path.string();
    std::shared_ptr<SafetensorsFile> file(new SafetensorsFile);
    file->m_path = path;
    file->m_file = MappedFile::open(path);
    const uint64_t fileSize = file->m_file->size();
    if (fileSize < 8) {
        failInput(pathText, "file is " + std::to_string(fileSize) +
                                " bytes, too short for a safetensors file (8-byte header length first)");
    }
    uint64_t headerBytes = 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(file->m_file->data());
    for (int i = 7; i >= 0; --i) headerBytes = (headerBytes << 8) | bytes[i];  // little-endian
    if (headerBytes > kMaxHeaderBytes) {
        failInput(pathText, "header length " + std::to_string(headerBytes) + " is above the limit of " +
                                std::to_string(kMaxHeaderBytes) +
                                " bytes (not a safetensors file, or corrupt)");
    }
    if (headerBytes > fileSize - 8) {
        failInput(pathText, "header length " + std::to_string(headerBytes) +
                                " runs past the end of the file (" + std::to_string(fileSize) +
                                " bytes; truncated?)");
    }
    file->m_dataStart = 8 + headerBytes;
    const uint64_t dataSize = fileSize - file->m_dataStart;

    const std::string_view headerText(reinterpret_cast<const char*>(bytes + 8), headerBytes);
    const Json header = parseJsonStrict(headerText, pathText, "header");
    if (!header.is_object()) {
        failInput(pathText, std::string("header is ") + jsonTypeName(header) + ", expected a JSON object");
    }
    for (const auto& item : header.items()) {
        if (item.key() == "__metadata__") {
            file->m_metadata = parseMetadata(pathText, item.value());
        } else {
            file->m_tensors.push_back(parseEntry(pathText, item.key(), item.value(), dataSize));
        }
    }
    checkNoOverlap(pathText, file->m_tensors);
    // Data order: iterating tensors then walks the mapping front to back.
    std::sort(file->m_tensors.begin(), file->m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.dataBegin != b.dataBegin ? a.dataBegin < b.dataBegin : a.name < b.name;
    });
    for (size_t i = 0; i < file->m_tensors.size(); ++i) file->m_index.emplace(file->m_tensors[i].name, i);
    return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

const std::byte* SafetensorsFile::data(const TensorInfo& tensor) const {
    const std::less<const TensorInfo*> before;
    if (m_tensors.empty() || before(&tensor, m_tensors.data()) ||
        !before(&tensor, m_tensors.data() + m_tensors.size())) {
        fail(ErrorCode::Internal, m_path.string(),
             "tensor '" + tensor.name + "' does not belong to this file");
    }
    return m_file->data() + m_dataStart + tensor.dataBegin;
}

void SafetensorsFile::releasePages(const TensorInfo& tensor) const {
    data(tensor);  // the same ownership check: a foreign TensorInfo's offsets mean nothing here
    m_file->releasePages(static_cast<size_t>(m_dataStart + tensor.dataBegin),
                         static_cast<size_t>(tensor.byteSize()));
}

}  // namespace dha::io
