// The defaults the subcommands take when no model, text or tokenizer is given: the embedded dha-teacher.
#pragma once

#include <filesystem>
#include <string>

namespace dha::cli {

// `given` when not empty, else the embedded model directory; throws UsageError naming where it looked
// ("no model given and the embedded model is not installed (...)").
std::filesystem::path modelDirOrEmbedded(const std::string& given);
// `given` when not empty, else the embedded held-out test split (corpus/test.txt).
std::filesystem::path testTextOrEmbedded(const std::string& given);
// `given` when not empty, else the embedded validation split (corpus/validation.txt): calibration text.
std::filesystem::path validationTextOrEmbedded(const std::string& given);
// `given` when not empty, else the embedded model's tokenizer directory.
std::filesystem::path tokenizerOrEmbedded(const std::string& given);

}  // namespace dha::cli
