// The conversion spec in run.json, method names, token budgets and the resume checks.
#include "jobs/convert_spec.h"

#include <cmath>

#include "analysis/similarity_cache.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/model_fingerprint.h"
#include "io/safetensors.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int64_t kMaxCount = int64_t{1} << 53;

struct MethodName {
    ConvertMethod method;
    const char* name;
};
constexpr MethodName kMethodNames[] = {
    {ConvertMethod::Dha, "dha"},
    {ConvertMethod::GqaMeanPool, "gqa"},
    {ConvertMethod::CkaGqaMeanPool, "cka-gqa"},
    {ConvertMethod::UniformFusion, "dha-uniform"},
    {ConvertMethod::AdaptiveMeanPool, "dha-meanpool"},
};

std::string absolutePath(const fs::path& path) {
    return path.empty() ? std::string() : fs::absolute(path).lexically_normal().string();
}

// Settings that only say how the run is operated; a resume may change them.
bool isOperational(const std::string& key) {
    return key == "resume" || key == "checkpoint_every" || key == "keep_checkpoints";
}

}  // namespace

const char* convertMethodName(ConvertMethod method) {
    for (const MethodName& entry : kMethodNames)
        if (entry.method == method) return entry.name;
    return "dha";
}

std::optional<ConvertMethod> convertMethodFromName(const std::string& name) {
    for (const MethodName& entry : kMethodNames)
        if (name == entry.name) return entry.method;
    return std::nullopt;
}

bool usesLearnedFusion(ConvertMethod method) {
    return method == ConvertMethod::Dha || method == ConvertMethod::UniformFusion;
}

bool usesUniformPlan(ConvertMethod method) {
    return method == ConvertMethod::GqaMeanPool || method == ConvertMethod::CkaGqaMeanPool ||
           method == ConvertMethod::UniformFusion;
}

bool usesAdaptivePlan(ConvertMethod method) {
    return method == ConvertMethod::Dha || method == ConvertMethod::AdaptiveMeanPool;
}

PhaseTokens splitTokenBudget(int64_t totalTokens, ConvertMethod method, double fusionShare, double searchShare) {
    if (totalTokens < 0) fail(ErrorCode::Usage, "tokens", "must be >= 0");
    if (!(fusionShare >= 0 && fusionShare <= 1)) fail(ErrorCode::Usage, "fusion share", "must be in [0, 1]");
    if (!(searchShare >= 0 && searchShare <= 1)) fail(ErrorCode::Usage, "search share", "must be in [0, 1]");
    if (fusionShare + searchShare > 1) fail(ErrorCode::Usage, "fusion share", "fusion and search shares exceed 1");
    const auto share = [&](double fraction) { return std::llround(static_cast<double>(totalTokens) * fraction); };
    PhaseTokens tokens;
    if (usesAdaptivePlan(method)) tokens.search = share(searchShare);
    if (usesLearnedFusion(method)) tokens.fusion = share(fusionShare);
    tokens.continued = totalTokens - tokens.search - tokens.fusion;
    return tokens;
}

std::optional<int64_t> sourcePretrainingTokens(const fs::path& modelDir) {
    const fs::path file = modelDir / "eval.json";
    std::error_code error;
    if (!fs::is_regular_file(file, error)) return std::nullopt;
    const std::string path = file.string();
    const Json json = io::parseJsonStrict(io::readSmallFile(file, 1 << 20), path);
    io::jsonObject(json, path, "eval.json");
    if (!json.contains("format") || !json["format"].is_string() || json["format"] != "dha-model-card-figures")
        return std::nullopt;  // someone else's eval.json: it says nothing about pretraining
    if (!json.contains("training")) return std::nullopt;
    const Json& training = io::jsonObject(json["training"], path, "training");
    if (!training.contains("tokens")) return std::nullopt;
    return io::jsonInteger(training["tokens"], path, "training.tokens", 1, kMaxCount);
}

ConvertSpec loadConvertSpec(const fs::path& runDir) {
    const fs::path file = runDir / "run.json";
    std::error_code error;
    if (!fs::is_regular_file(file, error))
        failInput(runDir.string(), "has no run.json", "is this a `dha convert` run directory?");
    const std::string path = file.string();
    const Json json = io::parseJsonStrict(io::readSmallFile(file, 1 << 20), path);
    io::jsonObject(json, path, "run.json");
    if (!json.contains("format") || !json["format"].is_string() || json["format"] != "dha-convert-run")
        failInput(path, "is not the run.json of a conversion (\"format\": \"dha-convert-run\" expected)");
    if (!json.contains("spec")) failInput(path, "has no \"spec\"");
    ConvertSpec spec = jobs::convertSpecFromJson(json["spec"], path);
    spec.runDir = runDir;
    spec.resume = true;
    return spec;
}

namespace jobs {

Json convertSpecToJson(const ConvertSpec& spec) {
    Json budget = nullptr;
    if (spec.budget && spec.budget->heads) budget = {{"heads", *spec.budget->heads}};
    if (spec.budget && spec.budget->fraction) budget = {{"fraction", *spec.budget->fraction}};
    Json fixed = Json::array();
    for (const FixedCount& count : spec.constraints.fixed)
        fixed.push_back({{"layer", count.layer},
                         {"kind", count.kind == HeadKind::Key ? "k" : "v"},
                         {"heads", count.heads}});
    return {
        {"source_model", absolutePath(spec.sourceModelDir)},
        {"text", absolutePath(spec.trainText)},
        {"validation", absolutePath(spec.validationText)},
        {"method", convertMethodName(spec.method)},
        {"budget", budget},
        {"plan", absolutePath(spec.planFile)},
        {"constraints",
         {{"min_heads", spec.constraints.minHeads},
          {"max_heads", spec.constraints.maxHeads},
          {"fix", fixed},
          {"lock", spec.constraints.lockedLayers},
          {"tie_kv", spec.constraints.tieKeyValue},
          {"uniform", spec.constraints.uniform}}},
        {"metric", similarityMetricName(spec.metric)},
        {"search_tokens", spec.searchTokens},
        {"search_cka_mix", spec.searchCkaMix},
        {"search_pull", spec.searchPullWeight},
        {"fusion_tokens", spec.fusionTokens},
        {"continued_tokens", spec.continuedTokens},
        {"batch", spec.batchSize},
        {"context", spec.contextLength},
        {"model_lr", spec.modelLearningRate},
        {"fusion_lr", spec.fusionLearningRate},
        {"lambda_lr", spec.lambdaLearningRate},
        {"lr", spec.continuedPeakLearningRate},
        {"min_lr", spec.continuedMinLearningRate},
        {"warmup", spec.continuedWarmupSteps},
        {"fusion_ramp", spec.fusionRampFraction},
        {"fusion_tolerance", spec.fusionTolerance},
        {"grad_clip", spec.gradientClip},
        {"weight_decay", spec.weightDecay},
        {"seed", spec.seed},
        {"dtype", spec.dtype},
        {"validation_tokens", spec.validationTokens},
        {"checkpoint_every", spec.checkpointInterval},
        {"keep_checkpoints", spec.keepCheckpoints},
    };
}

ConvertSpec convertSpecFromJson(const Json& json, const std::string& path) {
    io::jsonObject(json, path, "spec");
    const auto field = [&](const Json& object, const char* key) -> const Json& {
        if (!object.contains(key)) failInput(path, std::string("spec has no \"") + key + "\"");
        return object[key];
    };
    const auto text = [&](const char* key) { return io::jsonString(field(json, key), path, key); };
    const auto count = [&](const char* key) { return io::jsonInteger(field(json, key), path, key, 0, kMaxCount); };
    const auto number = [&](const char* key) { return io::jsonNumber(field(json, key), path, key); };

    ConvertSpec spec;
    spec.sourceModelDir = text("source_model");
    spec.trainText = text("text");
    spec.validationText = text("validation");
    const std::string method = text("method");
    const auto parsed = convertMethodFromName(method);
    if (!parsed) failInput(path, "spec.method '" + io::printableExcerpt(method) + "' is not a conversion method");
    spec.method = *parsed;
    const Json& budget = field(json, "budget");
    if (!budget.is_null()) {
        io::jsonObject(budget, path, "budget");
        if (budget.contains("heads"))
            spec.budget = Budget::ofHeads(
                static_cast<int>(io::jsonInteger(budget["heads"], path, "budget.heads", 1, 1 << 24)));
        else if (budget.contains("fraction"))
            spec.budget = Budget::ofFraction(io::jsonNumber(budget["fraction"], path, "budget.fraction"));
        else
            failInput(path, "spec.budget has neither \"heads\" nor \"fraction\"");
    }
    spec.planFile = text("plan");
    const Json& constraints = io::jsonObject(field(json, "constraints"), path, "constraints");
    const auto smallCount = [&](const Json& value, const char* key) {
        return static_cast<int>(io::jsonInteger(value, path, key, 0, 1 << 24));
    };
    spec.constraints.minHeads = smallCount(field(constraints, "min_heads"), "constraints.min_heads");
    spec.constraints.maxHeads = smallCount(field(constraints, "max_heads"), "constraints.max_heads");
    for (const Json& item : io::jsonArray(field(constraints, "fix"), path, "constraints.fix")) {
        io::jsonObject(item, path, "constraints.fix[]");
        FixedCount fixedCount;
        fixedCount.layer = smallCount(field(item, "layer"), "constraints.fix[].layer");
        fixedCount.kind = io::jsonString(field(item, "kind"), path, "constraints.fix[].kind") == "k"
                              ? HeadKind::Key
                              : HeadKind::Value;
        fixedCount.heads = smallCount(field(item, "heads"), "constraints.fix[].heads");
        spec.constraints.fixed.push_back(fixedCount);
    }
    for (const Json& layer : io::jsonArray(field(constraints, "lock"), path, "constraints.lock"))
        spec.constraints.lockedLayers.push_back(smallCount(layer, "constraints.lock[]"));
    spec.constraints.tieKeyValue = io::jsonBool(field(constraints, "tie_kv"), path, "constraints.tie_kv");
    spec.constraints.uniform = io::jsonBool(field(constraints, "uniform"), path, "constraints.uniform");
    const std::string metric = text("metric");
    const auto parsedMetric = similarityMetricFromName(metric);
    if (!parsedMetric) failInput(path, "spec.metric '" + io::printableExcerpt(metric) + "' is not a metric");
    spec.metric = *parsedMetric;
    // Runs recorded before the search existed have none of its keys: they ran without one.
    if (json.contains("search_tokens")) {
        spec.searchTokens = count("search_tokens");
        spec.searchCkaMix = number("search_cka_mix");
        spec.searchPullWeight = number("search_pull");
    }
    spec.fusionTokens = count("fusion_tokens");
    spec.continuedTokens = count("continued_tokens");
    spec.batchSize = static_cast<int>(io::jsonInteger(field(json, "batch"), path, "batch", 1, 1 << 20));
    spec.contextLength = static_cast<int>(io::jsonInteger(field(json, "context"), path, "context", 1, 1 << 24));
    spec.modelLearningRate = number("model_lr");
    spec.fusionLearningRate = number("fusion_lr");
    spec.lambdaLearningRate = number("lambda_lr");
    spec.continuedPeakLearningRate = number("lr");
    spec.continuedMinLearningRate = number("min_lr");
    spec.continuedWarmupSteps = count("warmup");
    spec.fusionRampFraction = number("fusion_ramp");
    spec.fusionTolerance = number("fusion_tolerance");
    spec.gradientClip = number("grad_clip");
    spec.weightDecay = number("weight_decay");
    spec.seed = static_cast<uint64_t>(io::jsonInteger(field(json, "seed"), path, "seed", 0, INT64_MAX));
    spec.dtype = text("dtype");
    spec.validationTokens = count("validation_tokens");
    spec.checkpointInterval = count("checkpoint_every");
    spec.keepCheckpoints = static_cast<int>(io::jsonInteger(field(json, "keep_checkpoints"), path,
                                                            "keep_checkpoints", 1, 1 << 20));
    return spec;
}

Json sourceModelIdentity(const fs::path& modelDir) {
    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(modelDir);
    return {{"fingerprint", io::modelFingerprint(modelDir / "config.json", checkpoint)},
            {"weight_files", analysis::weightFilesStamp(checkpoint)}};
}

void checkSameConversion(const ConvertSpec& given, const Json& recordedSpec, const fs::path& runJson) {
    const Json now = convertSpecToJson(given);
    for (const auto& [key, value] : now.items()) {
        if (isOperational(key)) continue;
        const Json recorded = recordedSpec.contains(key) ? recordedSpec[key] : Json(nullptr);
        if (recorded != value) {
            failInput(runJson.string(),
                      "records " + key + " = " + io::printableExcerpt(recorded.dump(), 120) +
                          " but this resume asks for " + io::printableExcerpt(value.dump(), 120),
                      "resume with the recorded settings (`dha convert --resume RUN` reads them from run.json) "
                      "or start a new run");
        }
    }
}

}  // namespace jobs
}  // namespace dha
