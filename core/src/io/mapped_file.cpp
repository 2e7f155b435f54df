// mmap-based read-only file mapping.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dha/error.h"

namespace dha::io {
namespace {

// Closes the descriptor on every path out of open(); the mapping does not need it.
struct FdGuard {
    int fd;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
    // O_NONBLOCK: opening a FIFO must not hang; non-regular files are refused right after.
    FdGuard guard{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (guard.fd < 0) {
        const int error = errno;
        if (error == ENOENT || error == ENOTDIR) failInput(path.string(), "file does not exist");
        fail(ErrorCode::Io, path.string(), std::string("cannot open: ") + std::strerror(error));
    }
    struct stat info {};
    if (::fstat(guard.fd, &info) != 0) {
        const int error = errno;
        fail(ErrorCode::Io, path.string(), std::string("cannot stat: ") + std::strerror(error));
    }
    if (!S_ISREG(info.st_mode)) failInput(path.string(), "not a regular file");

    std::unique_ptr<MappedFile> file(new MappedFile);
    file->m_path = path;
    file->m_size = static_cast<size_t>(info.st_size);
    if (file->m_size == 0) return file;  // mmap of length 0 is an error; an empty file is not
    void* address = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, guard.fd, 0);
    if (address == MAP_FAILED) {
        const int error = errno;
        fail(ErrorCode::Io, path.string(), std::string("cannot map into memory: ") + std::strerror(error));
    }
    file->m_data = static_cast<const std::byte*>(address);
    return file;
}

void MappedFile::releasePages(size_t offset, size_t length) const {
    if (m_data == nullptr || offset >= m_size || length == 0) return;
    const size_t end = length > m_size - offset ? m_size : offset + length;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    // Widen to whole pages: neighbouring bytes on the same pages are dropped too, which is harmless because
    // a read-only private file mapping refaults them unchanged on the next access.
    const size_t begin = offset / page * page;
    const size_t alignedEnd = std::min(m_size, (end + page - 1) / page * page);
    // MADV_DONTNEED on clean pages of a read-only file mapping only drops them. A failure (none is expected)
    // just leaves them resident, so it is not an error.
    ::madvise(const_cast<std::byte*>(m_data) + begin, alignedEnd - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
    if (m_data != nullptr) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

}  // namespace dha::io
