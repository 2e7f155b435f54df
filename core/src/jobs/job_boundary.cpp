// Exception-to-Error conversion at the job boundary.
#include "jobs/job_boundary.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <new>
#include <string>

namespace dha::jobs {

Error errorFromCurrentException() {
    try {
        throw;
    } catch (const Exception& exception) {
        return exception.error();
    } catch (const c10::Error& error) {
        // LibTorch errors carry a C++ backtrace in what(); the user needs the message only.
        return Error{ErrorCode::Internal, {}, error.what_without_backtrace(), "this is a bug in DHA Studio"};
    } catch (const std::filesystem::filesystem_error& error) {
        return Error{ErrorCode::Io, error.path1().string(), error.code().message(), {}};
    } catch (const std::bad_alloc&) {
        return Error{ErrorCode::Io, {}, "out of memory", "use a smaller batch or context length"};
    } catch (const std::exception& exception) {
        return Error{ErrorCode::Internal, {}, exception.what(), "this is a bug in DHA Studio"};
    } catch (...) {
        return Error{ErrorCode::Internal, {}, "unknown exception", "this is a bug in DHA Studio"};
    }
}

void throwIfCancelled(const CancelToken& cancel, const char* where) {
    if (cancel.isCancelled()) fail(ErrorCode::Cancelled, {}, std::string("cancelled during ") + where);
}

}  // namespace dha::jobs
