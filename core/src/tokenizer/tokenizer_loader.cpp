// Picks the tokenizer file of a model directory: tokenizer.model first (exact SentencePiece), else
// tokenizer.json.
#include <system_error>

#include "dha/error.h"
#include "tokenizer/tokenizer.h"

namespace dha::tok {

std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& modelDir) {
    std::error_code error;
    const auto modelPath = modelDir / "tokenizer.model";
    if (std::filesystem::exists(modelPath, error)) return loadSentencePieceModel(modelPath);
    const auto jsonPath = modelDir / "tokenizer.json";
    if (std::filesystem::exists(jsonPath, error)) return loadTokenizerJson(jsonPath);
    failInput(modelDir.string(), "the model directory has neither tokenizer.model nor tokenizer.json",
              "copy the tokenizer files of the source model into this directory");
}

}  // namespace dha::tok
