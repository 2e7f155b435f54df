// All-or-nothing publication of an export directory: write into a hidden sibling, then rename into place.
#pragma once

#include <filesystem>

namespace dha::exporting {

// The target must not exist, or be an empty directory (not a symlink); anything else is refused before any
// work starts. Files are written into directory() (a temporary sibling of the target, on the same file
// system); publish() fsyncs it, renames it onto the target (rename(2) replaces an empty directory
// atomically) and fsyncs the parent. Destroying an unpublished staging directory (an error, a cancel)
// removes it with everything in it, so readers see either nothing or the complete export.
class ExportStaging {
public:
    explicit ExportStaging(const std::filesystem::path& target);
    ~ExportStaging();
    ExportStaging(const ExportStaging&) = delete;
    ExportStaging& operator=(const ExportStaging&) = delete;

    const std::filesystem::path& directory() const { return m_staging; }
    const std::filesystem::path& target() const { return m_target; }
    void publish();

private:
    std::filesystem::path m_target;
    std::filesystem::path m_staging;
    bool m_published = false;
};

// Throws a Usage error naming `target` unless it is absent or an empty directory.
void checkExportTarget(const std::filesystem::path& target);

}  // namespace dha::exporting
