// Error-reporting accessors for tokenizer.json, so every loader stage checks types the same way.
#include "tokenizer/json_fields.h"

#include "dha/error.h"
#include "io/json_reader.h"

namespace dha::tok {

void JsonFields::invalid(const std::string& where, const std::string& problem) const {
    failInput(m_path, where.empty() ? problem : where + ": " + problem);
}

void JsonFields::unsupported(const std::string& where, const std::string& feature) const {
    fail(ErrorCode::Unsupported, m_path, (where.empty() ? "" : where + ": ") + feature + " is not supported",
         "this build reads Llama-family tokenizers; a tokenizer.model next to the file is used when present");
}

const Json& JsonFields::object(const Json& value, const std::string& where) const {
    if (!value.is_object()) invalid(where, std::string("expected an object, got ") + io::jsonTypeName(value));
    return value;
}

const Json& JsonFields::array(const Json& value, const std::string& where) const {
    if (!value.is_array()) invalid(where, std::string("expected an array, got ") + io::jsonTypeName(value));
    return value;
}

std::string JsonFields::string(const Json& value, const std::string& where) const {
    if (!value.is_string()) invalid(where, std::string("expected a string, got ") + io::jsonTypeName(value));
    return value.get<std::string>();
}

int64_t JsonFields::integer(const Json& value, const std::string& where) const {
    if (value.is_number_unsigned()) {
        const auto v = value.get<uint64_t>();
        if (v > static_cast<uint64_t>(INT64_MAX)) invalid(where, "the integer is too large");
        return static_cast<int64_t>(v);
    }
    if (!value.is_number_integer())
        invalid(where, std::string("expected an integer, got ") + io::jsonTypeName(value));
    return value.get<int64_t>();
}

double JsonFields::number(const Json& value, const std::string& where) const {
    if (!value.is_number()) invalid(where, std::string("expected a number, got ") + io::jsonTypeName(value));
    return value.get<double>();
}

const Json* JsonFields::optionalMember(const Json& object, const char* key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

const Json& JsonFields::member(const Json& object, const char* key, const std::string& where) const {
    const auto it = object.find(key);
    if (it == object.end()) invalid(where, std::string("the member \"") + key + "\" is missing");
    return *it;
}

std::string JsonFields::stringMember(const Json& object, const char* key, const std::string& where) const {
    return string(member(object, key, where), memberPath(where, key));
}

std::optional<std::string> JsonFields::optionalString(const Json& object, const char* key,
                                                      const std::string& where) const {
    const Json* value = optionalMember(object, key);
    if (!value) return std::nullopt;
    return string(*value, memberPath(where, key));
}

bool JsonFields::boolMember(const Json& object, const char* key, bool fallback,
                            const std::string& where) const {
    const Json* value = optionalMember(object, key);
    if (!value) return fallback;
    if (!value->is_boolean()) {
        invalid(memberPath(where, key),
                std::string("expected true or false, got ") + io::jsonTypeName(*value));
    }
    return value->get<bool>();
}

std::string JsonFields::typeOf(const Json& object, const std::string& where) const {
    return stringMember(this->object(object, where), "type", where);
}

}  // namespace dha::tok
