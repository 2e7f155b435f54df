// A whole file mapped read-only into memory (RAII), for the large weight files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

namespace dha::io {

// Maps a regular file read-only. A 0-byte file is valid and has data() == nullptr. Errors name the file.
// The mapping stays valid while this object lives; the file must not be truncated by someone else meanwhile.
class MappedFile {
public:
    static std::unique_ptr<MappedFile> open(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::byte* data() const { return m_data; }
    size_t size() const { return m_size; }
    const std::filesystem::path& path() const { return m_path; }

private:
    MappedFile() = default;
    std::filesystem::path m_path;
    const std::byte* m_data = nullptr;
    size_t m_size = 0;
};

}  // namespace dha::io
