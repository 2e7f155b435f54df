// Temporary-file-then-rename writes, and size-capped whole-file reads.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "dha/error.h"

namespace dha::io {
namespace {

std::string errnoText(int errorNumber) { return std::strerror(errorNumber); }

// Unique per process and call: two writers of the same target (threads or processes) never share a temp file.
std::string temporaryName(const std::string& fileName) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t seed = [] {
        std::random_device device;
        return (static_cast<uint64_t>(device()) << 32) ^ device();
    }();
    const uint64_t mixed = seed ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull);
    char random[17];
    std::snprintf(random, sizeof random, "%016llx", static_cast<unsigned long long>(mixed));
    return "." + fileName + ".tmp-" + std::to_string(::getpid()) + "-" + random;
}

std::filesystem::path directoryOf(const std::filesystem::path& path) {
    const auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path) : m_path(std::move(path)) {
    const std::string fileName = m_path.filename().string();
    if (fileName.empty() || fileName == "." || fileName == "..") {
        fail(ErrorCode::Usage, m_path.string(), "not a file name to write");
    }
    // O_EXCL: a stale temp file of a crashed writer (same pid reused) is never truncated under someone else.
    for (int attempt = 0; attempt < 16 && m_fd < 0; ++attempt) {
        m_tempPath = directoryOf(m_path) / temporaryName(fileName);
        m_fd = ::open(m_tempPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (m_fd < 0 && errno != EEXIST) {
            const int error = errno;
            fail(ErrorCode::Io, m_path.string(),
                 "cannot create a temporary file next to it: " + errnoText(error));
        }
    }
    if (m_fd < 0) fail(ErrorCode::Io, m_path.string(), "cannot find a free temporary file name next to it");
}

AtomicFileWriter::~AtomicFileWriter() {
    if (!m_committed) discard();
}

void AtomicFileWriter::discard() noexcept {
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
    if (!m_tempPath.empty()) {
        ::unlink(m_tempPath.c_str());
        m_tempPath.clear();
    }
}

void AtomicFileWriter::failAndDiscard(const std::string& what, int errorNumber) {
    discard();
    fail(ErrorCode::Io, m_path.string(), what + ": " + errnoText(errorNumber));
}

void AtomicFileWriter::write(const void* data, size_t size) {
    if (m_fd < 0) fail(ErrorCode::Internal, m_path.string(), "write after commit or failure");
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t written = ::write(m_fd, bytes, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            failAndDiscard("cannot write", errno);
        }
        bytes += written;
        size -= static_cast<size_t>(written);
    }
}

void AtomicFileWriter::commit() {
    if (m_fd < 0) fail(ErrorCode::Internal, m_path.string(), "commit after commit or failure");
    if (::fsync(m_fd) != 0) failAndDiscard("cannot flush to disk", errno);
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) failAndDiscard("cannot close", errno);
    if (::rename(m_tempPath.c_str(), m_path.c_str()) != 0) failAndDiscard("cannot rename into place", errno);
    m_tempPath.clear();
    m_committed = true;
    // The rename is only durable once the directory entry is on disk.
    const auto dir = directoryOf(m_path);
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd < 0) {
        const int error = errno;
        fail(ErrorCode::Io, m_path.string(), "cannot open its directory to flush it: " + errnoText(error));
    }
    // Some file systems cannot fsync a directory (EINVAL); the file itself is already durable there.
    if (::fsync(dirFd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        const int error = errno;
        ::close(dirFd);
        fail(ErrorCode::Io, m_path.string(), "cannot flush its directory: " + errnoText(error));
    }
    ::close(dirFd);
}

void writeFileAtomically(const std::filesystem::path& path, std::string_view content) {
    AtomicFileWriter writer(path);
    writer.write(content);
    writer.commit();
}

std::string readSmallFile(const std::filesystem::path& path, size_t maxBytes) {
    // O_NONBLOCK: opening a FIFO must not hang; non-regular files are refused right after.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int error = errno;
        if (error == ENOENT || error == ENOTDIR) failInput(path.string(), "file does not exist");
        fail(ErrorCode::Io, path.string(), "cannot open: " + errnoText(error));
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int error = errno;
        ::close(fd);
        fail(ErrorCode::Io, path.string(), "cannot stat: " + errnoText(error));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        failInput(path.string(), "not a regular file");
    }
    if (static_cast<uint64_t>(info.st_size) > maxBytes) {
        ::close(fd);
        failInput(path.string(), "file is " + std::to_string(info.st_size) + " bytes, more than the " +
                                     std::to_string(maxBytes) + "-byte limit for this kind of file");
    }
    std::string content(static_cast<size_t>(info.st_size), '\0');
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t got = ::read(fd, content.data() + done, content.size() - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int error = errno;
            ::close(fd);
            fail(ErrorCode::Io, path.string(), "cannot read: " + errnoText(error));
        }
        if (got == 0) break;  // shrank while reading: keep what is there
        done += static_cast<size_t>(got);
    }
    content.resize(done);
    ::close(fd);
    return content;
}

}  // namespace dha::io
