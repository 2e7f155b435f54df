// The identity of a model checkpoint: what run directories and caches record to refuse a changed model.
#pragma once

#include <filesystem>
#include <string>

#include "io/safetensors.h"

namespace dha::io {

// SHA-256 (64 hex digits) of config.json's bytes and of every tensor's name, dtype and shape (in name
// order). Tensor data is not hashed, so fingerprinting a 14 GB checkpoint reads only its headers; a
// re-trained checkpoint of the same shape with the same config therefore has the same fingerprint.
// Errors name the file.
std::string modelFingerprint(const std::filesystem::path& configJsonPath,
                             const SafetensorsCheckpoint& checkpoint);
// Opens <modelDir>/config.json and the checkpoint's headers.
std::string modelFingerprint(const std::filesystem::path& modelDir);

}  // namespace dha::io
