// Crash-safe file publication: write to a temporary name in the same directory, fsync, rename.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace dha::io {

// Replaces `path` with `content` atomically; the directory is fsynced after the rename.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content);

// Reads a whole (small) file, refusing files larger than maxBytes. Errors name the file.
std::string readSmallFile(const std::filesystem::path& path, size_t maxBytes = 64u << 20);

// Streams a file into `.<name>.tmp-<pid>-<random>` next to `path`; commit() fsyncs it, renames it over
// `path` and fsyncs the directory. Destroying an uncommitted writer (or any failure) removes the temporary
// file, so readers only ever see the old file or the complete new one. Errors throw ErrorCode::Io naming
// `path`.
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(std::filesystem::path path);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }
    void commit();

    const std::filesystem::path& path() const { return m_path; }
    const std::filesystem::path& temporaryPath() const { return m_tempPath; }

private:
    [[noreturn]] void failAndDiscard(const std::string& what, int errorNumber);
    void discard() noexcept;

    std::filesystem::path m_path;
    std::filesystem::path m_tempPath;
    int m_fd = -1;
    bool m_committed = false;
};

}  // namespace dha::io
