// The README.md model card of an export (formats.md): source, plan, budget, tokens, held-out loss, KV saving.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "dha/model_config.h"
#include "exporting/reload_check.h"
#include "io/safetensors.h"

namespace dha::exporting {

// What only the caller (the conversion job) knows; anything left empty reads "not recorded" on the card.
struct ModelCardFacts {
    std::string method = "DHA conversion (adaptive heads fusion)";
    std::optional<int64_t> tokensUsed;        // training tokens the conversion consumed
    std::optional<double> heldOutLossBefore;  // held-out loss of the source model
    std::optional<double> heldOutLossAfter;   // held-out loss of the exported model
    std::string heldOutData;                  // what the held-out loss was measured on (a file name)
};

struct ModelCardInput {
    std::string title;   // the export directory's name
    std::string format;  // "DHA" or "GQA (stock Llama)"
    std::filesystem::path sourceDir;
    std::string sourceFingerprint;
    ModelConfig source;
    ModelConfig exported;
    io::DType storedDtype = io::DType::F32;
    ReloadCheck reloadCheck;
    ModelCardFacts facts;
    std::string notes;  // format-specific remarks (a GQA export's query-head permutation)
};

std::string modelCardText(const ModelCardInput& input);

// "512 bytes", "1.5 KiB", "3.25 MiB": KV figures in cards and messages.
std::string describeBytes(int64_t bytes);
// A fraction as a percentage with at most one decimal: 0.75 -> "75%", 0.625 -> "62.5%".
std::string describePercent(double fraction);
// "fp32", "bf16", "fp16", "fp64": how cards and messages name a KV cache dtype.
std::string dtypeLabel(io::DType dtype);

}  // namespace dha::exporting
