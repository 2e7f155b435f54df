// Thread set-up and a description of the LibTorch runtime.
#include "dha/runtime.h"

#include <torch/version.h>
#include <ATen/Parallel.h>
#include <ATen/Context.h>

#include <cstdlib>
#include <thread>

namespace dha {

int initRuntime() {
    int threads = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("DHA_NUM_THREADS")) {
        const int requested = std::atoi(env);
        if (requested > 0) threads = requested;
    }
    if (threads < 1) threads = 1;
    at::set_num_threads(threads);
    return at::get_num_threads();
}

std::string runtimeDescription() {
    const int threads = at::get_num_threads();
    std::string text = "LibTorch " + std::string(TORCH_VERSION) + ", " + std::to_string(threads) +
                       (threads == 1 ? " thread, " : " threads, ");
    text += at::hasCUDA() ? "CUDA available" : "CPU only";
    return text;
}

}  // namespace dha
