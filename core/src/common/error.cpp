// Formatting and throwing of dha::Error.
#include "dha/error.h"

namespace dha {

const char* errorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidInput: return "invalid input";
        case ErrorCode::Io: return "i/o error";
        case ErrorCode::Unsupported: return "unsupported";
        case ErrorCode::Usage: return "usage";
        case ErrorCode::Cancelled: return "cancelled";
        case ErrorCode::Internal: return "internal error";
    }
    return "error";
}

std::string Error::describe() const { return path.empty() ? message : path + ": " + message; }

Exception::Exception(Error error) : std::runtime_error(error.describe()), m_error(std::move(error)) {}

void fail(ErrorCode code, std::string path, std::string message, std::string hint) {
    throw Exception(Error{code, std::move(path), std::move(message), std::move(hint)});
}

}  // namespace dha
