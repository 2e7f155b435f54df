// validatePlan (P7): every way a plan can be inconsistent gets its own precise message.
#include <string>
#include <vector>

#include "dha/error.h"
#include "dha/plan.h"
#include "planning/plan_checks.h"

namespace dha {
namespace planning {

std::string listOfInts(const std::vector<int>& values, size_t maxListed) {
    std::string text;
    for (size_t i = 0; i < values.size() && i < maxListed; ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(values[i]);
    }
    if (values.size() > maxListed) text += ", ... (" + std::to_string(values.size()) + " in all)";
    return text;
}

void checkPartition(const HeadGroups& groups, int numHeads, const std::string& context,
                    const std::string& where) {
    const auto failHere = [&](const std::string& message) { failInput(where, context + ": " + message); };
    if (groups.empty()) failHere("no groups (every head must be in one group)");
    // groupOf[h] = the group that holds head h, -1 while unseen.
    std::vector<int> groupOf(static_cast<size_t>(numHeads), -1);
    for (size_t g = 0; g < groups.size(); ++g) {
        const auto& group = groups[g];
        if (group.empty()) failHere("group " + std::to_string(g) + " is empty");
        for (const int head : group) {
            if (head < 0)
                failHere("head " + std::to_string(head) + " in group " + std::to_string(g) + " is negative");
            if (head >= numHeads) {
                failHere("head " + std::to_string(head) + " in group " + std::to_string(g) +
                         " is out of range (source_heads " + std::to_string(numHeads) + ": heads 0.." +
                         std::to_string(numHeads - 1) + ")");
            }
            int& seenIn = groupOf[static_cast<size_t>(head)];
            if (seenIn >= 0) {
                failHere("head " + std::to_string(head) + " appears twice (" +
                         (seenIn == static_cast<int>(g)
                              ? "both in group " + std::to_string(g)
                              : "in groups " + std::to_string(seenIn) + " and " + std::to_string(g)) +
                         ")");
            }
            seenIn = static_cast<int>(g);
        }
    }
    std::vector<int> missing;
    for (int head = 0; head < numHeads; ++head) {
        if (groupOf[static_cast<size_t>(head)] < 0) missing.push_back(head);
    }
    if (missing.size() == 1) failHere("head " + std::to_string(missing.front()) + " missing (in no group)");
    if (!missing.empty()) failHere("heads " + listOfInts(missing) + " missing (in no group)");
}

}  // namespace planning

void validatePlan(const Plan& plan, int expectedLayers, int expectedHeads, const std::string& where) {
    if (plan.sourceHeads < 1 || plan.sourceHeads > planning::kMaxSourceHeads) {
        failInput(where, "source_heads is " + std::to_string(plan.sourceHeads) + ", expected 1.." +
                             std::to_string(planning::kMaxSourceHeads));
    }
    if (expectedHeads > 0 && plan.sourceHeads != expectedHeads) {
        failInput(where, "source_heads " + std::to_string(plan.sourceHeads) + " but the model has " +
                             std::to_string(expectedHeads) + " query heads");
    }
    if (plan.layers.empty()) failInput(where, "plan has no layers");
    if (plan.numLayers() > planning::kMaxLayers) {
        failInput(where, "plan has " + std::to_string(plan.numLayers()) + " layers, expected at most " +
                             std::to_string(planning::kMaxLayers));
    }
    if (expectedLayers > 0 && plan.numLayers() != expectedLayers) {
        failInput(where, "plan has " + std::to_string(plan.numLayers()) + " layers, the model has " +
                             std::to_string(expectedLayers));
    }
    for (int layer = 0; layer < plan.numLayers(); ++layer) {
        const LayerPlan& layerPlan = plan.layers[static_cast<size_t>(layer)];
        const std::string prefix = "layer " + std::to_string(layer);
        planning::checkPartition(layerPlan.keyGroups, plan.sourceHeads, prefix + " key_groups", where);
        planning::checkPartition(layerPlan.valueGroups, plan.sourceHeads, prefix + " value_groups", where);
    }
}

}  // namespace dha
