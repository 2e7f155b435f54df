// Reading back the safetensors state files of the conversion's stages (search and fusion): metadata values
// and tensors checked against what the stage expects, each failure one InvalidInput error naming the file.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace dha::training {

// The metadata entry `key`; absent -> error.
const std::string& metadataValue(const io::SafetensorsFile& file, const std::string& key);
// The entry as a whole integer >= 0, or as a whole finite number; anything else -> error.
int64_t metadataCount(const io::SafetensorsFile& file, const std::string& key);
double metadataNumber(const io::SafetensorsFile& file, const std::string& key);

// A copy of tensor `name`, which must have exactly `dtype` (F32 or F64) and `shape`; `expected` ends the error
// message after "expected <dtype> " (e.g. "[8, 8]" or "of the shape this plan needs").
at::Tensor readTensor(const io::SafetensorsFile& file, const std::string& name, io::DType dtype,
                      const std::vector<int64_t>& shape, const std::string& expected);

}  // namespace dha::training
