// Overflow-checked unsigned arithmetic for sizes read from untrusted files.
#pragma once

#include <cstdint>
#include <optional>

namespace dha::io {

inline std::optional<uint64_t> checkedMultiply(uint64_t a, uint64_t b) {
    uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
    return product;
}

inline std::optional<uint64_t> checkedAdd(uint64_t a, uint64_t b) {
    uint64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
    return sum;
}

}  // namespace dha::io
