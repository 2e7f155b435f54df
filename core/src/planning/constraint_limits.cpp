// countLimits: PlanConstraints -> per-tree group-count ranges, each conflict with its own message.
#include "planning/constraint_limits.h"

#include <string>

#include "dha/error.h"

namespace dha::planning {
namespace {

constexpr const char* kWhere = "plan constraints";

const char* kindName(HeadKind kind) { return kind == HeadKind::Key ? "key" : "value"; }

std::string layerRange(int numLayers) {
    return "the model has " + std::to_string(numLayers) + (numLayers == 1 ? " layer" : " layers") + " (0.." +
           std::to_string(numLayers - 1) + ")";
}

}  // namespace

std::vector<CountLimits> countLimits(const PlanConstraints& constraints, int numLayers, int numHeads) {
    const std::string heads = std::to_string(numHeads);
    if (constraints.minHeads < 1 || constraints.minHeads > numHeads) {
        failInput(kWhere, "min heads per layer is " + std::to_string(constraints.minHeads) +
                              ", expected 1.." + heads);
    }
    if (constraints.maxHeads < 0 || constraints.maxHeads > numHeads) {
        failInput(kWhere, "max heads per layer is " + std::to_string(constraints.maxHeads) +
                              ", expected 1.." + heads + " (or 0 for all " + heads + ")");
    }
    const int maxHeads = constraints.maxHeads == 0 ? numHeads : constraints.maxHeads;
    if (constraints.minHeads > maxHeads) {
        failInput(kWhere, "min heads per layer (" + std::to_string(constraints.minHeads) +
                              ") is above max heads per layer (" + std::to_string(maxHeads) + ")");
    }
    std::vector<bool> locked(static_cast<size_t>(numLayers), false);
    for (const int layer : constraints.lockedLayers) {
        if (layer < 0 || layer >= numLayers) {
            failInput(kWhere,
                      "locked layer " + std::to_string(layer) + " does not exist: " + layerRange(numLayers));
        }
        locked[static_cast<size_t>(layer)] = true;
    }
    // fixed[2 * layer + kind]: the fixed count, 0 when none.
    std::vector<int> fixed(static_cast<size_t>(2 * numLayers), 0);
    for (const FixedCount& count : constraints.fixed) {
        const std::string what =
            std::string(kindName(count.kind)) + " heads of layer " + std::to_string(count.layer);
        if (count.layer < 0 || count.layer >= numLayers) {
            failInput(kWhere, "fixed count for the " + what + ": no such layer, " + layerRange(numLayers));
        }
        if (count.heads < 1 || count.heads > numHeads) {
            failInput(kWhere, "fixed count for the " + what + " is " + std::to_string(count.heads) +
                                  ", expected 1.." + heads);
        }
        if (locked[static_cast<size_t>(count.layer)] && count.heads != numHeads) {
            failInput(kWhere, "layer " + std::to_string(count.layer) + " is locked (keeps all " + heads +
                                  " heads) but its " + kindName(count.kind) + " heads are fixed at " +
                                  std::to_string(count.heads));
        }
        int& slot = fixed[static_cast<size_t>(2 * count.layer + (count.kind == HeadKind::Key ? 0 : 1))];
        if (slot != 0) failInput(kWhere, "the " + what + " are fixed twice");
        slot = count.heads;
    }

    std::vector<CountLimits> limits;
    const auto limitsOf = [&](int layer, int fixedCount) {
        if (locked[static_cast<size_t>(layer)]) return CountLimits{numHeads, numHeads};
        if (fixedCount > 0) return CountLimits{fixedCount, fixedCount};
        return CountLimits{constraints.minHeads, maxHeads};
    };
    for (int layer = 0; layer < numLayers; ++layer) {
        const int keyCount = fixed[static_cast<size_t>(2 * layer)];
        const int valueCount = fixed[static_cast<size_t>(2 * layer + 1)];
        if (!constraints.tieKeyValue) {
            limits.push_back(limitsOf(layer, keyCount));
            limits.push_back(limitsOf(layer, valueCount));
            continue;
        }
        if (keyCount > 0 && valueCount > 0 && keyCount != valueCount) {
            failInput(kWhere, "layer " + std::to_string(layer) + " has " + std::to_string(keyCount) +
                                  " key heads and " + std::to_string(valueCount) +
                                  " value heads fixed, but key and value groupings are tied");
        }
        limits.push_back(limitsOf(layer, keyCount > 0 ? keyCount : valueCount));
    }
    return limits;
}

}  // namespace dha::planning
