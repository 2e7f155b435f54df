// dtype name tables shared by the model loader and writer.
#include "model/tensor_dtype.h"

#include "dha/error.h"

namespace dha::model {

c10::ScalarType scalarTypeOf(io::DType dtype) {
    switch (dtype) {
        case io::DType::F32:
            return c10::kFloat;
        case io::DType::F16:
            return c10::kHalf;
        case io::DType::BF16:
            return c10::kBFloat16;
        case io::DType::F64:
            return c10::kDouble;
        case io::DType::I64:
            return c10::kLong;
        case io::DType::I32:
            return c10::kInt;
        case io::DType::I16:
            return c10::kShort;
        case io::DType::I8:
            return c10::kChar;
        case io::DType::U8:
            return c10::kByte;
        case io::DType::Bool:
            return c10::kBool;
    }
    fail(ErrorCode::Internal, {}, "unknown safetensors dtype");
}

io::DType ioDtypeOf(c10::ScalarType type) {
    switch (type) {
        case c10::kFloat:
            return io::DType::F32;
        case c10::kHalf:
            return io::DType::F16;
        case c10::kBFloat16:
            return io::DType::BF16;
        case c10::kDouble:
            return io::DType::F64;
        case c10::kLong:
            return io::DType::I64;
        case c10::kInt:
            return io::DType::I32;
        case c10::kShort:
            return io::DType::I16;
        case c10::kChar:
            return io::DType::I8;
        case c10::kByte:
            return io::DType::U8;
        case c10::kBool:
            return io::DType::Bool;
        default:
            break;
    }
    fail(ErrorCode::Unsupported, {},
         std::string("tensors of type ") + c10::toString(type) + " cannot be saved");
}

std::string torchDtypeName(io::DType dtype) {
    switch (dtype) {
        case io::DType::F32:
            return "float32";
        case io::DType::F16:
            return "float16";
        case io::DType::BF16:
            return "bfloat16";
        case io::DType::F64:
            return "float64";
        default:
            break;
    }
    fail(ErrorCode::Unsupported, {},
         std::string("model weights cannot be stored as ") + io::dtypeName(dtype));
}

}  // namespace dha::model
