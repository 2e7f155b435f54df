// saveModel: Transformer -> config.json + model.safetensors, deterministic and atomic.
#include "model/model_writer.h"

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "model/tensor_dtype.h"
#include "model/tensor_names.h"

namespace dha::model {

namespace fs = std::filesystem;

void saveModel(const fs::path& modelDir, const ModelConfig& config, Transformer& model, io::DType dtype) {
    if (!io::isFloatingPoint(dtype)) {
        fail(ErrorCode::Usage, modelDir.string(),
             std::string("cannot save weights as ") + io::dtypeName(dtype));
    }
    ModelConfig written = config;
    written.torchDtype = torchDtypeName(dtype);
    const std::string configText = serializeModelConfig(written);  // validates the config before any write

    const auto parameters = model->named_parameters();
    const std::vector<ExpectedTensor> expected = expectedTensors(config);
    if (expected.size() != parameters.size()) {
        fail(ErrorCode::Internal, modelDir.string(),
             "the config implies " + std::to_string(expected.size()) + " tensors, the model has " +
                 std::to_string(parameters.size()));
    }
    at::NoGradGuard noGrad;
    const c10::ScalarType scalarType = scalarTypeOf(dtype);
    std::vector<at::Tensor> hostTensors;  // keeps converted copies alive until the file is written
    std::vector<io::TensorToWrite> tensors;
    hostTensors.reserve(expected.size());
    for (const ExpectedTensor& tensor : expected) {
        const at::Tensor* parameter = parameters.find(tensor.name);
        if (parameter == nullptr || parameter->sizes() != at::IntArrayRef(tensor.shape)) {
            fail(ErrorCode::Internal, tensor.name,
                 "the model has no parameter of shape " + shapeToString(tensor.shape) + " for this config");
        }
        // A no-op (no copy) when the parameter already is a contiguous CPU tensor of the target dtype.
        hostTensors.push_back(parameter->detach().to(at::kCPU, scalarType).contiguous());
        tensors.push_back({tensor.name, dtype, tensor.shape, hostTensors.back().data_ptr()});
    }

    std::error_code error;
    fs::create_directories(modelDir, error);
    if (error) fail(ErrorCode::Io, modelDir.string(), "cannot create the directory: " + error.message());
    io::writeSafetensors(modelDir / "model.safetensors", tensors, {{"format", "pt"}});
    io::writeFileAtomically(modelDir / "config.json", configText);
}

}  // namespace dha::model
