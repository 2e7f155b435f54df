// Head analysis at 7B scale: generates a Llama-2-7B-shaped checkpoint holding only what analysis reads (32
// layers of bf16 k_proj and v_proj, 4096 x 4096, in 32 shards = 2.0 GiB), then runs the real `dha analyse` on
// it in a child process per metric and reports wall time and the child's peak RSS (targets: <= 30 s, <= 1.5 GB).
// Usage: dha_bench_analysis [--dir DIR] [--metrics cka,cosine] [--layers N] [--heads N] [--head-dim N]
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace fs = std::filesystem;

namespace {

struct Shape {
    int layers = 32, heads = 32, headDim = 128;
    int hidden() const { return heads * headDim; }
};

// A fixed-seed xorshift generator: bf16 values of a roughly normal distribution (sum of four uniforms), scaled
// like a trained projection (std 0.02). Cheap enough to make 1 G values in seconds.
class Bf16Noise {
public:
    explicit Bf16Noise(uint64_t seed) : m_state(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint16_t next() {
        float sum = 0;
        for (int i = 0; i < 4; ++i) sum += static_cast<float>(step() >> 40) * (1.0f / 16777216.0f);
        const float value = (sum - 2.0f) * 0.0346f;  // std of the sum of 4 U(0,1) is 0.577
        uint32_t bits;
        std::memcpy(&bits, &value, 4);
        return static_cast<uint16_t>(bits >> 16);
    }

private:
    uint64_t step() {
        m_state ^= m_state << 13;
        m_state ^= m_state >> 7;
        m_state ^= m_state << 17;
        return m_state;
    }
    uint64_t m_state;
};

std::string configJson(const Shape& shape) {
    const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}},
                                   {"model_type", "llama"},
                                   {"hidden_size", shape.hidden()},
                                   {"intermediate_size", 11008},
                                   {"num_hidden_layers", shape.layers},
                                   {"num_attention_heads", shape.heads},
                                   {"num_key_value_heads", shape.heads},
                                   {"max_position_embeddings", 4096},
                                   {"rms_norm_eps", 1e-5},
                                   {"vocab_size", 32000},
                                   {"torch_dtype", "bfloat16"}};
    return config.dump(2) + "\n";
}

// Writes the checkpoint one layer (one shard) at a time, so the generator itself stays small.
void generateCheckpoint(const fs::path& dir, const Shape& shape) {
    fs::create_directories(dir);
    const int64_t side = shape.hidden();
    std::vector<uint16_t> key(static_cast<size_t>(side * side)), value(key.size());
    nlohmann::json weightMap = nlohmann::json::object();
    for (int layer = 0; layer < shape.layers; ++layer) {
        Bf16Noise noise(static_cast<uint64_t>(layer) + 1);
        for (auto& x : key) x = noise.next();
        for (auto& x : value) x = noise.next();
        char shard[64];
        std::snprintf(shard, sizeof shard, "model-%05d-of-%05d.safetensors", layer + 1, shape.layers);
        const std::string prefix = "model.layers." + std::to_string(layer) + ".self_attn.";
        dha::io::writeSafetensors(dir / shard, {{prefix + "k_proj.weight", dha::io::DType::BF16, {side, side}, key.data()},
                                                {prefix + "v_proj.weight", dha::io::DType::BF16, {side, side}, value.data()}});
        weightMap[prefix + "k_proj.weight"] = shard;
        weightMap[prefix + "v_proj.weight"] = shard;
        std::fprintf(stderr, "\rgenerating layer %d/%d", layer + 1, shape.layers);
    }
    std::fprintf(stderr, "\n");
    const nlohmann::json index = {{"metadata", {{"total_size", 2 * shape.layers * side * side * 2}}},
                                  {"weight_map", weightMap}};
    dha::io::writeFileAtomically(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    dha::io::writeFileAtomically(dir / "config.json", configJson(shape));  // last: marks the set complete
}

struct ChildRun {
    int exitCode = -1;
    double seconds = 0;
    long peakRssKiB = 0;
};

// Runs argv with stdout sent to /dev/null and measures the child alone (wait4's rusage).
ChildRun runChild(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execv(args[0], args.data());
        std::perror("execv");
        _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    wait4(pid, &status, 0, &usage);
    ChildRun run;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.peakRssKiB = usage.ru_maxrss;
    return run;
}

}  // namespace

int main(int argc, char** argv) {
    Shape shape;
    fs::path dir = fs::path(DHA_BINARY_DIR) / "bench-data" / "llama7b-kv";
    std::string metrics = "cka,cosine";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--dir") dir = argv[i + 1];
        else if (option == "--metrics") metrics = argv[i + 1];
        else if (option == "--layers") shape.layers = std::atoi(argv[i + 1]);
        else if (option == "--heads") shape.heads = std::atoi(argv[i + 1]);
        else if (option == "--head-dim") shape.headDim = std::atoi(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: dha_bench_analysis [--dir DIR] [--metrics cka,cosine] [--layers N] "
                                 "[--heads N] [--head-dim N]\n");
            return 2;
        }
    }
    try {
        std::error_code error;
        const bool present = fs::exists(dir / "config.json", error) &&
                             dha::io::readSmallFile(dir / "config.json") == configJson(shape);
        if (!present) {
            fs::remove_all(dir, error);
            const auto start = std::chrono::steady_clock::now();
            generateCheckpoint(dir, shape);
            std::printf("generated %s in %.1f s\n", dir.c_str(),
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
    } catch (const dha::Exception& error) {
        std::fprintf(stderr, "dha_bench_analysis: %s\n", error.what());
        return 1;
    }
    const double gib = 2.0 * shape.layers * shape.hidden() * static_cast<double>(shape.hidden()) * 2 / (1u << 30);
    std::printf("checkpoint: %d layers x %d heads x %d head width (hidden %d), bf16 k_proj + v_proj = %.2f GiB in "
                "%d shards\n", shape.layers, shape.heads, shape.headDim, shape.hidden(), gib, shape.layers);
    std::printf("%-8s %10s %14s %6s\n", "metric", "wall (s)", "peak RSS (MB)", "exit");
    std::stringstream list(metrics);
    std::string metric;
    int failures = 0;
    while (std::getline(list, metric, ',')) {
        const ChildRun run = runChild({DHA_CLI_PATH, "analyse", dir.string(), "--metric", metric, "--json", "--quiet"});
        std::printf("%-8s %10.2f %14.1f %6d\n", metric.c_str(), run.seconds, run.peakRssKiB / 1024.0, run.exitCode);
        std::fflush(stdout);
        failures += run.exitCode != 0;
    }
    std::printf("targets: wall <= 30 s and peak RSS <= 1536 MB for cka (issue 5)\n");
    return failures ? 1 : 0;
}
