// modelCardText: the Markdown model card written next to an export's weights.
#include "exporting/model_card.h"

#include <cstdio>
#include <string>

namespace dha::exporting {
namespace {

// A number with at most `decimals` decimals and no trailing zeros: 1.5, 75, 0.25.
std::string trimmed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    std::string result = text;
    if (result.find('.') != std::string::npos) {
        while (result.back() == '0') result.pop_back();
        if (result.back() == '.') result.pop_back();
    }
    return result;
}

std::string scientific(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

std::string lossText(const std::optional<double>& loss) {
    return loss ? trimmed(*loss, 4) : std::string("not recorded");
}

int keptHeads(const ModelConfig& config) {
    int kept = 0;
    for (const HeadLayout& layout : config.layers) kept += layout.numKeyHeads + layout.numValueHeads;
    return kept;
}

std::string kvLine(const ModelCardInput& input) {
    const int bytes = static_cast<int>(io::dtypeSize(input.storedDtype));
    const int64_t exported = kvBytesPerToken(input.exported, bytes);
    const int64_t source = kvBytesPerToken(input.source, bytes);
    const double saved = source > 0 ? 1.0 - static_cast<double>(exported) / source : 0.0;
    return describeBytes(exported) + " per token at " + dtypeLabel(input.storedDtype) + " (source " +
           describeBytes(source) + "; " + describePercent(saved) + " saved)";
}

std::string layerTable(const ModelCardInput& input) {
    const int bytes = static_cast<int>(io::dtypeSize(input.storedDtype));
    std::string text =
        "| Layer | Key heads | Value heads | KV bytes per token | Source KV bytes per token |\n"
        "|---:|---:|---:|---:|---:|\n";
    for (size_t layer = 0; layer < input.exported.layers.size(); ++layer) {
        const HeadLayout& layout = input.exported.layers[layer];
        const int64_t exported = dha::kvElementsPerToken(layout, input.exported.headDim) * bytes;
        const int64_t source =
            layer < input.source.layers.size()
                ? dha::kvElementsPerToken(input.source.layers[layer], input.source.headDim) * bytes
                : 0;
        text += "| " + std::to_string(layer) + " | " + std::to_string(layout.numKeyHeads) + " | " +
                std::to_string(layout.numValueHeads) + " | " + std::to_string(exported) + " | " +
                std::to_string(source) + " |\n";
    }
    return text;
}

}  // namespace

std::string describeBytes(int64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " bytes";
    if (bytes < 1024 * 1024) return trimmed(bytes / 1024.0, 2) + " KiB";
    return trimmed(bytes / (1024.0 * 1024.0), 2) + " MiB";
}

std::string describePercent(double fraction) { return trimmed(100.0 * fraction, 1) + "%"; }

std::string dtypeLabel(io::DType dtype) {
    switch (dtype) {
        case io::DType::F32:
            return "fp32";
        case io::DType::BF16:
            return "bf16";
        case io::DType::F16:
            return "fp16";
        case io::DType::F64:
            return "fp64";
        default:
            return io::dtypeName(dtype);
    }
}

std::string modelCardText(const ModelCardInput& input) {
    const int kept = keptHeads(input.exported);
    const int sourceHeads = keptHeads(input.source);
    const double fraction = sourceHeads > 0 ? static_cast<double>(kept) / sourceHeads : 0.0;
    const ModelCardFacts& facts = input.facts;
    std::string text = "# " + input.title + "\n\n";
    text += input.format + " model converted from `" + input.sourceDir.string() + "` by DHA Studio " +
            DHA_VERSION + ".";
    if (input.exported.dhaSource) {
        text += " Each layer keeps all " + std::to_string(input.exported.numQueryHeads) +
                " query heads and has its own number of key heads and of value heads (Decoupled-Head "
                "Attention); loading it needs a reader of the `dha` object in config.json.";
    }
    text += "\n\n";
    text += "| | |\n|---|---|\n";
    text += "| Source model | `" + input.sourceDir.string() + "` |\n";
    text += "| Source fingerprint | `" + input.sourceFingerprint + "` |\n";
    text += "| Method | " + (facts.method.empty() ? std::string("not recorded") : facts.method) + " |\n";
    text += "| Format | " + input.format + ", weights stored as " + dtypeLabel(input.storedDtype) + " |\n";
    text += "| Budget | " + std::to_string(kept) + " of " + std::to_string(sourceHeads) +
            " key+value heads kept (" + describePercent(fraction) + ") |\n";
    text += "| KV cache | " + kvLine(input) + " |\n";
    text += "| Tokens used | " +
            (facts.tokensUsed ? std::to_string(*facts.tokensUsed) : std::string("not recorded")) + " |\n";
    const std::string data = facts.heldOutData.empty() ? std::string() : " on `" + facts.heldOutData + "`";
    text += "| Held-out loss" + data + " | source " + lossText(facts.heldOutLossBefore) + ", this model " +
            lossText(facts.heldOutLossAfter) + " |\n";
    const ReloadCheck& check = input.reloadCheck;
    text += "| Reload check | max abs logit difference " + scientific(check.maxAbsLogitDiff) + " over " +
            std::to_string(check.tokensCompared) + " tokens (tolerance " + scientific(check.tolerance) + ")";
    if (check.storageRoundingDiff > check.maxAbsLogitDiff) {
        text += "; storing the weights as " + dtypeLabel(input.storedDtype) + " moved the logits by up to " +
                scientific(check.storageRoundingDiff);
    }
    text += " |\n\n";
    text += "## Heads per layer\n\n" + layerTable(input) + "\n";
    text += "Which query head uses which key and value head is in `config.json`";
    text += input.exported.dhaSource ? " (the `dha` object).\n" : " (`num_key_value_heads`).\n";
    if (!input.notes.empty()) text += "\n" + input.notes + "\n";
    return text;
}

}  // namespace dha::exporting
