// Single tensors out of an mmapped checkpoint for streamed analysis: header checks, an aligned copy, and the
// mapped pages released right after, so a checkpoint larger than memory is read one tensor at a time.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace dha::analysis {

// The tensor is present, floating-point and of `shape`; otherwise InvalidInput naming the file that holds it
// (model.safetensors or the shard index when it is missing). Reads headers only.
void checkTensor(const io::SafetensorsCheckpoint& checkpoint, const std::filesystem::path& modelDir,
                 const std::string& name, const std::vector<int64_t>& shape);

// A CPU copy of a (checked) tensor in its stored dtype; its mapped pages are released afterwards.
at::Tensor readTensor(const io::SafetensorsCheckpoint& checkpoint, const std::string& name);

// Rows `rowIds` (each in [0, rows)) of a checked 2-D tensor, e.g. the embedding rows of the calibration
// tokens, as float32 [rowIds.size(), cols]; only those rows are copied, then the tensor's pages are released.
at::Tensor gatherRows(const io::SafetensorsCheckpoint& checkpoint, const std::string& name,
                      const std::vector<int64_t>& rowIds);

}  // namespace dha::analysis
