// A bounds-checked reader for the protobuf wire format, for untrusted serialized messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dha::tok {

enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5 };

struct ProtobufField {
    uint32_t number = 0;
    WireType wireType = WireType::Varint;
    uint64_t integer = 0;    // Varint, Fixed64 and Fixed32 values
    std::string_view bytes;  // LengthDelimited payload (a view into the message)
};

// Iterates over the fields of one message. Every error (truncated tag or value, varint longer than 10 bytes
// or above 64 bits, length beyond the message, field number 0, group or reserved wire types) throws
// InvalidInput naming `pathForErrors` and `context` (e.g. "ModelProto.pieces[3]") with the byte offset.
class ProtobufReader {
public:
    ProtobufReader(std::string_view message, const std::string& pathForErrors, std::string context,
                   uint64_t baseOffset = 0);

    // Reads the next field into `field`; false at the end of the message.
    bool next(ProtobufField& field);

    // Typed views of the current field; each checks the wire type and throws naming `fieldName` on mismatch.
    uint64_t varint(const ProtobufField& field, std::string_view fieldName) const;
    int32_t int32(const ProtobufField& field, std::string_view fieldName) const;
    bool boolean(const ProtobufField& field, std::string_view fieldName) const;
    float float32(const ProtobufField& field, std::string_view fieldName) const;
    std::string_view bytes(const ProtobufField& field, std::string_view fieldName) const;

    // Byte offset of the current field's payload within the outermost message (for nested readers).
    uint64_t payloadOffset(const ProtobufField& field) const;
    const std::string& context() const { return m_context; }
    [[noreturn]] void fail(const std::string& problem) const;

private:
    uint64_t readVarint(std::string_view what);

    std::string_view m_message;
    const std::string& m_path;
    std::string m_context;
    uint64_t m_baseOffset;
    size_t m_position = 0;
};

}  // namespace dha::tok
