// kvAccounting: KV cache bytes per token of a plan, per layer and in total, against its MHA source.
#include <string>

#include "dha/budget.h"
#include "dha/error.h"

namespace dha {

KvAccounting kvAccounting(const Plan& plan, int headDim, int bytesPerElement) {
    validatePlan(plan, 0, 0, "plan");
    if (headDim < 1 || headDim > 65536) {
        failInput("plan", "head dimension " + std::to_string(headDim) + " is outside 1..65536");
    }
    if (bytesPerElement != 1 && bytesPerElement != 2 && bytesPerElement != 4 && bytesPerElement != 8) {
        failInput("plan", "KV cache element size " + std::to_string(bytesPerElement) +
                              " bytes, expected 1, 2, 4 or 8");
    }
    KvAccounting accounting;
    accounting.bytesPerElement = bytesPerElement;
    const int64_t bytesPerHead =
        static_cast<int64_t>(headDim) * bytesPerElement;  // one key or value head, one token
    for (int layer = 0; layer < plan.numLayers(); ++layer) {
        const LayerPlan& layerPlan = plan.layers[static_cast<size_t>(layer)];
        LayerKv kv;
        kv.layer = layer;
        kv.keyHeads = layerPlan.numKeyHeads();
        kv.valueHeads = layerPlan.numValueHeads();
        kv.bytesPerToken = bytesPerHead * (kv.keyHeads + kv.valueHeads);
        kv.sourceBytesPerToken = bytesPerHead * 2 * plan.sourceHeads;
        accounting.bytesPerToken += kv.bytesPerToken;
        accounting.sourceBytesPerToken += kv.sourceBytesPerToken;
        accounting.layers.push_back(kv);
    }
    return accounting;
}

}  // namespace dha
