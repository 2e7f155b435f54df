// SHA-256 (FIPS 180-4) of byte strings and files: the fingerprints run directories use to refuse a changed
// text, tokenizer or model.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dha::io {

// Incremental hashing: update() any number of times, then finish() once.
class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::array<uint8_t, 32> finish();

private:
    void compress(const uint8_t* block);

    std::array<uint32_t, 8> m_state;
    std::array<uint8_t, 64> m_buffer{};
    size_t m_buffered = 0;
    uint64_t m_totalBytes = 0;
};

// 64 lowercase hex digits.
std::string toHex(const std::array<uint8_t, 32>& digest);
std::string sha256Hex(std::string_view bytes);
// Streams the file (any size); errors name the file.
std::string sha256OfFile(const std::filesystem::path& path);

}  // namespace dha::io
