// Conversions between safetensors dtypes (io::DType), ATen scalar types and config.json's torch_dtype names.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>

#include "io/safetensors.h"

namespace dha::model {

c10::ScalarType scalarTypeOf(io::DType dtype);
// Unsupported error for ATen types safetensors cannot hold in this project (complex, quantized, ...).
io::DType ioDtypeOf(c10::ScalarType type);
// "float32", "bfloat16", "float16", "float64"; Unsupported error for anything else.
std::string torchDtypeName(io::DType dtype);

}  // namespace dha::model
