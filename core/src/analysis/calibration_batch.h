// The calibration text of activation analysis as token windows.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "dha/job.h"
#include "dha/model_config.h"
#include "dha/similarity.h"

namespace dha::analysis {

struct CalibrationBatch {
    at::Tensor tokens;         // int64 [windows, windowLength], ids < the model's vocab_size
    int64_t tokenCount = 0;    // windows * windowLength
    std::string tokensSha256;  // of the ids (int32 little-endian): identifies text + tokenizer + limits
};

// Tokenizes spec.calibrationText with the model directory's tokenizer as one stream and cuts the first
// min(tokens, spec.calibrationTokens) ids into windows of the context length (spec.calibrationContext, or
// min(256, max_position_embeddings) when 0); a stream shorter than one window is one window. Tokens after
// the last whole window are not used. Errors: no text given or a bad context/token count (Usage), a missing
// or unreadable file, a tokenizer that does not fit the model, or fewer than 2 tokens (InvalidInput naming
// the file).
CalibrationBatch loadCalibrationBatch(const AnalyseSpec& spec, const ModelConfig& config, JobSink& sink);

}  // namespace dha::analysis
