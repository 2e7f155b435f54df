// Plan JSON (formats.md): a canonical, deterministic writer and a strict reader for untrusted plan files.
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "dha/error.h"
#include "dha/plan.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "planning/plan_checks.h"

namespace dha {
namespace {

using Json = nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr size_t kMaxPlanFileBytes = 16u << 20;  // a 128-layer x 128-head plan is ~200 KB
// The written fraction is the shortest text that reads back as the same double, so a file we wrote agrees
// exactly; a hand-written fraction needs six correct decimals.
constexpr double kFractionTolerance = 1e-6;

// Groups on one line each ("[[0, 3], [1, 2]]"): a plan stays readable and diffs line by line per layer.
std::string groupsText(const HeadGroups& groups) {
    std::string text = "[";
    for (size_t g = 0; g < groups.size(); ++g) {
        text += g > 0 ? ", [" : "[";
        for (size_t i = 0; i < groups[g].size(); ++i) {
            if (i > 0) text += ", ";
            text += std::to_string(groups[g][i]);
        }
        text += "]";
    }
    return text + "]";
}

void rejectUnknownKeys(const Json& object, std::initializer_list<const char*> known, const std::string& path,
                       const std::string& owner) {
    for (const auto& item : object.items()) {
        bool isKnown = false;
        std::string names;
        for (const char* key : known) {
            isKnown = isKnown || item.key() == key;
            names += (names.empty() ? "" : ", ") + std::string(key);
        }
        if (!isKnown) {
            failInput(path, owner + " has an unknown key '" + io::printableExcerpt(item.key()) +
                                "' (expected " + names + ")");
        }
    }
}

const Json& member(const Json& object, const char* key, const std::string& path, const std::string& owner) {
    const auto it = object.find(key);
    if (it == object.end()) failInput(path, owner + " has no '" + key + "'");
    return *it;
}

// One head index. Values inside int range are left to checkPartition, which words every range problem the
// same way for files and in-memory plans; values beyond int range get those same words here.
int readHead(const Json& value, const std::string& path, const std::string& context, size_t group,
             size_t index, int numHeads) {
    const std::string name = context + "[" + std::to_string(group) + "][" + std::to_string(index) + "]";
    if (!value.is_number_integer()) io::jsonInteger(value, path, name, 0, 0);  // throws the type error
    const bool negative = !value.is_number_unsigned() && value.get<int64_t>() < 0;
    const bool tooLarge = value.is_number_unsigned() ? value.get<uint64_t>() > std::numeric_limits<int>::max()
                                                     : value.get<int64_t>() > std::numeric_limits<int>::max();
    const bool tooSmall = negative && value.get<int64_t>() < std::numeric_limits<int>::min();
    const std::string where = context + ": head " + value.dump() + " in group " + std::to_string(group);
    if (tooSmall) failInput(path, where + " is negative");
    if (tooLarge) {
        failInput(path, where + " is out of range (source_heads " + std::to_string(numHeads) + ": heads 0.." +
                            std::to_string(numHeads - 1) + ")");
    }
    return static_cast<int>(value.get<int64_t>());
}

HeadGroups readGroups(const Json& layer, const char* key, int numHeads, const std::string& path,
                      size_t layerIndex) {
    const std::string context = "layer " + std::to_string(layerIndex) + " " + key;
    const Json& groups =
        io::jsonArray(member(layer, key, path, "layer " + std::to_string(layerIndex)), path, context);
    // Bounds before any allocation: a partition of H heads has at most H groups of at most H heads.
    if (groups.size() > static_cast<size_t>(numHeads)) {
        failInput(path, context + " has " + std::to_string(groups.size()) + " groups, more than the " +
                            std::to_string(numHeads) + " heads (source_heads)");
    }
    HeadGroups result;
    result.reserve(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        const Json& group = io::jsonArray(groups[g], path, context + "[" + std::to_string(g) + "]");
        if (group.size() > static_cast<size_t>(numHeads)) {
            failInput(path, context + ": group " + std::to_string(g) + " has " +
                                std::to_string(group.size()) + " heads, more than the " +
                                std::to_string(numHeads) + " there are");
        }
        std::vector<int> heads;
        heads.reserve(group.size());
        for (size_t i = 0; i < group.size(); ++i)
            heads.push_back(readHead(group[i], path, context, g, i, numHeads));
        result.push_back(std::move(heads));
    }
    return result;
}

void checkBudget(const Json& budget, const Plan& plan, const std::string& path) {
    io::jsonObject(budget, path, "budget");
    rejectUnknownKeys(budget, {"kept_heads", "fraction"}, path, "budget");
    const int64_t keptHeads = io::jsonInteger(member(budget, "kept_heads", path, "budget"), path,
                                              "budget.kept_heads", 0, std::numeric_limits<int>::max());
    const double fraction =
        io::jsonNumber(member(budget, "fraction", path, "budget"), path, "budget.fraction");
    const std::string actual =
        std::to_string(plan.keptHeads()) + " of " + std::to_string(plan.sourceKvHeads()) + " K+V heads";
    if (keptHeads != plan.keptHeads()) {
        failInput(path,
                  "budget.kept_heads is " + std::to_string(keptHeads) + " but the groups keep " + actual);
    }
    if (std::fabs(fraction - plan.keptFraction()) > kFractionTolerance) {
        failInput(path, "budget.fraction is " + Json(fraction).dump() + " but the groups keep " + actual +
                            " (" + Json(plan.keptFraction()).dump() + ")");
    }
}

}  // namespace

std::string serializePlan(const Plan& input) {
    validatePlan(input, 0, 0, "plan");
    const Plan plan = canonicalPlan(input);
    std::string text = "{\n  \"format_version\": " + std::to_string(kFormatVersion) + ",\n";
    text += "  \"source_heads\": " + std::to_string(plan.sourceHeads) + ",\n  \"layers\": [\n";
    for (size_t layer = 0; layer < plan.layers.size(); ++layer) {
        text += "    {\"key_groups\": " + groupsText(plan.layers[layer].keyGroups) +
                ", \"value_groups\": " + groupsText(plan.layers[layer].valueGroups) + "}";
        text += layer + 1 < plan.layers.size() ? ",\n" : "\n";
    }
    text += "  ],\n  \"budget\": {\"kept_heads\": " + std::to_string(plan.keptHeads()) +
            ", \"fraction\": " + Json(plan.keptFraction()).dump() + "}\n}\n";
    return text;
}

Plan parsePlan(const std::string& jsonText, const std::string& path) {
    const Json root = io::parseJsonStrict(jsonText, path, "plan file");
    io::jsonObject(root, path, "the plan");
    const Json& version = member(root, "format_version", path, "the plan");
    if (!version.is_number_integer() || version != kFormatVersion) {
        failInput(path, "format_version is " + io::printableExcerpt(version.dump()) +
                            ", this build reads version " + std::to_string(kFormatVersion) + " plans");
    }
    // After the version: a newer file is refused as newer, not for the keys it added.
    rejectUnknownKeys(root, {"format_version", "source_heads", "layers", "budget"}, path, "the plan");
    Plan plan;
    plan.sourceHeads = static_cast<int>(io::jsonInteger(member(root, "source_heads", path, "the plan"), path,
                                                        "source_heads", 1, planning::kMaxSourceHeads));
    const Json& layers = io::jsonArray(member(root, "layers", path, "the plan"), path, "layers");
    if (layers.size() > static_cast<size_t>(planning::kMaxLayers)) {
        failInput(path, "plan has " + std::to_string(layers.size()) + " layers, expected at most " +
                            std::to_string(planning::kMaxLayers));
    }
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string owner = "layer " + std::to_string(i);
        const Json& layer = io::jsonObject(layers[i], path, "layers[" + std::to_string(i) + "]");
        rejectUnknownKeys(layer, {"key_groups", "value_groups"}, path, owner);
        LayerPlan layerPlan;
        layerPlan.keyGroups = readGroups(layer, "key_groups", plan.sourceHeads, path, i);
        layerPlan.valueGroups = readGroups(layer, "value_groups", plan.sourceHeads, path, i);
        plan.layers.push_back(std::move(layerPlan));
    }
    validatePlan(plan, 0, 0, path);
    checkBudget(member(root, "budget", path, "the plan"), plan, path);
    return plan;
}

Plan loadPlan(const std::filesystem::path& path) {
    return parsePlan(io::readSmallFile(path, kMaxPlanFileBytes), path.string());
}

void savePlan(const Plan& plan, const std::filesystem::path& path) {
    validatePlan(plan, 0, 0, path.string());  // a bad plan is named by the file it was going to
    io::writeFileAtomically(path, serializePlan(plan));
}

}  // namespace dha
