// Element types of safetensors files: names, sizes, parsing.
#include <array>

#include "io/safetensors.h"

namespace dha::io {
namespace {

struct DTypeEntry {
    DType dtype;
    const char* name;
    size_t size;
    bool floatingPoint;
};

constexpr std::array<DTypeEntry, 10> kDTypes{{
    {DType::F32, "F32", 4, true},
    {DType::F16, "F16", 2, true},
    {DType::BF16, "BF16", 2, true},
    {DType::F64, "F64", 8, true},
    {DType::I64, "I64", 8, false},
    {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},
    {DType::I8, "I8", 1, false},
    {DType::U8, "U8", 1, false},
    {DType::Bool, "BOOL", 1, false},
}};

// The rest of the safetensors specification's dtypes, so a valid file gets "unsupported", not "malformed".
constexpr std::array<const char*, 9> kUnsupportedNames{
    {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"}};

const DTypeEntry& entryOf(DType dtype) {
    for (const auto& entry : kDTypes) {
        if (entry.dtype == dtype) return entry;
    }
    return kDTypes[0];  // unreachable for a valid enumerator
}

}  // namespace

const char* dtypeName(DType dtype) { return entryOf(dtype).name; }
size_t dtypeSize(DType dtype) { return entryOf(dtype).size; }
bool isFloatingPoint(DType dtype) { return entryOf(dtype).floatingPoint; }

std::optional<DType> dtypeFromName(std::string_view name) {
    for (const auto& entry : kDTypes) {
        if (name == entry.name) return entry.dtype;
    }
    return std::nullopt;
}

bool isKnownUnsupportedDtypeName(std::string_view name) {
    for (const char* unsupported : kUnsupportedNames) {
        if (name == unsupported) return true;
    }
    return false;
}

}  // namespace dha::io
