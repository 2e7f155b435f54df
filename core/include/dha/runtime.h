// Process-wide engine set-up that every binary performs once at start-up.
#pragma once

#include <string>

namespace dha {

// Sets LibTorch's intra-op threads to the machine's hardware threads (LibTorch 1.13 defaults to 1 on small
// VMs). DHA_NUM_THREADS overrides the count. Returns the number of threads in use.
int initRuntime();

// "LibTorch 1.13.1, 2 threads, CPU" and similar, for --version and logs.
std::string runtimeDescription();

}  // namespace dha
