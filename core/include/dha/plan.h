// A plan: per layer, which query heads share a key head (key groups) and which share a value head (value
// groups). hk, hv and the query->key/value maps derive from it (dha-method.md section 3, formats.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dha/head_layout.h"

namespace dha {

using HeadGroups = std::vector<std::vector<int>>;  // a partition of the query heads {0..H-1}

struct LayerPlan {
    HeadGroups keyGroups;
    HeadGroups valueGroups;

    int numKeyHeads() const { return static_cast<int>(keyGroups.size()); }
    int numValueHeads() const { return static_cast<int>(valueGroups.size()); }
    // key head g = keyGroups[g]; query head i uses the group that contains it.
    HeadLayout layout(int numQueryHeads) const;
    static LayerPlan fromLayout(const HeadLayout& layout);

    friend bool operator==(const LayerPlan& a, const LayerPlan& b) {
        return a.keyGroups == b.keyGroups && a.valueGroups == b.valueGroups;
    }
    friend bool operator!=(const LayerPlan& a, const LayerPlan& b) { return !(a == b); }
};

struct Plan {
    int sourceHeads = 0;  // H: query heads per layer, and K (V) heads per layer of the MHA source
    std::vector<LayerPlan> layers;

    int numLayers() const { return static_cast<int>(layers.size()); }
    int keptHeads() const;        // sum over layers of hk + hv
    int sourceKvHeads() const;    // 2 * H * layers
    double keptFraction() const;  // keptHeads / sourceKvHeads
    std::vector<HeadLayout> layouts() const;

    friend bool operator==(const Plan& a, const Plan& b) {
        return a.sourceHeads == b.sourceHeads && a.layers == b.layers;
    }
    friend bool operator!=(const Plan& a, const Plan& b) { return !(a == b); }
};

// Throws dha::Exception (InvalidInput, naming `where`) with one message per violation found first: group
// lists that are not partitions of {0..H-1} (missing, repeated or out-of-range heads, empty groups), a layer
// count other than expectedLayers (when > 0), H other than expectedHeads (when > 0).
void validatePlan(const Plan& plan, int expectedLayers, int expectedHeads, const std::string& where);

// Canonical form: each group sorted ascending, groups ordered by their smallest head. Plans compare equal
// after canonicalisation exactly when they group the same heads.
Plan canonicalPlan(Plan plan);

// Plan JSON (formats.md): {"format_version": 1, "source_heads": H, "layers": [{"key_groups": [[0,3],...],
// "value_groups": [...]}, ...], "budget": {"kept_heads": B, "fraction": 0.25}}. The budget object is written
// from the groups and, when read, must agree with them.
std::string serializePlan(const Plan& plan);
Plan parsePlan(const std::string& jsonText, const std::string& pathForErrors);
Plan loadPlan(const std::filesystem::path& path);
void savePlan(const Plan& plan, const std::filesystem::path& path);  // atomic

}  // namespace dha
