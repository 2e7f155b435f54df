// Errors that leave the engine: a code, the file (or value) at fault, what is wrong, and a hint.
#pragma once

#include <stdexcept>
#include <string>

namespace dha {

enum class ErrorCode {
    InvalidInput,  // a file or value the user gave is malformed or inconsistent
    Io,            // the operating system refused a read or write
    Unsupported,   // well-formed, but a feature this build does not handle
    Usage,         // a command-line or API argument is wrong
    Cancelled,     // the user asked to stop
    Internal,      // a bug: an invariant of the engine itself broke
};

const char* errorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string path;     // file or value the error is about; empty when none
    std::string message;  // what is wrong, one sentence, no trailing period needed
    std::string hint;     // what the user can do about it; may be empty

    // "path: message" (or just the message when there is no path).
    std::string describe() const;
};

// The one exception type thrown inside core; jobs and front ends turn it into an Error.
class Exception : public std::runtime_error {
public:
    explicit Exception(Error error);
    const Error& error() const { return m_error; }

private:
    Error m_error;
};

[[noreturn]] void fail(ErrorCode code, std::string path, std::string message, std::string hint = {});
[[noreturn]] inline void failInput(std::string path, std::string message, std::string hint = {}) {
    fail(ErrorCode::InvalidInput, std::move(path), std::move(message), std::move(hint));
}

}  // namespace dha
