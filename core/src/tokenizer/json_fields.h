// Typed access to tokenizer.json members: every wrong type or missing member is one error naming the file
// and the member's location (e.g. "model.merges[12]").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dha::tok {

using Json = nlohmann::json;

class JsonFields {
public:
    explicit JsonFields(std::string path) : m_path(std::move(path)) {}
    const std::string& path() const { return m_path; }

    [[noreturn]] void invalid(const std::string& where, const std::string& problem) const;
    [[noreturn]] void unsupported(const std::string& where, const std::string& feature) const;

    // `value` (found at `where`) must be an object; returns it.
    const Json& object(const Json& value, const std::string& where) const;
    const Json& array(const Json& value, const std::string& where) const;
    std::string string(const Json& value, const std::string& where) const;
    int64_t integer(const Json& value, const std::string& where) const;
    double number(const Json& value, const std::string& where) const;

    // Members of an object; `where` names the object. Missing or null optional members give the default.
    const Json& member(const Json& object, const char* key, const std::string& where) const;
    const Json* optionalMember(const Json& object, const char* key) const;
    std::string stringMember(const Json& object, const char* key, const std::string& where) const;
    std::optional<std::string> optionalString(const Json& object, const char* key,
                                              const std::string& where) const;
    bool boolMember(const Json& object, const char* key, bool fallback, const std::string& where) const;
    // The "type" member of a component (normalizer, model, ...).
    std::string typeOf(const Json& object, const std::string& where) const;

private:
    std::string m_path;
};

// "where.key" for messages.
inline std::string memberPath(const std::string& where, std::string_view key) {
    return where.empty() ? std::string(key) : where + "." + std::string(key);
}
inline std::string elementPath(const std::string& where, size_t index) {
    return where + "[" + std::to_string(index) + "]";
}

}  // namespace dha::tok
