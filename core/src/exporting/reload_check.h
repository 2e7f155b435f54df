// The reload check every export passes before it is published: load the written directory back and compare
// its logits with the in-memory model's on a fixed token batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "dha/model_config.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace dha::exporting {

// Logits may differ by at most this times max(1, max |reference logit|). Both models compute in float32 from
// bit-identical weights (the reference's weights are first rounded to the stored dtype, so a bf16 or fp16
// export is held to the same tolerance as an fp32 one); what remains is summation order (a GQA export
// permutes query heads), which stays far below it.
inline constexpr double kReloadTolerance = 1e-5;

struct ReloadCheck {
    double maxAbsLogitDiff = 0;      // export vs the reference with its weights rounded to the stored dtype
    double tolerance = 0;            // the bound maxAbsLogitDiff had to stay within
    double storageRoundingDiff = 0;  // export vs the unrounded reference (in float32): storage precision loss
    int64_t tokensCompared = 0;
    ModelConfig reloadedConfig;
};

// Called on the reloaded model before the comparison: a test seam to simulate a corrupted export.
using ReloadHook = std::function<void(model::Transformer& reloaded)>;

// The fixed token batch of the check: int64 [2, min(24, max positions)], deterministic, inside the
// vocabulary.
at::Tensor reloadCheckTokens(const ModelConfig& config);

// Loads exportDir (float32, on the reference's device) and compares logits with `reference`, whose
// weights were written at storedDtype. Throws dha::Exception naming `target` (where the export is headed,
// not the staging directory it is checked in): Internal when the difference exceeds the tolerance or the
// written files do not load back.
ReloadCheck checkReload(const std::filesystem::path& exportDir, const std::filesystem::path& target,
                        const model::Transformer& reference, io::DType storedDtype,
                        const ReloadHook& afterReload = {});

}  // namespace dha::exporting
