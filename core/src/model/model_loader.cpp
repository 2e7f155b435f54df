// loadModel: config.json + safetensors -> Transformer, checking every tensor before a weight is allocated.
#include "model/model_loader.h"

#include <ATen/ATen.h>

#include <cstring>
#include <set>

#include "dha/error.h"
#include "io/json_reader.h"
#include "model/tensor_dtype.h"
#include "model/tensor_names.h"

namespace dha::model {
namespace {

namespace fs = std::filesystem;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; so must the host be");

constexpr size_t kListedUnusedTensors = 5;
const char* const kConfigHint = "config.json does not describe these weights";

std::string quotedName(const std::string& name) { return "'" + io::printableExcerpt(name, 200) + "'"; }

// The file a missing tensor should have been in: the index when the weights are sharded.
std::string containerPath(const fs::path& modelDir) {
    std::error_code error;
    if (fs::exists(modelDir / "model.safetensors", error)) return (modelDir / "model.safetensors").string();
    return (modelDir / "model.safetensors.index.json").string();
}

// Presence, dtype and shape of every tensor the config implies, and what is left over. Reads headers only.
std::vector<std::string> checkCheckpoint(const ModelConfig& config,
                                         const io::SafetensorsCheckpoint& checkpoint,
                                         const fs::path& modelDir, bool allowUnusedTensors) {
    std::set<std::string> expectedNames;
    for (const ExpectedTensor& expected : expectedTensors(config)) {
        expectedNames.insert(expected.name);
        const io::SafetensorsCheckpoint::Entry* entry = checkpoint.find(expected.name);
        if (entry == nullptr) {
            failInput(containerPath(modelDir), "missing tensor " + quotedName(expected.name), kConfigHint);
        }
        const std::string file = (modelDir / checkpoint.fileNameOf(expected.name)).string();
        const io::TensorInfo& tensor = *entry->tensor;
        if (!io::isFloatingPoint(tensor.dtype)) {
            failInput(file, "tensor " + quotedName(expected.name) + " has dtype " +
                                io::dtypeName(tensor.dtype) +
                                ", expected a floating-point dtype (F32, F16, BF16 or F64)");
        }
        if (tensor.shape != expected.shape) {
            failInput(file,
                      "tensor " + quotedName(expected.name) + " has shape " + shapeToString(tensor.shape) +
                          ", expected " + shapeToString(expected.shape),
                      kConfigHint);
        }
    }
    std::vector<std::string> unused;
    std::vector<std::string> unexplained;
    for (const std::string& name : checkpoint.names()) {
        if (expectedNames.count(name) != 0) continue;
        unused.push_back(name);
        if (!isIgnoredTensor(name, config)) unexplained.push_back(name);
    }
    if (!unexplained.empty() && !allowUnusedTensors) {
        std::string list;
        for (size_t i = 0; i < unexplained.size() && i < kListedUnusedTensors; ++i) {
            list += (i ? ", " : "") + quotedName(unexplained[i]);
        }
        if (unexplained.size() > kListedUnusedTensors) {
            list += " and " + std::to_string(unexplained.size() - kListedUnusedTensors) + " more";
        }
        failInput((modelDir / checkpoint.fileNameOf(unexplained.front())).string(),
                  std::to_string(unexplained.size()) + " tensor" +
                      (unexplained.size() == 1 ? " is" : "s are") + " not used by this model: " + list,
                  std::string(kConfigHint) + " (allow unused tensors to load it anyway)");
    }
    return unused;
}

void checkDtype(c10::ScalarType dtype, const c10::Device& device) {
    if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf && dtype != at::kDouble) {
        fail(
            ErrorCode::Usage, "dtype",
            std::string("models load as float32, bfloat16, float16 or float64, not ") + c10::toString(dtype));
    }
    // LibTorch's CPU matmul has no float16 kernel (1.13): the model would load and then fail at the first
    // step.
    if (dtype == at::kHalf && device.is_cpu()) {
        fail(ErrorCode::Unsupported, "dtype",
             "float16 compute needs a GPU; use bfloat16 or float32 on the CPU");
    }
}

}  // namespace

std::vector<std::string> loadWeights(Transformer& model, const io::SafetensorsCheckpoint& checkpoint,
                                     const fs::path& modelDir, const LoadOptions& options) {
    const ModelConfig& config = model->config();
    std::vector<std::string> unused =
        checkCheckpoint(config, checkpoint, modelDir, options.allowUnusedTensors);
    at::NoGradGuard noGrad;
    auto parameters = model->named_parameters();
    const std::vector<ExpectedTensor> expected = expectedTensors(config);
    const int64_t total = static_cast<int64_t>(expected.size());
    int64_t done = 0;
    for (const ExpectedTensor& tensor : expected) {
        if (options.cancel && options.cancel->isCancelled()) {
            fail(ErrorCode::Cancelled, modelDir.string(), "loading was cancelled");
        }
        at::Tensor* parameter = parameters.find(tensor.name);
        if (parameter == nullptr || parameter->sizes() != at::IntArrayRef(tensor.shape)) {
            fail(ErrorCode::Internal, tensor.name,
                 "the transformer has no parameter of the checkpoint's shape");
        }
        const io::SafetensorsCheckpoint::Entry& entry = *checkpoint.find(tensor.name);
        // The mapped bytes are not aligned for their dtype in general: copy them into an aligned CPU tensor
        // first, then let ATen convert to the model's dtype and device. One tensor at a time.
        at::Tensor staging =
            at::empty(tensor.shape, at::TensorOptions().dtype(scalarTypeOf(entry.tensor->dtype)));
        std::memcpy(staging.data_ptr(), entry.file->data(*entry.tensor), entry.tensor->byteSize());
        parameter->copy_(staging);
        if (options.onTensorLoaded) options.onTensorLoaded(++done, total);
    }
    return unused;
}

LoadedModel loadModel(const fs::path& modelDir, const LoadOptions& options) {
    checkDtype(options.dtype, options.device);
    LoadedModel loaded;
    loaded.config = loadModelConfig(modelDir / "config.json");
    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(modelDir);
    // Everything is checked against the headers before the model's memory is allocated.
    checkCheckpoint(loaded.config, checkpoint, modelDir, options.allowUnusedTensors);
    loaded.model = Transformer(loaded.config, TransformerOptions{options.dtype, options.device});
    loaded.unusedTensors = loadWeights(loaded.model, checkpoint, modelDir, options);
    return loaded;
}

}  // namespace dha::model
