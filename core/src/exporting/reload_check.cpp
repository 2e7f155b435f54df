// checkReload: an export's logits against the in-memory model it was written from.
#include "exporting/reload_check.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "dha/error.h"
#include "model/model_loader.h"
#include "model/tensor_dtype.h"

namespace dha::exporting {
namespace {

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

// A float32 copy of the reference whose weights first went through `roundThrough` (the stored dtype, so the
// copy holds exactly what the file does), or the reference itself when that changes nothing.
model::Transformer float32Reference(const model::Transformer& reference, c10::ScalarType roundThrough) {
    const bool lossless = roundThrough == at::kFloat || roundThrough == at::kDouble;
    if (reference->dtype() == at::kFloat && lossless) return reference;
    model::TransformerOptions options;
    options.dtype = at::kFloat;
    options.device = reference->device();
    model::Transformer copy(reference->config(), options);
    const auto parameters = reference->named_parameters();
    at::NoGradGuard noGrad;
    for (auto& item : copy->named_parameters()) {
        const at::Tensor* value = parameters.find(item.key());
        if (value == nullptr) fail(ErrorCode::Internal, item.key(), "missing from the reference model");
        item.value().copy_(value->to(roundThrough).to(at::kFloat));
    }
    return copy;
}

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs();
    // NaN anywhere is a failure, and max() of a tensor with NaN is NaN: report it as infinite.
    if (diff.isnan().any().item<bool>()) return INFINITY;
    return diff.max().item<double>();
}

}  // namespace

at::Tensor reloadCheckTokens(const ModelConfig& config) {
    const int64_t batch = 2;
    const int64_t seq = std::max<int64_t>(1, std::min<int64_t>(24, config.maxPositionEmbeddings));
    const int64_t vocab = std::max(1, config.vocabSize);
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < batch * seq; ++i) ids.push_back((1 + 7919 * i + 104729 * (i / seq)) % vocab);
    return at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({batch, seq});
}

ReloadCheck checkReload(const std::filesystem::path& exportDir, const std::filesystem::path& target,
                        const model::Transformer& reference, io::DType storedDtype,
                        const ReloadHook& afterReload) {
    model::LoadOptions options;
    options.dtype = at::kFloat;
    options.device = reference->device();
    model::LoadedModel reloaded;
    try {
        reloaded = model::loadModel(exportDir, options);
    } catch (const Exception& error) {  // a writer bug: the staging path would only confuse the user
        fail(ErrorCode::Internal, target.string(),
             "reload check failed: the written model does not load back (" + error.error().describe() +
                 "); nothing was published");
    }
    if (afterReload) afterReload(reloaded.model);

    at::NoGradGuard noGrad;
    const at::Tensor tokens = reloadCheckTokens(reference->config());
    const at::Tensor exported = reloaded.model->forward(tokens);  // [2, seq, vocab]
    const c10::ScalarType stored = model::scalarTypeOf(storedDtype);
    const at::Tensor expected = float32Reference(reference, stored)->forward(tokens);
    // The in-memory weights as they are (also in float32, so only storage rounding separates the two).
    const at::Tensor original = stored == reference->dtype()
                                    ? expected
                                    : float32Reference(reference, reference->dtype())->forward(tokens);

    ReloadCheck check;
    check.tokensCompared = tokens.numel();
    check.maxAbsLogitDiff = maxAbsDiff(exported, expected);
    check.storageRoundingDiff = maxAbsDiff(exported, original);
    const double scale = expected.abs().max().item<double>();
    check.tolerance = kReloadTolerance * std::max(1.0, std::isfinite(scale) ? scale : 1.0);
    if (!(check.maxAbsLogitDiff <= check.tolerance)) {
        fail(ErrorCode::Internal, target.string(),
             "reload check failed: the written model's logits differ from the in-memory model's by " +
                 number(check.maxAbsLogitDiff) + " (tolerance " + number(check.tolerance) +
                 "); nothing was published");
    }
    check.reloadedConfig = std::move(reloaded.config);
    return check;
}

}  // namespace dha::exporting
