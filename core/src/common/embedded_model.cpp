// Resolution of the embedded default model, tokenizer and test split: installed share/ first, then the source
// tree.
#include "dha/embedded_model.h"

#include <system_error>

namespace dha {
namespace {

namespace fs = std::filesystem;

const fs::path kModelRelative = fs::path("models") / "dha-teacher";
const fs::path kTestTextRelative = fs::path("corpus") / "test.txt";
const fs::path kValidationTextRelative = fs::path("corpus") / "validation.txt";

bool isRegularFile(const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(path, error);
}

std::optional<fs::path> firstWithFile(const std::vector<fs::path>& roots, const fs::path& relativeDir,
                                      const char* requiredFile) {
    for (const fs::path& root : roots) {
        const fs::path dir = root / relativeDir;
        if (isRegularFile(dir / requiredFile)) return dir;
    }
    return std::nullopt;
}

}  // namespace

std::vector<fs::path> embeddedResourceRoots() {
    std::vector<fs::path> roots;
    std::error_code error;
    const fs::path exe = fs::read_symlink("/proc/self/exe", error);
    // <prefix>/bin/dha -> <prefix>/share/dha-studio
    if (!error && exe.has_parent_path())
        roots.push_back(exe.parent_path().parent_path() / "share" / "dha-studio");
#ifdef DHA_SOURCE_RESOURCES_DIR
    roots.emplace_back(DHA_SOURCE_RESOURCES_DIR);
#endif
    return roots;
}

std::optional<fs::path> findEmbeddedModelDir(const std::vector<fs::path>& roots) {
    return firstWithFile(roots, kModelRelative, "config.json");
}

std::optional<fs::path> findEmbeddedTokenizerDir(const std::vector<fs::path>& roots) {
    return firstWithFile(roots, kModelRelative, "tokenizer.model");
}

namespace {
std::optional<fs::path> firstRegularFile(const std::vector<fs::path>& roots, const fs::path& relative) {
    for (const fs::path& root : roots) {
        if (isRegularFile(root / relative)) return root / relative;
    }
    return std::nullopt;
}
}  // namespace

std::optional<fs::path> findEmbeddedTestText(const std::vector<fs::path>& roots) {
    return firstRegularFile(roots, kTestTextRelative);
}

std::optional<fs::path> findEmbeddedValidationText(const std::vector<fs::path>& roots) {
    return firstRegularFile(roots, kValidationTextRelative);
}

std::optional<fs::path> embeddedModelDir() { return findEmbeddedModelDir(embeddedResourceRoots()); }
std::optional<fs::path> embeddedTokenizerDir() { return findEmbeddedTokenizerDir(embeddedResourceRoots()); }
std::optional<fs::path> embeddedTestText() { return findEmbeddedTestText(embeddedResourceRoots()); }
std::optional<fs::path> embeddedValidationText() {
    return findEmbeddedValidationText(embeddedResourceRoots());
}

std::string describeEmbeddedCandidates(const fs::path& relative) {
    std::string text;
    for (const fs::path& root : embeddedResourceRoots()) {
        if (!text.empty()) text += ", ";
        text += (root / relative).lexically_normal().string();
    }
    return text;
}

}  // namespace dha
