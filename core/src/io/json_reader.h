// JSON parsing for untrusted files: syntax errors, duplicate keys and absurd nesting become one dha error.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dha::io {

// Parses `text` (the whole of `subject`, e.g. "header" or "file"). Throws InvalidInput naming pathForErrors
// on a syntax error or invalid UTF-8 (with line and column), on a duplicate key in any object (nlohmann would
// silently keep the last one, so two readers could disagree about the file), and on nesting deeper than
// maxDepth (no legitimate header or config nests that deep).
nlohmann::json parseJsonStrict(std::string_view text, const std::string& pathForErrors,
                               std::string_view subject = "file", int maxDepth = 64);

// A short, printable rendering of untrusted text for error messages: bytes outside printable ASCII become
// '?', and long text is cut to maxChars with "...". Error messages stay valid UTF-8 whatever the file holds.
std::string printableExcerpt(std::string_view text, size_t maxChars = 80);

// "an object", "an array", "a string", "an integer", "a number", "a boolean" or "null": for messages like
// "shape is a string, expected an array".
const char* jsonTypeName(const nlohmann::json& value);

// Typed reads of one untrusted value called `name` (e.g. "hidden_size" or "dha.num_key_heads[3]"); a wrong
// type or a value out of [min, max] throws InvalidInput naming pathForErrors and `name`.
int64_t jsonInteger(const nlohmann::json& value, const std::string& pathForErrors, const std::string& name,
                    int64_t min, int64_t max);
double jsonNumber(const nlohmann::json& value, const std::string& pathForErrors,
                  const std::string& name);  // finite
bool jsonBool(const nlohmann::json& value, const std::string& pathForErrors, const std::string& name);
const std::string& jsonString(const nlohmann::json& value, const std::string& pathForErrors,
                              const std::string& name);
const nlohmann::json& jsonObject(const nlohmann::json& value, const std::string& pathForErrors,
                                 const std::string& name);
const nlohmann::json& jsonArray(const nlohmann::json& value, const std::string& pathForErrors,
                                const std::string& name);

}  // namespace dha::io
