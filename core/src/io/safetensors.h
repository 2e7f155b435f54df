// Safetensors files: an mmapped, fully validated reader, and an atomic writer (formats.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dha::io {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

const char* dtypeName(DType dtype);  // "F32", "BF16", ...: the safetensors spelling
size_t dtypeSize(DType dtype);
bool isFloatingPoint(DType dtype);
// The dtype a safetensors header spells `name` ("F32", "BOOL", ...); nullopt for anything else.
std::optional<DType> dtypeFromName(std::string_view name);
// Safetensors dtypes this build knows but cannot handle (F8_E4M3, U32, ...): reported as Unsupported, not
// unknown.
bool isKnownUnsupportedDtypeName(std::string_view name);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t dataBegin = 0;  // offsets relative to the start of the data section
    uint64_t dataEnd = 0;
    int64_t numel() const;
    uint64_t byteSize() const { return dataEnd - dataBegin; }
};

class MappedFile;

// One .safetensors file, mmapped read-only. Opening checks everything formats.md lists (header length
// within the file and below a cap, JSON object, known dtype, shape without overflow, byte length =
// numel x itemsize, offsets inside the data, no overlap, no duplicate names); any violation throws
// dha::Exception naming the file. After open() succeeds every TensorInfo can be used without further checks.
class SafetensorsFile {
public:
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
    ~SafetensorsFile();

    const std::filesystem::path& path() const { return m_path; }
    const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    const TensorInfo* find(const std::string& name) const;  // nullptr when absent
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    // Pointer to the first byte of a tensor's data (valid while this object lives). Not aligned in general.
    const std::byte* data(const TensorInfo& tensor) const;
    // Drops the tensor's pages from this process's resident set after it has been copied out (streamed
    // readers call it so a large checkpoint never accumulates in RSS); data() stays valid and refaults.
    void releasePages(const TensorInfo& tensor) const;

private:
    SafetensorsFile() = default;
    std::filesystem::path m_path;
    std::unique_ptr<MappedFile> m_file;
    uint64_t m_dataStart = 0;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

// A model directory's weights: `model.safetensors`, or the shards named by `model.safetensors.index.json`.
// Every weight_map entry must name a file inside the directory and the tensor must be in that shard.
class SafetensorsCheckpoint {
public:
    static SafetensorsCheckpoint open(const std::filesystem::path& modelDir);

    struct Entry {
        const SafetensorsFile* file = nullptr;
        const TensorInfo* tensor = nullptr;
    };
    std::vector<std::string> names() const;            // sorted
    const Entry* find(const std::string& name) const;  // nullptr when absent
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return m_files; }
    // Name of the file holding `name`, relative to the model directory, for error messages.
    std::string fileNameOf(const std::string& name) const;

private:
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, Entry> m_entries;
    std::filesystem::path m_dir;
};

struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;  // numel x dtypeSize bytes, little-endian
};

// Writes a .safetensors file atomically (temporary file, fsync, rename). Tensors are written in the given
// order; the header is padded to a multiple of 8 bytes. Deterministic: same input, same bytes.
void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace dha::io
