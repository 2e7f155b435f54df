// Strict JSON parsing with duplicate-key and depth checks, and printable excerpts for messages.
#include "io/json_reader.h"

#include <cmath>
#include <set>
#include <vector>

#include "dha/error.h"

namespace dha::io {

std::string printableExcerpt(std::string_view text, size_t maxChars) {
    std::string out;
    for (size_t i = 0; i < text.size() && i < maxChars; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        out += (byte >= 0x20 && byte < 0x7f) ? static_cast<char>(byte) : '?';
    }
    if (text.size() > maxChars) out += "...";
    return out;
}

const char* jsonTypeName(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object:
            return "an object";
        case nlohmann::json::value_t::array:
            return "an array";
        case nlohmann::json::value_t::string:
            return "a string";
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
            return "an integer";
        case nlohmann::json::value_t::number_float:
            return "a number";
        case nlohmann::json::value_t::boolean:
            return "a boolean";
        case nlohmann::json::value_t::null:
            return "null";
        default:
            return "an invalid value";
    }
}

namespace {

[[noreturn]] void failType(const nlohmann::json& value, const std::string& path, const std::string& name,
                           const char* expected) {
    failInput(path, name + " is " +
                        (value.is_null() ? std::string("null")
                                         : std::string(jsonTypeName(value)) + " (" +
                                               printableExcerpt(value.dump()) + ")") +
                        ", expected " + expected);
}

}  // namespace

int64_t jsonInteger(const nlohmann::json& value, const std::string& path, const std::string& name,
                    int64_t min, int64_t max) {
    if (!value.is_number_integer()) failType(value, path, name, "an integer");  // also false for 64.0
    const bool tooLarge = value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max);
    if (tooLarge || value.get<int64_t>() < min || value.get<int64_t>() > max) {
        failInput(path, name + " is " + value.dump() + ", expected " + std::to_string(min) + ".." +
                            std::to_string(max));
    }
    return value.get<int64_t>();
}

double jsonNumber(const nlohmann::json& value, const std::string& path, const std::string& name) {
    if (!value.is_number()) failType(value, path, name, "a number");
    const double number = value.get<double>();
    if (!std::isfinite(number)) failInput(path, name + " is not a finite number");
    return number;
}

bool jsonBool(const nlohmann::json& value, const std::string& path, const std::string& name) {
    if (!value.is_boolean()) failType(value, path, name, "true or false");
    return value.get<bool>();
}

const std::string& jsonString(const nlohmann::json& value, const std::string& path, const std::string& name) {
    if (!value.is_string()) failType(value, path, name, "a string");
    return value.get_ref<const std::string&>();
}

const nlohmann::json& jsonObject(const nlohmann::json& value, const std::string& path,
                                 const std::string& name) {
    if (!value.is_object()) failType(value, path, name, "an object");
    return value;
}

const nlohmann::json& jsonArray(const nlohmann::json& value, const std::string& path,
                                const std::string& name) {
    if (!value.is_array()) failType(value, path, name, "an array");
    return value;
}

nlohmann::json parseJsonStrict(std::string_view text, const std::string& pathForErrors,
                               std::string_view subject, int maxDepth) {
    using Json = nlohmann::json;
    // One key set per open object; a key seen twice in the same object is an error.
    std::vector<std::set<std::string>> openObjects;
    const Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
        switch (event) {
            case Json::parse_event_t::object_start:
            case Json::parse_event_t::array_start:
                if (depth >= maxDepth) {
                    failInput(pathForErrors, std::string(subject) + " nests deeper than " +
                                                 std::to_string(maxDepth) + " levels");
                }
                if (event == Json::parse_event_t::object_start) openObjects.emplace_back();
                break;
            case Json::parse_event_t::object_end:
                if (!openObjects.empty()) openObjects.pop_back();
                break;
            case Json::parse_event_t::key: {
                const auto& key = parsed.get_ref<const std::string&>();
                if (!openObjects.empty() && !openObjects.back().insert(key).second) {
                    failInput(pathForErrors, std::string(subject) + " has the key '" + printableExcerpt(key) +
                                                 "' twice in one object");
                }
                break;
            }
            default:
                break;
        }
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                           /*ignore_comments=*/false);
    } catch (const Json::exception& error) {
        // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
        std::string detail = error.what();
        const auto bracket = detail.find("] ");
        if (bracket != std::string::npos) detail = detail.substr(bracket + 2);
        failInput(pathForErrors,
                  std::string(subject) + " is not valid JSON: " + printableExcerpt(detail, 200));
    }
}

}  // namespace dha::io
