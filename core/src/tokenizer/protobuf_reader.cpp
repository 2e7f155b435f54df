// Protobuf wire-format decoding with every length and varint checked against the bytes actually present.
#include "tokenizer/protobuf_reader.h"

#include <cstring>

#include "dha/error.h"

namespace dha::tok {

ProtobufReader::ProtobufReader(std::string_view message, const std::string& pathForErrors,
                               std::string context, uint64_t baseOffset)
    : m_message(message), m_path(pathForErrors), m_context(std::move(context)), m_baseOffset(baseOffset) {}

void ProtobufReader::fail(const std::string& problem) const {
    failInput(m_path,
              m_context + ": " + problem + " (at byte " + std::to_string(m_baseOffset + m_position) + ")");
}

uint64_t ProtobufReader::readVarint(std::string_view what) {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (m_position >= m_message.size()) fail("truncated " + std::string(what));
        const auto byte = static_cast<unsigned char>(m_message[m_position++]);
        if (shift == 63) {  // the 10th byte ends the varint and may only carry the 64th bit
            if (byte & 0x80) fail(std::string(what) + " is longer than 10 bytes");
            if (byte > 1) fail(std::string(what) + " overflows 64 bits");
        }
        value |= static_cast<uint64_t>(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) return value;
    }
    fail(std::string(what) + " is longer than 10 bytes");
}

bool ProtobufReader::next(ProtobufField& field) {
    if (m_position >= m_message.size()) return false;
    const uint64_t tag = readVarint("field tag");
    const uint64_t number = tag >> 3;
    if (number == 0 || number > 0x1FFFFFFF) fail("invalid field number " + std::to_string(number));
    field.number = static_cast<uint32_t>(number);
    field.integer = 0;
    field.bytes = {};
    const auto wire = static_cast<unsigned>(tag & 7);
    const size_t left = m_message.size() - m_position;
    switch (wire) {
        case 0:
            field.wireType = WireType::Varint;
            field.integer = readVarint("varint of field " + std::to_string(number));
            return true;
        case 1:
            if (left < 8) fail("truncated 64-bit value of field " + std::to_string(number));
            field.wireType = WireType::Fixed64;
            for (int i = 7; i >= 0; --i) {
                field.integer = (field.integer << 8) | static_cast<unsigned char>(m_message[m_position + i]);
            }
            m_position += 8;
            return true;
        case 2: {
            const uint64_t length = readVarint("length of field " + std::to_string(number));
            if (length > m_message.size() - m_position) {
                fail("field " + std::to_string(number) + " claims " + std::to_string(length) +
                     " bytes but only " + std::to_string(m_message.size() - m_position) + " remain");
            }
            field.wireType = WireType::LengthDelimited;
            field.bytes = m_message.substr(m_position, static_cast<size_t>(length));
            m_position += static_cast<size_t>(length);
            return true;
        }
        case 5:
            if (left < 4) fail("truncated 32-bit value of field " + std::to_string(number));
            field.wireType = WireType::Fixed32;
            for (int i = 3; i >= 0; --i) {
                field.integer = (field.integer << 8) | static_cast<unsigned char>(m_message[m_position + i]);
            }
            m_position += 4;
            return true;
        default:
            fail("field " + std::to_string(number) + " has unsupported wire type " + std::to_string(wire));
    }
}

uint64_t ProtobufReader::payloadOffset(const ProtobufField& field) const {
    return m_baseOffset + static_cast<uint64_t>(field.bytes.data() - m_message.data());
}

uint64_t ProtobufReader::varint(const ProtobufField& field, std::string_view fieldName) const {
    if (field.wireType != WireType::Varint) fail(std::string(fieldName) + " is not a varint");
    return field.integer;
}

int32_t ProtobufReader::int32(const ProtobufField& field, std::string_view fieldName) const {
    // Negative int32 values are sign-extended to 10-byte varints; protobuf truncates to the low 32 bits.
    return static_cast<int32_t>(static_cast<uint32_t>(varint(field, fieldName) & 0xFFFFFFFFu));
}

bool ProtobufReader::boolean(const ProtobufField& field, std::string_view fieldName) const {
    return varint(field, fieldName) != 0;
}

float ProtobufReader::float32(const ProtobufField& field, std::string_view fieldName) const {
    if (field.wireType != WireType::Fixed32) fail(std::string(fieldName) + " is not a 32-bit float");
    const auto bits = static_cast<uint32_t>(field.integer);
    float value = 0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

std::string_view ProtobufReader::bytes(const ProtobufField& field, std::string_view fieldName) const {
    if (field.wireType != WireType::LengthDelimited)
        fail(std::string(fieldName) + " is not length-delimited");
    return field.bytes;
}

}  // namespace dha::tok
