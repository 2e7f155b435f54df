// The token budget of a conversion as the Training page's form takes it: the rules of `dha convert --tokens`.
#pragma once

#include <QString>

#include <cstdint>
#include <optional>

namespace dha::ui {

// "2M", "500k", "1.5G", "65536" or "0.5%" of the source's pretraining tokens (`sourceTokens`). Returns
// nullopt, with a sentence for the user in *error, when the text is none of these, is not a whole number of
// at least 1 token, or is a percentage while the source's pretraining tokens are unknown.
std::optional<int64_t> parseTokenBudget(const QString& text, std::optional<int64_t> sourceTokens,
                                        QString* error = nullptr);

}  // namespace dha::ui
