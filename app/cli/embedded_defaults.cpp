// Falls back to the embedded dha-teacher model, its tokenizer and test split, with one clear error when
// absent.
#include "embedded_defaults.h"

#include <string>

#include "arg_parser.h"
#include "dha/embedded_model.h"

namespace dha::cli {

namespace fs = std::filesystem;

fs::path modelDirOrEmbedded(const std::string& given) {
    if (!given.empty()) return given;
    if (auto dir = embeddedModelDir()) return *dir;
    throw UsageError("no model given and the embedded model is not installed (no config.json in " +
                     describeEmbeddedCandidates(fs::path("models") / "dha-teacher") + "); give a model DIR");
}

fs::path testTextOrEmbedded(const std::string& given) {
    if (!given.empty()) return given;
    if (auto text = embeddedTestText()) return *text;
    throw UsageError("no --text given and the embedded test split is not installed (looked for " +
                     describeEmbeddedCandidates(fs::path("corpus") / "test.txt") + "); give --text FILE");
}

fs::path validationTextOrEmbedded(const std::string& given) {
    if (!given.empty()) return given;
    if (auto text = embeddedValidationText()) return *text;
    throw UsageError("no --text given and the embedded validation split is not installed (looked for " +
                     describeEmbeddedCandidates(fs::path("corpus") / "validation.txt") + "); give --text FILE");
}

fs::path tokenizerOrEmbedded(const std::string& given) {
    if (!given.empty()) return given;
    if (auto dir = embeddedTokenizerDir()) return *dir;
    throw UsageError(
        "no --tokenizer given and the embedded tokenizer is not installed (no tokenizer.model in " +
        describeEmbeddedCandidates(fs::path("models") / "dha-teacher") + "); give --tokenizer FILE");
}

}  // namespace dha::cli
