// Tokens/s of one fusion-stage training step in C++ against the same step in Python PyTorch on the same
// LibTorch and thread count, side by side in one run (issue 6, "Speed"), with the first step's LM loss of
// both as proof that they compute the same thing.
// Usage: dha_bench_fusion_step [--model DIR] [--plan FILE] [--threads N] [--batch N] [--context N] [--steps
// N]
//        [--warmup N] [--dtype fp32|bf16] [--python PATH] [--script FILE] [--variants mirror,direct]
//        [--rounds N] [--breakdown]
// Exit 77 when the Python interpreter has no torch (the comparison cannot run), 2 on a usage error, 1 on a
// failed run.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dha/budget.h"
#include "dha/embedded_model.h"
#include "dha/error.h"
#include "dha/plan.h"
#include "dha/runtime.h"
#include "dha/similarity.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "model/model_loader.h"
#include "training/autocast_scope.h"
#include "training/fusion_stage.h"
#include "training/fusion_step.h"

namespace fs = std::filesystem;

namespace {

constexpr int kExitSkipped = 77;

struct Options {
    fs::path model;
    fs::path plan;
    int threads = 1, batch = 8, context = 256, steps = 10, warmup = 2, rounds = 1;
    bool bf16 = false;
    bool breakdown = false;
    std::string python = "/usr/bin/python3";
    fs::path script = DHA_FUSION_STEP_SCRIPT;
    std::vector<std::string> variants = {"mirror", "direct"};
};

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "dha_bench_fusion_step: %s\nusage: dha_bench_fusion_step [--model DIR] [--plan FILE] "
                 "[--threads N] [--batch N] [--context N] [--steps N] [--warmup N] [--dtype fp32|bf16] "
                 "[--python PATH] [--script FILE] [--variants mirror,direct] [--rounds N] [--breakdown]\n",
                 problem.c_str());
    std::exit(2);
}

int positive(const char* option, const char* text, int minimum) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < minimum || value > (1 << 20))
        usage(std::string(option) + " needs an integer >= " + std::to_string(minimum) + ", got '" + text +
              "'");
    return static_cast<int>(value);
}

Options parseOptions(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--breakdown") {
            options.breakdown = true;
            continue;
        }
        if (i + 1 >= argc) usage(option + " needs a value");
        const char* value = argv[++i];
        if (option == "--model")
            options.model = value;
        else if (option == "--plan")
            options.plan = value;
        else if (option == "--threads")
            options.threads = positive("--threads", value, 1);
        else if (option == "--batch")
            options.batch = positive("--batch", value, 1);
        else if (option == "--context")
            options.context = positive("--context", value, 1);
        else if (option == "--steps")
            options.steps = positive("--steps", value, 1);
        else if (option == "--warmup")
            options.warmup = positive("--warmup", value, 0);
        else if (option == "--rounds")
            options.rounds = positive("--rounds", value, 1);
        else if (option == "--python")
            options.python = value;
        else if (option == "--script")
            options.script = value;
        else if (option == "--dtype") {
            if (std::strcmp(value, "fp32") != 0 && std::strcmp(value, "bf16") != 0)
                usage(std::string("--dtype is fp32 or bf16, got '") + value + "'");
            options.bf16 = std::strcmp(value, "bf16") == 0;
        } else if (option == "--variants") {
            options.variants.clear();
            std::string list = value;
            for (size_t start = 0; start <= list.size();) {
                const size_t comma = std::min(list.find(',', start), list.size());
                const std::string name = list.substr(start, comma - start);
                if (name != "mirror" && name != "direct") usage("--variants lists mirror and/or direct");
                options.variants.push_back(name);
                start = comma + 1;
            }
        } else {
            usage("unknown option " + option);
        }
    }
    return options;
}

// Runs argv (argv[0] searched on PATH); its stdout comes back as text, its stderr goes to ours (both go to
// /dev/null when output is null). Returns the exit code (127: no exec).
int runChild(const std::vector<std::string>& argv, std::string* output) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    int pipeFds[2];
    if (pipe(pipeFds) != 0) return 127;
    const pid_t pid = fork();
    if (pid < 0) return 127;
    if (pid == 0) {
        close(pipeFds[0]);
        if (output == nullptr) {
            const int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        } else {
            dup2(pipeFds[1], STDOUT_FILENO);
        }
        execvp(args[0], args.data());  // --python may be a bare name found on PATH
        _exit(127);
    }
    close(pipeFds[1]);
    char buffer[4096];
    ssize_t got = 0;
    while ((got = read(pipeFds[0], buffer, sizeof buffer)) > 0) {
        if (output != nullptr && output->size() < (1u << 20))
            output->append(buffer, static_cast<size_t>(got));
    }
    close(pipeFds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

dha::Plan planFor(const Options& options, const fs::path& modelDir) {
    if (!options.plan.empty()) return dha::loadPlan(options.plan);
    dha::AnalyseSpec spec;
    spec.modelDir = modelDir;
    spec.metric = dha::SimilarityMetric::WeightCka;
    dha::JobSink sink;
    dha::CancelToken cancel;
    const auto analysis = dha::runAnalyseJob(spec, sink, cancel);
    if (!analysis.ok()) throw dha::Exception(analysis.error);
    return dha::planFromSimilarity(*analysis.value, dha::Budget::ofFraction(0.25));
}

// Per-phase wall time of a step, for --breakdown.
struct Phases {
    double projections = 0, forward = 0, backward = 0, optimizer = 0, refresh = 0;
};

double secondsSince(std::chrono::steady_clock::time_point& mark) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - mark).count();
    mark = now;
    return seconds;
}

// training::fusionStep with a clock between its phases (same operations, same order); for --breakdown only:
// the timed figures come from the engine's own fusionStep.
double instrumentedFusionStep(dha::training::FusionStageState& state, const at::Tensor& batch, bool bf16,
                              Phases& phases) {
    using namespace dha;
    auto mark = std::chrono::steady_clock::now();
    const model::Transformer& fused = state.fusedModel();
    const int64_t context = batch.size(1) - 1;
    const at::Tensor inputs = batch.narrow(1, 0, context);
    const at::Tensor targets = batch.narrow(1, 1, context);
    const auto clear = [](const at::Tensor& tensor) {
        if (tensor.grad().defined()) tensor.mutable_grad().reset();
    };
    for (const auto& item : state.modelParameters()) clear(item.second);
    for (const auto& item : state.fusionParameters()) clear(item.second);
    std::vector<std::pair<at::Tensor, at::Tensor>> slots;  // (fused projection in the graph, fused parameter)
    for (int layer = 0; layer < fused->numLayers(); ++layer) {
        const model::AttentionLayer& attention = fused->layer(layer)->selfAttn;
        for (const HeadKind kind : {HeadKind::Key, HeadKind::Value}) {
            const conversion::ProjectionWeights projection = state.fusion().fusedProjection(layer, kind);
            const model::Projection& target = kind == HeadKind::Key ? attention->kProj : attention->vProj;
            slots.emplace_back(projection.weight, target->weight());
            if (projection.bias.defined()) slots.emplace_back(projection.bias, target->bias());
        }
    }
    {
        at::NoGradGuard noGrad;
        for (const auto& [value, parameter] : slots) {
            clear(parameter);
            parameter.copy_(value);
        }
    }
    phases.projections += secondsSince(mark);
    at::Tensor logits;
    {
        training::AutocastScope autocast(bf16, false);
        logits = fused->forward(inputs);
    }
    const at::Tensor lmLoss =
        at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
    const at::Tensor fusionLoss = state.fusion().fusionLoss();
    const double target = state.schedule().target(state.step());
    phases.forward += secondsSince(mark);
    (lmLoss + training::lagrangianTerm(fusionLoss, target, state.multipliers())).backward();
    const double loss = lmLoss.item<double>();
    const double fusionValue = fusionLoss.item<double>();
    std::vector<at::Tensor> terms;
    for (const auto& [value, parameter] : slots) {
        if (parameter.grad().defined()) terms.push_back((value * parameter.grad()).sum());
    }
    if (!terms.empty()) at::stack(terms).sum().backward();
    phases.backward += secondsSince(mark);
    training::clipGradientNorm(state.modelParameters(), 1.0);
    training::clipGradientNorm(state.fusionParameters(), 0.0);
    const training::FusionStepOptions defaults;
    state.modelOptimizer().step(defaults.modelLearningRate);
    state.fusionOptimizer().step(defaults.fusionLearningRate);
    training::ascendMultipliers(state.multipliers(), fusionValue, target, defaults.lambdaLearningRate);
    phases.optimizer += secondsSince(mark);
    state.finishStep();
    phases.refresh += secondsSince(mark);
    return loss;
}

// Removes the bench's temporary directory however main() ends.
struct RemoveOnExit {
    fs::path dir;
    ~RemoveOnExit() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

// One timed run of a step implementation: warm-up + timed steps from a fresh state.
struct Run {
    double tokensPerSecond = 0, msPerStep = 0, firstLoss = 0;
    double cpuTokensPerSecond = 0;  // per second of process CPU time: robust when other processes compete
    nlohmann::json breakdown;       // Python --breakdown: ms per phase
};

struct Setup {
    Options options;
    fs::path modelDir, planFile, batchFile;
    dha::model::LoadedModel loaded;
    dha::Plan plan;
    at::Tensor batches;  // int64 [warmup + steps, batch, context + 1]
};

double tokensPerRun(const Options& options) {
    return static_cast<double>(options.steps) * options.batch * options.context;
}

// CPU time of this process (all threads), as Python's time.process_time().
double processCpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// The engine's own fusion step, on a fresh fusion stage built from the loaded model.
Run runCpp(const Setup& setup) {
    const Options& options = setup.options;
    dha::training::FusionStageState state(setup.loaded.model, setup.plan, {});
    dha::training::FusionStepOptions stepOptions;
    stepOptions.bf16Autocast = options.bf16;
    Run run;
    double seconds = 0, cpuSeconds = 0;
    for (int step = 0; step < options.warmup + options.steps; ++step) {
        const auto start = std::chrono::steady_clock::now();
        const double cpuStart = processCpuSeconds();
        const auto result = dha::training::fusionStep(state, setup.batches[step], stepOptions);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double cpuElapsed = processCpuSeconds() - cpuStart;
        if (step == 0) run.firstLoss = result.lmLoss;
        if (step >= options.warmup) {
            seconds += elapsed;
            cpuSeconds += cpuElapsed;
        }
    }
    run.tokensPerSecond = tokensPerRun(options) / seconds;
    run.cpuTokensPerSecond = tokensPerRun(options) / cpuSeconds;
    run.msPerStep = 1000.0 * seconds / options.steps;
    return run;
}

// bench/python/fusion_step.py as a child process on the same model, plan, batches and threads.
Run runPython(const Setup& setup, const std::string& variant, std::string* torchVersion) {
    const Options& options = setup.options;
    std::vector<std::string> argv = {options.python, options.script.string(),
                                     "--model",      setup.modelDir.string(),
                                     "--plan",       setup.planFile.string(),
                                     "--batches",    setup.batchFile.string(),
                                     "--threads",    std::to_string(options.threads),
                                     "--batch",      std::to_string(options.batch),
                                     "--context",    std::to_string(options.context),
                                     "--steps",      std::to_string(options.steps),
                                     "--warmup",     std::to_string(options.warmup),
                                     "--dtype",      options.bf16 ? "bf16" : "fp32",
                                     "--variant",    variant};
    if (options.breakdown) argv.push_back("--breakdown");
    std::string output;
    const int code = runChild(argv, &output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    const size_t lineStart = output.find_last_of('\n');
    const std::string line = lineStart == std::string::npos ? output : output.substr(lineStart + 1);
    nlohmann::json json;
    try {
        json = dha::io::parseJsonStrict(line, "the Python step's output", "line");
    } catch (const dha::Exception&) {
        json = nullptr;  // not JSON (a crash): reported with the exit code below
    }
    if (code != 0 || !json.is_object() || json.contains("error")) {
        const std::string why = json.is_object() && json.contains("error") ? json["error"].dump() : line;
        dha::fail(dha::ErrorCode::Internal, options.script.string(),
                  "the Python step (" + variant + ") exited " + std::to_string(code) + ": " + why);
    }
    const std::string where = options.script.string() + " output";
    Run run;
    run.tokensPerSecond = dha::io::jsonNumber(json.at("tokens_per_s"), where, "tokens_per_s");
    run.msPerStep = dha::io::jsonNumber(json.at("ms_per_step"), where, "ms_per_step");
    run.firstLoss = dha::io::jsonNumber(json.at("first_loss"), where, "first_loss");
    run.cpuTokensPerSecond = dha::io::jsonNumber(json.at("cpu_tokens_per_s"), where, "cpu_tokens_per_s");
    if (json.contains("breakdown_ms")) run.breakdown = json["breakdown_ms"];
    if (torchVersion != nullptr && json.contains("torch")) *torchVersion = json["torch"].dump();
    return run;
}

Setup prepare(const Options& options, const fs::path& workDir) {
    Setup setup;
    setup.options = options;
    setup.modelDir = options.model;
    if (setup.modelDir.empty()) {
        const auto embedded = dha::embeddedModelDir();
        if (!embedded)
            dha::failInput(dha::describeEmbeddedCandidates("models/dha-teacher"), "no embedded model");
        setup.modelDir = *embedded;
    }
    setup.loaded = dha::model::loadModel(setup.modelDir);
    const dha::ModelConfig& config = setup.loaded.config;
    if (options.context > config.maxPositionEmbeddings) {
        dha::failInput(setup.modelDir.string(), "--context " + std::to_string(options.context) +
                                                    " exceeds max_position_embeddings " +
                                                    std::to_string(config.maxPositionEmbeddings));
    }
    setup.plan = planFor(options, setup.modelDir);
    setup.planFile = workDir / "plan.json";
    dha::savePlan(setup.plan, setup.planFile);
    // Both sides train on these very batches: this side writes them, the Python side reads them.
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
    setup.batches =
        at::randint(config.vocabSize, {options.warmup + options.steps, options.batch, options.context + 1},
                    generator, at::kLong)
            .contiguous();
    setup.batchFile = workDir / "batches.bin";
    dha::io::AtomicFileWriter writer(setup.batchFile);
    writer.write(setup.batches.data_ptr(), static_cast<size_t>(setup.batches.numel()) * sizeof(int64_t));
    writer.commit();
    return setup;
}

// The middle value (the lower of the two middle ones): robust against a round that the other core disturbed.
double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[(values.size() - 1) / 2];
}

void printBreakdown(const Setup& setup, const std::vector<std::pair<std::string, Run>>& pythonRuns) {
    const Options& options = setup.options;
    Phases phases;
    dha::training::FusionStageState state(setup.loaded.model, setup.plan, {});
    for (int step = 0; step < options.warmup + options.steps; ++step) {
        if (step == options.warmup) phases = Phases{};
        instrumentedFusionStep(state, setup.batches[step], options.bf16, phases);
    }
    const double perStep = options.steps / 1000.0;
    std::printf("\nbreakdown, ms/step       projections    forward   backward  optimizer    refresh\n");
    std::printf("%-24s %11.1f %10.1f %10.1f %10.1f %10.1f\n", "C++", phases.projections / perStep,
                phases.forward / perStep, phases.backward / perStep, phases.optimizer / perStep,
                phases.refresh / perStep);
    for (const auto& [variant, run] : pythonRuns) {
        const auto phase = [&run = run](const char* key) {
            return run.breakdown.is_object() && run.breakdown.contains(key) ? run.breakdown[key].get<double>()
                                                                            : 0.0;
        };
        std::printf("%-24s %11.1f %10.1f %10.1f %10.1f %10.1f\n", ("Python " + variant).c_str(),
                    phase("projections"), phase("forward"), phase("backward"), phase("optimizer"),
                    phase("refresh"));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parseOptions(argc, argv);
    // The comparison needs a Python with torch; without one there is nothing to compare against.
    if (runChild({options.python, "-c", "import torch"}, nullptr) != 0) {
        std::printf(
            "skipped: %s cannot be run or cannot import torch (install Debian's python3-torch, or give "
            "--python)\n",
            options.python.c_str());
        return kExitSkipped;
    }
    if (!fs::is_regular_file(options.script)) {
        std::fprintf(stderr, "dha_bench_fusion_step: the Python step %s is missing (--script)\n",
                     options.script.string().c_str());
        return 1;
    }
    dha::initRuntime();
    at::set_num_threads(options.threads);
    char tempTemplate[] = "/tmp/dha-bench-fusion-XXXXXX";
    if (mkdtemp(tempTemplate) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const RemoveOnExit cleanup{tempTemplate};
    int exitCode = 0;
    try {
        const Setup setup = prepare(options, cleanup.dir);
        const dha::ModelConfig& config = setup.loaded.config;
        std::printf(
            "C++: %s\nPython: %s %s\nmodel %s: %d layers, hidden %d, %d heads; plan keeps %d of %d k/v "
            "heads (%.2f)\nbatch %d x context %d, %s, %d threads, %d warm-up + %d timed steps, %d "
            "rounds (C++ and Python alternate; medians)\n",
            dha::runtimeDescription().c_str(), options.python.c_str(), options.script.string().c_str(),
            setup.modelDir.string().c_str(), config.numLayers, config.hiddenSize, config.numQueryHeads,
            setup.plan.keptHeads(), setup.plan.sourceKvHeads(), setup.plan.keptFraction(), options.batch,
            options.context, options.bf16 ? "bf16 autocast" : "fp32", at::get_num_threads(), options.warmup,
            options.steps, options.rounds);
        std::fflush(stdout);

        // Per implementation (0 = C++, then the Python variants) and round: wall and CPU-time tokens/s.
        const size_t count = 1 + options.variants.size();
        std::vector<std::vector<double>> rates(count), cpuRates(count);
        std::vector<Run> last(count);  // the last round's runs, for the losses and the breakdown
        std::string torchVersion;
        for (int round = 0; round < options.rounds; ++round) {
            last[0] = runCpp(setup);
            for (size_t v = 0; v < options.variants.size(); ++v)
                last[1 + v] = runPython(setup, options.variants[v], &torchVersion);
            for (size_t i = 0; i < count; ++i) {
                rates[i].push_back(last[i].tokensPerSecond);
                cpuRates[i].push_back(last[i].cpuTokensPerSecond);
            }
            if (options.rounds > 1) {
                std::printf("round %d: C++ %.0f tokens/s (CPU time %.0f)", round + 1, last[0].tokensPerSecond,
                            last[0].cpuTokensPerSecond);
                for (size_t v = 0; v < options.variants.size(); ++v)
                    std::printf(", Python %s %.0f (%.0f)", options.variants[v].c_str(),
                                last[1 + v].tokensPerSecond, last[1 + v].cpuTokensPerSecond);
                std::printf("\n");
                std::fflush(stdout);
            }
        }
        const double tokens = tokensPerRun(options);
        std::printf("Python torch %s\n\n%-32s %10s %10s %18s %16s\n", torchVersion.c_str(), "implementation",
                    "tokens/s", "ms/step", "tokens/CPU-second", "first LM loss");
        for (size_t i = 0; i < count; ++i) {
            const std::string name = i == 0                                ? "C++ (engine fusionStep)"
                                     : options.variants[i - 1] == "mirror" ? "Python (same structure)"
                                                                           : "Python (direct, one backward)";
            const double rate = median(rates[i]);
            std::printf("%-32s %10.0f %10.1f %18.0f %16.7f\n", name.c_str(), rate,
                        1000.0 * tokens / rate / options.steps, median(cpuRates[i]), last[i].firstLoss);
        }
        std::printf("\n");
        for (size_t v = 0; v < options.variants.size(); ++v) {
            const double difference = std::fabs(last[1 + v].firstLoss - last[0].firstLoss);
            std::printf(
                "C++/Python (%s): %.3fx wall, %.3fx CPU time (target >= 1.0x); first-step LM loss differs "
                "by %.1e%s\n",
                options.variants[v].c_str(), median(rates[0]) / median(rates[1 + v]),
                median(cpuRates[0]) / median(cpuRates[1 + v]), difference,
                difference <= 1e-4 ? "" : "  ** more than 1e-4: the two steps differ **");
            if (difference > 1e-4) exitCode = 1;
        }
        std::vector<std::pair<std::string, Run>> pythonRuns;
        for (size_t v = 0; v < options.variants.size(); ++v)
            pythonRuns.emplace_back(options.variants[v], last[1 + v]);
        if (options.breakdown) printBreakdown(setup, pythonRuns);
    } catch (const std::exception& error) {  // dha::Exception, and c10::Error from LibTorch
        std::fprintf(stderr, "dha_bench_fusion_step: %s\n", error.what());
        exitCode = 1;
    }
    return exitCode;
}
