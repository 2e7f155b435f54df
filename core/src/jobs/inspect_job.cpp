// `dha inspect`: architecture, parameters and KV cost from config.json and safetensors headers only.
#include <filesystem>
#include <set>

#include "dha/model_info.h"
#include "io/safetensors.h"
#include "jobs/job_boundary.h"
#include "tokenizer/tokenizer.h"

namespace dha {
namespace {

std::string describeArchitecture(const ModelConfig& config) {
    if (config.isMha()) return "MHA";
    if (config.isUniform()) return "GQA (" + std::to_string(config.layers.front().numKeyHeads) + " key/value heads)";
    return "DHA";
}

// The per-layer layout of the model this one was converted from: for a DHA export the `dha` object says how
// many key/value heads the source had; an unconverted model is its own source.
HeadLayout sourceLayout(const ModelConfig& config, size_t layer) {
    if (config.dhaSource && config.dhaSource->sourceNumKeyValueHeads > 0 &&
        config.numQueryHeads % config.dhaSource->sourceNumKeyValueHeads == 0) {
        return HeadLayout::gqa(config.numQueryHeads, config.dhaSource->sourceNumKeyValueHeads);
    }
    if (config.dhaSource) return HeadLayout::gqa(config.numQueryHeads, config.numKeyValueHeads);
    return config.layers[layer];
}

bool hasTokenizer(const std::filesystem::path& dir) {
    return std::filesystem::exists(dir / "tokenizer.model") || std::filesystem::exists(dir / "tokenizer.json");
}

ModelInfo inspect(const std::filesystem::path& modelDir, JobSink& sink) {
    ModelInfo info;
    info.directory = modelDir;
    info.config = loadModelConfig(modelDir / "config.json");
    info.architecture = describeArchitecture(info.config);

    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(modelDir);
    std::set<std::string> dtypes;
    for (const auto& file : checkpoint.files()) {
        info.weightFiles.push_back(file->path().filename().string());
        for (const io::TensorInfo& tensor : file->tensors()) {
            info.parameterCount += tensor.numel();
            info.weightBytes += static_cast<int64_t>(tensor.byteSize());
            dtypes.insert(io::dtypeName(tensor.dtype));
        }
    }
    if (dtypes.size() == 1) {
        info.weightDtype = *dtypes.begin();
    } else if (!dtypes.empty()) {
        info.weightDtype = "mixed (";
        for (const std::string& name : dtypes) info.weightDtype += (name == *dtypes.begin() ? "" : ", ") + name;
        info.weightDtype += ")";
    }

    const int headDim = info.config.headDim;
    for (size_t layer = 0; layer < info.config.layers.size(); ++layer) {
        const HeadLayout& layout = info.config.layers[layer];
        LayerHeadsInfo heads;
        heads.queryHeads = layout.numQueryHeads();
        heads.keyHeads = layout.numKeyHeads;
        heads.valueHeads = layout.numValueHeads;
        heads.kvBytesPerToken = kvElementsPerToken(layout, headDim) * info.kvBytesPerElement;
        heads.sourceKvBytesPerToken = kvElementsPerToken(sourceLayout(info.config, layer), headDim) *
                                      info.kvBytesPerElement;
        info.kvBytesPerToken += heads.kvBytesPerToken;
        info.sourceKvBytesPerToken += heads.sourceKvBytesPerToken;
        info.layers.push_back(heads);
    }

    if (hasTokenizer(modelDir)) {
        info.tokenizerDescription = tok::loadTokenizer(modelDir)->description();
    } else {
        sink.onLog({LogLevel::Warning, modelDir.string() + ": no tokenizer.model or tokenizer.json"});
    }
    return info;
}

}  // namespace

JobResult<ModelInfo> runInspectJob(const std::filesystem::path& modelDir, JobSink& sink) {
    return jobs::runGuarded<ModelInfo>([&] { return inspect(modelDir, sink); });
}

}  // namespace dha
