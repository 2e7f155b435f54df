// Preparing a conversion run: checks, run directory, source model, tokens, plan, run.json and plan.json.
#include "jobs/convert_setup.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "dha/budget.h"
#include "dha/model_config.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/sha256.h"
#include "jobs/convert_spec.h"
#include "model/model_loader.h"
#include "training/model_initialisation.h"
#include "training/run_record.h"
#include "training/token_data.h"

namespace dha::jobs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTextBytes = size_t{4} << 30;

[[noreturn]] void usage(const std::string& what, const std::string& message) {
    fail(ErrorCode::Usage, what, message);
}

void requireFinite(double value, bool allowZero, const char* what) {
    if (!std::isfinite(value) || value < 0 || (!allowZero && value == 0))
        usage(what, std::string("must be a finite number ") + (allowZero ? ">= 0" : "> 0"));
}

void requireFile(const fs::path& path, const char* what) {
    std::error_code error;
    if (!fs::is_regular_file(path, error)) failInput(path.string(), std::string(what) + " does not exist");
}

// A conversion starts in a new run directory: absent or empty.
void checkRunDirectoryIsNew(const fs::path& runDir) {
    std::error_code error;
    if (fs::exists(runDir, error)) {
        if (!fs::is_directory(runDir, error) || !fs::is_empty(runDir, error))
            fail(ErrorCode::Usage, runDir.string(), "already exists and is not an empty directory",
                 "choose a new run directory");
    }
}

// Created here and locked for the life of the run.
std::unique_ptr<RunDirectoryLock> createRunDirectory(const fs::path& runDir) {
    checkRunDirectoryIsNew(runDir);
    std::error_code error;
    fs::create_directories(runDir, error);
    if (error) fail(ErrorCode::Io, runDir.string(), "cannot create the run directory: " + error.message());
    return std::make_unique<RunDirectoryLock>(runDir);
}

fs::path sourceTokenizerFile(const fs::path& modelDir) {
    for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
        std::error_code error;
        if (fs::is_regular_file(modelDir / name, error)) return modelDir / name;
    }
    failInput(modelDir.string(), "has no tokenizer.model or tokenizer.json",
              "a conversion tokenizes its texts with the source model's own tokenizer");
}

std::vector<int32_t> trainingTokens(const ConvertSpec& spec, const fs::path& tokenizerFile,
                                    const tok::Tokenizer& tokenizer, int vocabSize, JobSink& sink,
                                    const CancelToken& cancel) {
    const std::string text = io::readSmallFile(spec.trainText, kMaxTextBytes);
    const training::TokenCacheKey key{io::sha256Hex(text), training::fingerprintFile(tokenizerFile).sha256};
    const fs::path cache = spec.runDir / "tokens.bin";
    std::vector<int32_t> tokens = training::readTokenCache(cache, key, vocabSize);
    if (tokens.empty()) {
        tokens = training::tokenizeDocuments(text, tokenizer, sink, cancel);
        training::writeTokenCache(cache, key, text.size(), tokens);
    }
    const int64_t needed = int64_t{spec.contextLength} + 1;
    if (static_cast<int64_t>(tokens.size()) < needed) {
        failInput(spec.trainText.string(), "has " + std::to_string(tokens.size()) + " tokens; a context of " +
                                               std::to_string(spec.contextLength) + " needs at least " +
                                               std::to_string(needed));
    }
    return tokens;
}

at::Tensor validationTokens(const ConvertSpec& spec, const tok::Tokenizer& tokenizer) {
    if (spec.validationText.empty()) return {};
    const std::string text = io::readSmallFile(spec.validationText, kMaxTextBytes);
    // One stream, exactly as `dha eval` tokenizes, so the figures equal `dha eval` on the export.
    const std::vector<int32_t> ids = tokenizer.encode(text);
    if (ids.size() < 2)
        failInput(spec.validationText.string(), "has fewer than 2 tokens; held-out losses need at least 2");
    return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
}

// The uniform methods keep the same number of key and value heads in every layer: the budget must be
// 2 x layers x a divisor of the head count. Returns that per-layer count.
int uniformGroupCount(const ConvertSpec& spec, int numLayers, int numHeads) {
    const int sourceKvHeads = 2 * numLayers * numHeads;
    const int kept = spec.budget->resolve(sourceKvHeads);
    std::ostringstream feasible;
    for (int groups = 1; groups <= numHeads; ++groups)
        if (numHeads % groups == 0) feasible << (groups > 1 ? ", " : "") << 2 * numLayers * groups;
    const int perLayer = kept / (2 * numLayers);
    if (kept % (2 * numLayers) != 0 || perLayer < 1 || numHeads % perLayer != 0) {
        failInput("budget",
                  std::string("a GQA plan (") + convertMethodName(spec.method) + ") cannot keep exactly " +
                      std::to_string(kept) + " of " + std::to_string(sourceKvHeads) + " K+V heads",
                  "budgets a GQA plan of this model can meet: " + feasible.str() + " heads");
    }
    return perLayer;
}

SimilarityReport analyseSource(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel) {
    AnalyseSpec analyse;
    analyse.modelDir = spec.sourceModelDir;
    analyse.metric = spec.metric;
    analyse.calibrationText = spec.trainText;
    JobResult<SimilarityReport> similarity = runAnalyseJob(analyse, sink, cancel);
    if (!similarity.ok()) throw Exception(similarity.error);
    return std::move(*similarity.value);
}

Plan planFor(const ConvertSpec& spec, const ModelConfig& config, JobSink& sink, const CancelToken& cancel) {
    if (!spec.planFile.empty()) {
        requireFile(spec.planFile, "the plan file");
        Plan plan = loadPlan(spec.planFile);
        validatePlan(plan, config.numLayers, config.numQueryHeads, spec.planFile.string());
        return plan;
    }
    switch (spec.method) {
        case ConvertMethod::GqaMeanPool:
            return adjacentGqaPlan(config.numLayers, config.numQueryHeads,
                                   uniformGroupCount(spec, config.numLayers, config.numQueryHeads));
        case ConvertMethod::CkaGqaMeanPool:
        case ConvertMethod::UniformFusion: {
            const int groups = uniformGroupCount(spec, config.numLayers, config.numQueryHeads);
            return similarityGroupedGqaPlan(analyseSource(spec, sink, cancel), groups);
        }
        case ConvertMethod::Dha:
        case ConvertMethod::AdaptiveMeanPool:
            break;
    }
    return planFromSimilarity(analyseSource(spec, sink, cancel), *spec.budget, spec.constraints);
}

std::string fileHash(const fs::path& path) {
    return path.empty() ? std::string() : training::fingerprintFile(path).sha256;
}

void writeRunJson(const ConvertSpec& spec, const PreparedConversion& run) {
    const nlohmann::json json = {
        {"format", "dha-convert-run"},
        {"format_version", 2},
        {"spec", convertSpecToJson(spec)},
        {"source", sourceModelIdentity(spec.sourceModelDir)},
        {"text_sha256", fileHash(spec.trainText)},
        {"validation_sha256", fileHash(spec.validationText)},
        {"tokenizer", run.tokenizerFile.string()},
        {"tokens_per_step", run.tokensPerStep},
        {"search_steps", run.searchSteps},
        {"fusion_steps", run.fusionSteps},
        {"continued_steps", run.continuedSteps},
    };
    io::writeFileAtomically(spec.runDir / "run.json", json.dump(2) + "\n");
}

// A resume continues only the run it was started as: the same settings, source weights, texts and plan.
// Returns whether the run has its plan (false: a search has not finished deciding it).
bool checkResumable(const ConvertSpec& spec, const ModelConfig& config, Plan& plan) {
    const fs::path runJson = spec.runDir / "run.json";
    requireFile(runJson, "the run's run.json");
    const std::string path = runJson.string();
    const nlohmann::json recorded = io::parseJsonStrict(io::readSmallFile(runJson, 1 << 20), path);
    io::jsonObject(recorded, path, "run.json");
    if (!recorded.contains("format") || recorded["format"] != "dha-convert-run" ||
        !recorded.contains("format_version") || recorded["format_version"] != 2 || !recorded.contains("spec")) {
        failInput(path, "is not the run.json of a conversion this version can resume (format dha-convert-run, "
                        "version 2)");
    }
    checkSameConversion(spec, recorded["spec"], runJson);
    if (!recorded.contains("source") || recorded["source"] != sourceModelIdentity(spec.sourceModelDir)) {
        failInput(spec.sourceModelDir.string(),
                  "is not the source model this run was started from (its config, tensors or weight files "
                  "changed since; run.json records them)",
                  "resume with the original source model, or start a new run");
    }
    for (const auto& [key, file, what] :
         {std::tuple<const char*, fs::path, const char*>{"text_sha256", spec.trainText, "training text"},
          {"validation_sha256", spec.validationText, "validation text"}}) {
        if (!recorded.contains(key) || recorded[key] != fileHash(file)) {
            failInput(file.empty() ? path : file.string(),
                      std::string("the ") + what + " differs from the one this run was started with",
                      "resume with the original file, or start a new run");
        }
    }
    const fs::path planPath = spec.runDir / "plan.json";
    std::error_code error;
    if (searchDecidesPlan(spec) && !fs::exists(planPath, error)) return false;  // the search is unfinished
    requireFile(planPath, "the run's plan.json");
    plan = loadPlan(planPath);
    validatePlan(plan, config.numLayers, config.numQueryHeads, planPath.string());
    if (!spec.planFile.empty()) {
        const Plan given = canonicalPlan(loadPlan(spec.planFile));
        if (given.layers != plan.layers) {
            failInput(spec.planFile.string(), "differs from the plan this run was started with (" +
                                                  planPath.string() + ")",
                      "resume without a plan file, or start a new run");
        }
    }
    return true;
}

int64_t stepsFor(int64_t tokens, int64_t tokensPerStep) {
    return (tokens + tokensPerStep - 1) / tokensPerStep;
}

}  // namespace

void checkConvertSpec(const ConvertSpec& spec) {
    if (spec.sourceModelDir.empty()) usage("source model", "missing the source model directory");
    if (spec.trainText.empty()) usage("train text", "missing the training text");
    if (spec.runDir.empty()) usage("run directory", "missing the run directory");
    if (spec.budget.has_value() == !spec.planFile.empty())
        usage("budget", "give exactly one of a budget and a plan file");
    if (usesUniformPlan(spec.method) && !spec.budget)
        usage("budget", std::string("the ") + convertMethodName(spec.method) +
                            " method plans from a budget, not a plan file");
    if (spec.checkpointInterval < 0) usage("checkpoint interval", "must be >= 0");
    if (spec.keepCheckpoints < 1) usage("kept checkpoints", "must be >= 1");
    if (spec.fusionTokens < 0) usage("fusion tokens", "must be >= 0");
    if (spec.searchTokens < 0) usage("search tokens", "must be >= 0");
    if (spec.searchTokens > 0 && !searchDecidesPlan(spec)) {
        usage("search tokens", std::string("a search places a budget for dha or dha-meanpool; ") +
                                   convertMethodName(spec.method) +
                                   (spec.planFile.empty() ? " has no adaptive plan" : " with a plan file has none to place"));
    }
    if (!(spec.searchCkaMix >= 0 && spec.searchCkaMix <= 1)) usage("search CKA mix", "must be in [0, 1]");
    requireFinite(spec.searchPullWeight, true, "search pull weight");
    if (spec.continuedTokens < 0) usage("continued tokens", "must be >= 0");
    if (spec.batchSize < 1) usage("batch", "must be >= 1");
    if (spec.contextLength < 1) usage("context", "must be >= 1");
    if (spec.validationTokens < 0) usage("validation tokens", "must be >= 0");
    if (spec.continuedWarmupSteps < 0) usage("continued warm-up steps", "must be >= 0");
    requireFinite(spec.modelLearningRate, true, "model learning rate");
    requireFinite(spec.fusionLearningRate, true, "fusion learning rate");
    requireFinite(spec.lambdaLearningRate, true, "lambda learning rate");
    requireFinite(spec.continuedPeakLearningRate, true, "continued learning rate");
    requireFinite(spec.continuedMinLearningRate, true, "continued minimum learning rate");
    requireFinite(spec.fusionTolerance, true, "fusion tolerance");
    requireFinite(spec.gradientClip, true, "gradient clip");
    requireFinite(spec.weightDecay, true, "weight decay");
    if (!(spec.fusionRampFraction >= 0 && spec.fusionRampFraction <= 1))
        usage("fusion ramp", "must be a fraction in [0, 1]");
    if (spec.dtype != "fp32" && spec.dtype != "bf16") usage("dtype", "must be fp32 or bf16");
}

PreparedConversion prepareConversion(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel) {
    checkConvertSpec(spec);
    requireFile(spec.sourceModelDir / "config.json", "the source model's config.json");
    requireFile(spec.trainText, "the training text");
    if (!spec.validationText.empty()) requireFile(spec.validationText, "the validation text");
    if (!spec.planFile.empty()) requireFile(spec.planFile, "the plan file");
    if (!spec.resume) checkRunDirectoryIsNew(spec.runDir);

    // Everything that can be judged from the config (and the weights' analysis) is checked before the run
    // directory exists, so a refused spec leaves nothing behind.
    PreparedConversion run;
    run.tokenizerFile = fs::absolute(sourceTokenizerFile(spec.sourceModelDir)).lexically_normal();
    const ModelConfig config = loadModelConfig(spec.sourceModelDir / "config.json");
    if (!config.isMha()) {
        failInput(spec.sourceModelDir.string(), "is not a multi-head attention model",
                  "a conversion starts from an MHA checkpoint (one key and value head per query head)");
    }
    if (spec.contextLength > config.maxPositionEmbeddings) {
        usage("context", "must be at most the source's max_position_embeddings (" +
                             std::to_string(config.maxPositionEmbeddings) + ")");
    }
    if (spec.resume) {
        std::error_code error;
        if (!fs::is_directory(spec.runDir, error))
            failInput(spec.runDir.string(), "does not exist", "a resume continues an existing run directory");
        run.lock = std::make_unique<RunDirectoryLock>(spec.runDir);
        run.planPending = !checkResumable(spec, config, run.plan);
    } else {
        run.planPending = searchDecidesPlan(spec);
    }
    if (run.planPending) {
        // The metric's similarity weights the search's pull and mixes into its distances; its plan checks now
        // that the budget and constraints are feasible.
        run.similarity = analyseSource(spec, sink, cancel);
        run.plan = canonicalPlan(planFromSimilarity(*run.similarity, *spec.budget, spec.constraints));
    } else if (!spec.resume) {
        run.plan = canonicalPlan(planFor(spec, config, sink, cancel));
    }
    if (!spec.resume) run.lock = createRunDirectory(spec.runDir);

    run.tokenizer = training::loadTokenizerFile(run.tokenizerFile);
    if (run.tokenizer->vocabSize() > config.vocabSize) {
        failInput(run.tokenizerFile.string(), "has " + std::to_string(run.tokenizer->vocabSize()) +
                                                  " tokens, more than the model's vocabulary of " +
                                                  std::to_string(config.vocabSize));
    }
    model::LoadOptions load;
    load.cancel = &cancel;
    run.source = model::loadModel(spec.sourceModelDir, load).model;
    run.source->eval();
    run.trainTokens = trainingTokens(spec, run.tokenizerFile, *run.tokenizer, config.vocabSize, sink, cancel);
    run.validationTokens = validationTokens(spec, *run.tokenizer);
    if (cancel.isCancelled()) fail(ErrorCode::Cancelled, spec.runDir.string(), "cancelled while preparing");

    run.tokensPerStep = int64_t{spec.batchSize} * spec.contextLength;
    run.searchSteps = searchDecidesPlan(spec) ? stepsFor(spec.searchTokens, run.tokensPerStep) : 0;
    run.fusionSteps = usesLearnedFusion(spec.method) ? stepsFor(spec.fusionTokens, run.tokensPerStep) : 0;
    run.continuedSteps = stepsFor(spec.continuedTokens, run.tokensPerStep);
    if (!spec.resume) {
        writeRunJson(spec, run);
        if (!run.planPending) savePlan(run.plan, spec.runDir / "plan.json");
    }
    if (!run.planPending) sink.onLog({LogLevel::Info, "plan: " + describePlan(run.plan)});
    return run;
}

bool searchDecidesPlan(const ConvertSpec& spec) {
    return spec.searchTokens > 0 && usesAdaptivePlan(spec.method) && spec.planFile.empty();
}

std::string describePlan(const Plan& plan) {
    std::ostringstream text;
    text << "kept " << plan.keptHeads() << " of " << plan.sourceKvHeads() << " K+V heads ("
         << std::round(plan.keptFraction() * 1000) / 10 << "%)";
    for (int layer = 0; layer < plan.numLayers(); ++layer) {
        text << (layer == 0 ? "; " : ", ") << "layer " << layer << ": " << plan.layers[layer].numKeyHeads()
             << "K " << plan.layers[layer].numValueHeads() << "V";
    }
    return text.str();
}

}  // namespace dha::jobs
