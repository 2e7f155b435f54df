// New and resumed pretraining runs: run.json, the model, the optimizer and the data.
#include "jobs/pretrain_setup.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <cmath>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/sha256.h"
#include "model/model_loader.h"
#include "training/model_initialisation.h"
#include "training/token_data.h"

namespace dha::jobs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTextBytes = size_t{4} << 30;

void usage(const char* option, const std::string& message) { fail(ErrorCode::Usage, option, message); }

int64_t stepsFor(int64_t tokens, int64_t tokensPerStep) {
    return (tokens + tokensPerStep - 1) / tokensPerStep;
}

int64_t resolvedWarmup(const PretrainSpec& spec, int64_t totalSteps) {
    if (spec.warmupSteps > 0) return spec.warmupSteps;
    return std::max<int64_t>(1, std::min<int64_t>(1000, totalSteps / 20));
}

// The tokenizer file of the run: --tokenizer, else the initial model's own.
fs::path tokenizerFileOf(const PretrainSpec& spec) {
    if (!spec.tokenizerFile.empty()) return spec.tokenizerFile;
    if (spec.initModelDir.empty()) usage("--tokenizer", "missing --tokenizer FILE (required without --init)");
    for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
        if (fs::exists(spec.initModelDir / name)) return spec.initModelDir / name;
    }
    failInput(spec.initModelDir.string(), "has no tokenizer.model or tokenizer.json",
              "give one with --tokenizer FILE");
}

training::AdamWOptions optimizerOptions(const PretrainSpec& spec) {
    return {spec.beta1, spec.beta2, spec.adamEpsilon, spec.weightDecay};
}

void attachOptimizer(PreparedRun& run) {
    run.parameters.clear();
    for (const auto& item : run.model->named_parameters())
        run.parameters.emplace_back(item.key(), item.value());
    run.optimizer = std::make_unique<training::AdamW>(run.parameters, optimizerOptions(run.record.spec));
}

// The model of a run before its first step: the initial model's weights, or the seeded initialisation.
void initialModel(PreparedRun& run) {
    const PretrainSpec& spec = run.record.spec;
    run.model = model::Transformer(run.record.modelConfig);
    if (!spec.initModelDir.empty()) {
        model::loadWeights(run.model, io::SafetensorsCheckpoint::open(spec.initModelDir), spec.initModelDir);
    } else {
        training::initialiseWeights(run.model, spec.seed, spec.initStd);
    }
}

void checkContextFits(const PretrainSpec& spec, const ModelConfig& config, const fs::path& modelDir) {
    if (spec.contextLength > config.maxPositionEmbeddings) {
        usage("--context", "context length " + std::to_string(spec.contextLength) +
                               " exceeds max_position_embeddings " +
                               std::to_string(config.maxPositionEmbeddings) + " of " + modelDir.string());
    }
}

void createRun(PreparedRun& run, const PretrainSpec& given) {
    const fs::path& runDir = given.runDir;
    std::error_code error;
    if (fs::exists(runDir, error) && !(fs::is_directory(runDir, error) && fs::is_empty(runDir, error))) {
        failInput(runDir.string(), "already exists and is not an empty directory",
                  fs::exists(training::runJsonPath(runDir)) ? "continue it with --resume"
                                                            : "choose a new directory");
    }
    training::RunRecord& record = run.record;
    record.spec = given;
    PretrainSpec& spec = record.spec;
    spec.resume = false;
    spec.tokenizerFile = tokenizerFileOf(given);
    record.tokenizer = training::fingerprintFile(spec.tokenizerFile);
    record.text = training::fingerprintFile(spec.trainText);
    if (!spec.validationText.empty()) record.validation = training::fingerprintFile(spec.validationText);
    spec.tokenizerFile = record.tokenizer.path;
    spec.trainText = record.text.path;
    spec.validationText = record.validation.path;
    if (!spec.initModelDir.empty()) spec.initModelDir = fs::absolute(spec.initModelDir).lexically_normal();
    run.tokenizer = training::loadTokenizerFile(spec.tokenizerFile);

    if (!spec.initModelDir.empty()) {
        record.modelConfig = loadModelConfig(spec.initModelDir / "config.json");
        const ModelConfig& config = record.modelConfig;
        if (!config.isMha() && !config.isUniform()) {
            failInput((spec.initModelDir / "config.json").string(),
                      "is a DHA model; pretraining starts from MHA or GQA models");
        }
        spec.numLayers = config.numLayers;
        spec.hiddenSize = config.hiddenSize;
        spec.numQueryHeads = config.numQueryHeads;
        spec.numKeyValueHeads = config.numKeyValueHeads;
        spec.intermediateSize = config.intermediateSize;
        spec.ropeTheta = config.ropeTheta;
        spec.tieWordEmbeddings = config.tieWordEmbeddings;
        checkContextFits(spec, config, spec.initModelDir);
    } else {
        InitModelSpec shape;
        shape.numLayers = spec.numLayers;
        shape.hiddenSize = spec.hiddenSize;
        shape.numQueryHeads = spec.numQueryHeads;
        shape.numKeyValueHeads = spec.numKeyValueHeads;
        shape.intermediateSize = spec.intermediateSize;
        shape.maxPositionEmbeddings = spec.contextLength;
        shape.ropeTheta = spec.ropeTheta;
        shape.tieWordEmbeddings = spec.tieWordEmbeddings;
        shape.dtype = "F32";
        record.modelConfig = training::buildModelConfig(shape, *run.tokenizer);
        spec.numKeyValueHeads = record.modelConfig.numKeyValueHeads;
        spec.intermediateSize = record.modelConfig.intermediateSize;
    }
    if (run.tokenizer->vocabSize() > record.modelConfig.vocabSize) {
        failInput(spec.tokenizerFile.string(), "has " + std::to_string(run.tokenizer->vocabSize()) +
                                                   " tokens but the model's vocab_size is " +
                                                   std::to_string(record.modelConfig.vocabSize));
    }
    record.tokensPerStep = int64_t{spec.batchSize} * spec.contextLength;
    record.totalSteps = stepsFor(spec.trainingTokens, record.tokensPerStep);
    spec.warmupSteps = resolvedWarmup(spec, record.totalSteps);
    initialModel(run);
    record.parameterCount = run.model->parameterCount();
    // Everything is checked; only now does the run directory appear.
    fs::create_directories(runDir);
    run.lock = std::make_unique<RunDirectoryLock>(runDir);
    training::writeRunRecord(runDir, record);
    attachOptimizer(run);
}

void reopenRun(PreparedRun& run, const PretrainSpec& given, JobSink& sink) {
    const fs::path& runDir = given.runDir;
    training::RunRecord& record = run.record;
    record = training::readRunRecord(runDir);
    run.lock = std::make_unique<RunDirectoryLock>(runDir);
    training::checkSameTraining(given, record, training::runJsonPath(runDir));
    const auto fileOr = [](const fs::path& givenPath, const fs::path& recorded) {
        return givenPath.empty() ? recorded : givenPath;
    };
    // An empty path means the recorded file. The files may have moved: the run continues with the ones given,
    // whose content must be the recorded one.
    const fs::path textFile = fileOr(given.trainText, record.spec.trainText);
    const fs::path validationFile = fileOr(given.validationText, record.spec.validationText);
    const fs::path tokenizerFile = fileOr(given.tokenizerFile, record.spec.tokenizerFile);
    training::checkSameFile(textFile, record.text, "training text");
    training::checkSameFile(validationFile, record.validation, "validation text");
    training::checkSameFile(tokenizerFile, record.tokenizer, "tokenizer");
    record.spec.trainText = fs::absolute(textFile).lexically_normal();
    if (!validationFile.empty()) record.spec.validationText = fs::absolute(validationFile).lexically_normal();
    record.spec.tokenizerFile = fs::absolute(tokenizerFile).lexically_normal();
    run.tokenizer = training::loadTokenizerFile(record.spec.tokenizerFile);

    training::removeIncompleteCheckpoints(runDir);
    const auto latest = training::latestCheckpoint(runDir);
    if (latest) {
        run.model = model::Transformer(record.modelConfig);
        attachOptimizer(run);
        run.state = training::restoreCheckpoint(*latest, run.model, *run.optimizer);
        run.resumed = true;
        sink.onLog({LogLevel::Info,
                    "resuming from " + latest->string() + " (step " + std::to_string(run.state.step) + ")"});
    } else {
        initialModel(run);
        attachOptimizer(run);
        sink.onLog({LogLevel::Info, "no checkpoint yet in " + runDir.string() + ": starting from step 0"});
    }

    // The one setting a resume may change: the token budget (a longer or shorter cosine schedule from here).
    const int64_t budget = given.trainingTokens > 0 ? given.trainingTokens : record.spec.trainingTokens;
    const int64_t totalSteps = stepsFor(budget, record.tokensPerStep);
    if (totalSteps < run.state.step) {
        usage("--tokens", std::to_string(budget) + " tokens mean " + std::to_string(totalSteps) +
                              " steps, fewer than the " + std::to_string(run.state.step) + " already done");
    }
    if (budget != record.spec.trainingTokens) {
        sink.onLog({LogLevel::Warning, "token budget changed from " +
                                           std::to_string(record.spec.trainingTokens) + " to " +
                                           std::to_string(budget) + ": the schedule now ends at step " +
                                           std::to_string(totalSteps)});
        record.spec.trainingTokens = budget;
        record.totalSteps = totalSteps;
        training::writeRunRecord(runDir, record);
    }
    record.spec.checkpointEverySteps = given.checkpointEverySteps;
    record.spec.checkpointEverySeconds = given.checkpointEverySeconds;
    record.spec.keepCheckpoints = given.keepCheckpoints;
    record.spec.validateEverySteps = given.validateEverySteps;
}

std::vector<int32_t> trainingTokens(PreparedRun& run, JobSink& sink, const CancelToken& cancel) {
    const training::RunRecord& record = run.record;
    const fs::path cache = record.spec.runDir / "tokens.bin";
    const training::TokenCacheKey key{record.text.sha256, record.tokenizer.sha256};
    std::vector<int32_t> tokens = training::readTokenCache(cache, key, record.modelConfig.vocabSize);
    if (tokens.empty()) {
        const std::string text = io::readSmallFile(record.spec.trainText, kMaxTextBytes);
        if (io::sha256Hex(text) != record.text.sha256) {
            failInput(record.spec.trainText.string(), "changed while the run was starting");
        }
        tokens = training::tokenizeDocuments(text, *run.tokenizer, sink, cancel);
        training::writeTokenCache(cache, key, text.size(), tokens);
        sink.onLog({LogLevel::Info, "tokenized " + record.spec.trainText.string() + ": " +
                                        std::to_string(tokens.size()) + " tokens (cached in " +
                                        cache.string() + ")"});
    }
    const int64_t needed = int64_t{record.spec.contextLength} + 1;
    if (static_cast<int64_t>(tokens.size()) < needed) {
        failInput(record.spec.trainText.string(), "has " + std::to_string(tokens.size()) +
                                                      " tokens; a context of " +
                                                      std::to_string(record.spec.contextLength) +
                                                      " needs at least " + std::to_string(needed));
    }
    return tokens;
}

at::Tensor validationTokens(const PreparedRun& run, const CancelToken& cancel) {
    const fs::path& file = run.record.spec.validationText;
    if (file.empty()) return {};
    const std::string text = io::readSmallFile(file, kMaxTextBytes);
    if (cancel.isCancelled()) fail(ErrorCode::Cancelled, {}, "cancelled during tokenization");
    // One stream, exactly as `dha eval` tokenizes, so validation figures equal `dha eval` on the export.
    const std::vector<int32_t> ids = run.tokenizer->encode(text);
    if (ids.size() < 2) failInput(file.string(), "has fewer than 2 tokens; validation needs at least 2");
    return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const fs::path& runDir) {
    const fs::path file = runDir / ".lock";
    m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (m_fd < 0) fail(ErrorCode::Io, file.string(), "cannot create the run's lock file");
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(m_fd);
        m_fd = -1;
        failInput(runDir.string(), "is in use by another pretraining process",
                  "wait for it to finish or cancel it");
    }
}

RunDirectoryLock::~RunDirectoryLock() {
    if (m_fd >= 0) ::close(m_fd);
}

void checkPretrainSpec(const PretrainSpec& spec) {
    if (spec.runDir.empty()) usage("RUN", "no run directory given");
    if (!spec.resume) {
        if (spec.trainText.empty()) usage("--text", "missing --text FILE");
        if (spec.trainingTokens <= 0) usage("--tokens", "missing --tokens N (the training budget in tokens)");
    }
    if (spec.contextLength < 1) usage("--context", "the context length must be at least 1");
    if (spec.batchSize < 1) usage("--batch", "the batch size must be at least 1");
    if (!(spec.peakLearningRate > 0)) usage("--lr", "the learning rate must be positive");
    if (!(spec.minLearningRate >= 0 && spec.minLearningRate <= spec.peakLearningRate)) {
        usage("--min-lr", "the minimum learning rate must be between 0 and --lr");
    }
    if (!(spec.beta1 >= 0 && spec.beta1 < 1) || !(spec.beta2 >= 0 && spec.beta2 < 1)) {
        usage("--beta1", "AdamW betas must be in [0, 1)");
    }
    if (!(spec.adamEpsilon > 0)) usage("--adam-eps", "AdamW epsilon must be positive");
    if (!(spec.weightDecay >= 0)) usage("--weight-decay", "weight decay must not be negative");
    if (!(spec.gradientClip >= 0)) usage("--clip", "the clipping norm must not be negative (0 = off)");
    if (!(spec.initStd > 0)) usage("--init-std", "the initialisation std must be positive");
    if (spec.dtype != "fp32" && spec.dtype != "bf16") usage("--dtype", "dtype must be fp32 or bf16");
    if (spec.keepCheckpoints < 1) usage("--keep", "keep at least 1 checkpoint");
    if (!(spec.checkpointEverySeconds >= 0))
        usage("--checkpoint-minutes", "the interval must not be negative");
}

PreparedRun prepareRun(const PretrainSpec& spec, JobSink& sink, const CancelToken& cancel) {
    PreparedRun run;
    if (spec.resume) {
        reopenRun(run, spec, sink);
    } else {
        createRun(run, spec);
    }
    run.trainTokens = trainingTokens(run, sink, cancel);
    run.validationTokens = validationTokens(run, cancel);
    return run;
}

}  // namespace dha::jobs
