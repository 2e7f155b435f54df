// Crash-safe file publication: write to a temporary name in the same directory, fsync, rename.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace dha::io {

// Replaces `path` with `content` atomically; the directory is fsynced after the rename.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content);

// Reads a whole (small) file, refusing files larger than maxBytes. Errors name the file.
std::string readSmallFile(const std::filesystem::path& path, size_t maxBytes = 64u << 20);

}  // namespace dha::io
