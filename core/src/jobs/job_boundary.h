// The one place where exceptions become job results (architecture.md, "The job contract").
#pragma once

#include <chrono>
#include <utility>

#include "dha/job.h"

namespace dha::jobs {

// Converts the exception in flight (dha::Exception, c10::Error, std::bad_alloc, std::exception, anything)
// into an Error. Call only inside a catch block.
Error errorFromCurrentException();

// Runs `body` (returning Value) and packs its value, a cancellation or any exception into a JobResult.
template <typename Value, typename Body>
JobResult<Value> runGuarded(Body&& body) {
    JobResult<Value> result;
    try {
        result.value.emplace(std::forward<Body>(body)());
        result.status = JobStatus::Succeeded;
    } catch (...) {
        result.error = errorFromCurrentException();
        result.status = result.error.code == ErrorCode::Cancelled ? JobStatus::Cancelled : JobStatus::Failed;
    }
    return result;
}

// Wall time of jobs (progress, throughput, ETA): monotonic, unaffected by clock changes.
using JobClock = std::chrono::steady_clock;
inline double secondsSince(JobClock::time_point start) {
    return std::chrono::duration<double>(JobClock::now() - start).count();
}

// Throws the Cancelled error when the token is set; jobs call it between units of work.
void throwIfCancelled(const CancelToken& cancel, const char* where);

}  // namespace dha::jobs
