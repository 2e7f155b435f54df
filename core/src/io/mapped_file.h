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

    // Drops this process's pages of bytes [offset, offset + length) (widened to whole pages) from its
    // resident set, so a streamed read of a large file does not accumulate it in RSS. The data stays valid:
    // the mapping is read-only, so a later access faults the pages back in from the file. A range outside
    // the file is clamped to it; an empty range does nothing. Logically const (the bytes never change).
    void releasePages(size_t offset, size_t length) const;

private:
    MappedFile() = default;
    std::filesystem::path m_path;
    const std::byte* m_data = nullptr;
    size_t m_size = 0;
};

}  // namespace dha::io
