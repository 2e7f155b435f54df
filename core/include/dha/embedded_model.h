// Where the embedded default model (dha-teacher), its tokenizer and the held-out test split are found.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dha {

// The resource roots searched, in order: the install prefix's share/dha-studio (the prefix is the parent of
// the directory holding the running executable, read from /proc/self/exe), then the source tree's
// resources/ directory the engine was built from. Both use the same layout below the root:
// models/dha-teacher/{config.json,model.safetensors,tokenizer.model} and corpus/test.txt.
std::vector<std::filesystem::path> embeddedResourceRoots();

// The first <root>/models/dha-teacher holding config.json (a directory holding only the tokenizer does not
// count: the weights are not installed yet).
std::optional<std::filesystem::path> findEmbeddedModelDir(const std::vector<std::filesystem::path>& roots);
// The first <root>/models/dha-teacher holding tokenizer.model.
std::optional<std::filesystem::path> findEmbeddedTokenizerDir(
    const std::vector<std::filesystem::path>& roots);
// The first <root>/corpus/test.txt that is a regular file.
std::optional<std::filesystem::path> findEmbeddedTestText(const std::vector<std::filesystem::path>& roots);
// The first <root>/corpus/validation.txt that is a regular file (calibration text for activation analysis:
// the test split stays unseen by everything but evaluation).
std::optional<std::filesystem::path> findEmbeddedValidationText(const std::vector<std::filesystem::path>& roots);

// The same, over embeddedResourceRoots().
std::optional<std::filesystem::path> embeddedModelDir();
std::optional<std::filesystem::path> embeddedTokenizerDir();
std::optional<std::filesystem::path> embeddedTestText();
std::optional<std::filesystem::path> embeddedValidationText();

// "A, B": the places searched for `relative` below each root, for error messages.
std::string describeEmbeddedCandidates(const std::filesystem::path& relative);

}  // namespace dha
