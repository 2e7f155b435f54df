// ExportStaging: a hidden temporary sibling directory, renamed onto the export target only when complete.
#include "exporting/export_staging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <system_error>

#include "dha/error.h"

namespace dha::exporting {
namespace {

namespace fs = std::filesystem;

// "out/" and "out/." name the directory "out": rename(2) needs a final component.
fs::path cleanTarget(const fs::path& target) {
    fs::path clean = target.lexically_normal();
    if (clean.filename().empty()) clean = clean.parent_path();
    const std::string name = clean.filename().string();
    if (name.empty() || name == "." || name == "..") {
        fail(ErrorCode::Usage, target.string(), "not a directory name to export into");
    }
    return clean;
}

fs::path parentOf(const fs::path& path) {
    const fs::path parent = path.parent_path();
    return parent.empty() ? fs::path(".") : parent;
}

void fsyncDirectory(const fs::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        fail(ErrorCode::Io, directory.string(),
             std::string("cannot open to flush it: ") + std::strerror(error));
    }
    // Some file systems cannot fsync a directory (EINVAL); their entries are durable without it.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        const int error = errno;
        ::close(fd);
        fail(ErrorCode::Io, directory.string(), std::string("cannot flush: ") + std::strerror(error));
    }
    ::close(fd);
}

std::string randomSuffix() {
    static std::random_device device;
    const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

void checkExportTarget(const fs::path& target) {
    const fs::path clean = cleanTarget(target);
    std::error_code error;
    const fs::file_status status = fs::symlink_status(clean, error);
    if (status.type() == fs::file_type::not_found) return;
    if (error) fail(ErrorCode::Io, clean.string(), "cannot inspect the export target: " + error.message());
    if (status.type() != fs::file_type::directory) {
        fail(ErrorCode::Usage, clean.string(), "exists and is not a directory",
             "export into a new directory or an empty one");
    }
    const bool empty = fs::is_empty(clean, error);
    if (error) fail(ErrorCode::Io, clean.string(), "cannot list the export target: " + error.message());
    if (!empty) {
        fail(ErrorCode::Usage, clean.string(), "is not empty; an export never mixes with existing files",
             "export into a new directory or an empty one");
    }
}

ExportStaging::ExportStaging(const fs::path& target) : m_target(cleanTarget(target)) {
    checkExportTarget(m_target);
    const fs::path parent = parentOf(m_target);
    std::error_code error;
    fs::create_directories(parent, error);
    if (error) fail(ErrorCode::Io, parent.string(), "cannot create the directory: " + error.message());
    const std::string prefix =
        "." + m_target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0; attempt < 16 && m_staging.empty(); ++attempt) {
        const fs::path candidate = parent / (prefix + randomSuffix());
        if (fs::create_directory(candidate, error)) {
            m_staging = candidate;
        } else if (error) {
            fail(ErrorCode::Io, m_target.string(),
                 "cannot create a staging directory next to it: " + error.message());
        }
    }
    if (m_staging.empty())
        fail(ErrorCode::Io, m_target.string(), "cannot find a free staging directory name");
}

ExportStaging::~ExportStaging() {
    if (m_published || m_staging.empty()) return;
    std::error_code ignored;  // best effort: a leftover hidden directory is harmless, a throw here is not
    fs::remove_all(m_staging, ignored);
}

void ExportStaging::publish() {
    if (m_published) fail(ErrorCode::Internal, m_target.string(), "published twice");
    fsyncDirectory(m_staging);
    if (::rename(m_staging.c_str(), m_target.c_str()) != 0) {
        const int error = errno;
        const bool occupied = error == ENOTEMPTY || error == EEXIST || error == ENOTDIR || error == EISDIR;
        fail(occupied ? ErrorCode::Usage : ErrorCode::Io, m_target.string(),
             occupied ? "was filled by something else while exporting; the export was not published"
                      : std::string("cannot rename the export into place: ") + std::strerror(error));
    }
    m_published = true;
    fsyncDirectory(parentOf(m_target));
}

}  // namespace dha::exporting
