// `dha analyse`: per-layer key and value head similarity, streamed layer by layer over the mmapped
// checkpoint and cached in the run directory (dha-method.md section 2).
#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <chrono>
#include <optional>
#include <string>

#include "analysis/calibration_batch.h"
#include "analysis/checkpoint_stream.h"
#include "analysis/head_similarity.h"
#include "analysis/layer_activations.h"
#include "analysis/similarity_cache.h"
#include "dha/similarity.h"
#include "io/model_fingerprint.h"
#include "io/safetensors.h"
#include "jobs/job_boundary.h"
#include "model/tensor_names.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Clock = jobs::JobClock;
using jobs::secondsSince;

std::string kProjName(int layer) { return model::layerTensor(layer, "self_attn.k_proj.weight"); }
std::string vProjName(int layer) { return model::layerTensor(layer, "self_attn.v_proj.weight"); }

class Analysis {
public:
    Analysis(const AnalyseSpec& spec, JobSink& sink, const CancelToken& cancel)
        : m_spec(spec),
          m_sink(sink),
          m_cancel(cancel),
          m_start(Clock::now()),
          m_config(loadModelConfig(spec.modelDir / "config.json")),
          m_checkpoint(io::SafetensorsCheckpoint::open(spec.modelDir)) {}

    SimilarityReport run() {
        m_key.metric = m_spec.metric;
        m_key.modelFingerprint = io::modelFingerprint(m_spec.modelDir / "config.json", m_checkpoint);
        m_key.weightFiles = analysis::weightFilesStamp(m_checkpoint);
        std::optional<analysis::CalibrationBatch> calibration;
        if (isActivationMetric(m_spec.metric)) {
            jobs::throwIfCancelled(m_cancel, "tokenization");
            calibration = analysis::loadCalibrationBatch(m_spec, m_config, m_sink);
            m_key.settings = {{"tokens_sha256", calibration->tokensSha256},
                              {"tokens", calibration->tokenCount},
                              {"window", calibration->tokens.size(1)},
                              {"pre_rope_keys", m_spec.preRopeKeys}};
        } else {
            checkProjections();
        }
        if (std::optional<SimilarityReport> cached = readCache()) return finishFromCache(std::move(*cached));

        SimilarityReport report;
        report.metric = m_spec.metric;
        report.modelFingerprint = m_key.modelFingerprint;
        if (calibration) {
            report.preRopeKeys = m_spec.preRopeKeys;
            report.calibrationTokens = calibration->tokenCount;
            analyseActivations(calibration->tokens, report);
        } else {
            analyseWeights(report);
        }
        report.seconds = secondsSince(m_start);
        if (m_spec.runDir) writeCache(report);
        return report;
    }

private:
    bool isCka() const {
        return m_spec.metric == SimilarityMetric::WeightCka ||
               m_spec.metric == SimilarityMetric::ActivationCka;
    }

    // Every layer's k_proj / v_proj (headers only), so a bad checkpoint fails before any work. Biases
    // (qwen2, llama's attention_bias) are left out of the weight metrics: they compare how heads map the
    // input, and a bias is a constant that depends on no input. The activation metrics include them (the
    // outputs carry them; activation CKA's centring over tokens then removes them again).
    void checkProjections() const {
        for (int layer = 0; layer < m_config.numLayers; ++layer) {
            const HeadLayout& layout = m_config.layers[static_cast<size_t>(layer)];
            const int64_t hidden = m_config.hiddenSize;
            analysis::checkTensor(m_checkpoint, m_spec.modelDir, kProjName(layer),
                                  {int64_t{layout.numKeyHeads} * m_config.headDim, hidden});
            analysis::checkTensor(m_checkpoint, m_spec.modelDir, vProjName(layer),
                                  {int64_t{layout.numValueHeads} * m_config.headDim, hidden});
        }
    }

    LayerSimilarity compare(int layer, const at::Tensor& keyRows, const at::Tensor& valueRows) const {
        const HeadLayout& layout = m_config.layers[static_cast<size_t>(layer)];
        LayerSimilarity result;
        result.layer = layer;
        result.key = isCka() ? analysis::linearCka(keyRows, layout.numKeyHeads)
                             : analysis::flatCosine(keyRows, layout.numKeyHeads);
        result.value = isCka() ? analysis::linearCka(valueRows, layout.numValueHeads)
                               : analysis::flatCosine(valueRows, layout.numValueHeads);
        return result;
    }

    void analyseWeights(SimilarityReport& report) {
        for (int layer = 0; layer < m_config.numLayers; ++layer) {
            jobs::throwIfCancelled(m_cancel, "analysis");
            // Only this layer's two projections are copied out of the mapping; their pages are released.
            const at::Tensor keyWeight = analysis::readTensor(m_checkpoint, kProjName(layer));
            const at::Tensor valueWeight = analysis::readTensor(m_checkpoint, vProjName(layer));
            publish(compare(layer, keyWeight, valueWeight), report);
        }
    }

    void analyseActivations(const at::Tensor& tokens, SimilarityReport& report) {
        const c10::Device device = at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
        analysis::LayerActivations walk(m_config, m_checkpoint, m_spec.modelDir, tokens, device);
        for (int layer = 0; layer < m_config.numLayers; ++layer) {
            jobs::throwIfCancelled(m_cancel, "analysis");
            const analysis::KvRows rows = walk.next(m_spec.preRopeKeys);
            publish(compare(layer, rows.keys, rows.values), report);
        }
    }

    void publish(LayerSimilarity layer, SimilarityReport& report) {
        layer.keySummary = summariseRedundancy(layer.key);
        layer.valueSummary = summariseRedundancy(layer.value);
        m_sink.onSimilarity(SimilarityEvent{m_spec.metric, m_config.numLayers, layer});
        m_sink.onProgress({"analyse", layer.layer + 1, m_config.numLayers, "layers", secondsSince(m_start)});
        report.layers.push_back(std::move(layer));
    }

    std::optional<SimilarityReport> readCache() {
        if (!m_spec.runDir) return std::nullopt;
        const fs::path path = analysis::similarityCachePath(*m_spec.runDir, m_spec.metric);
        std::string staleReason;
        try {
            std::optional<SimilarityReport> cached =
                analysis::readSimilarityCache(path, m_key, m_config, &staleReason);
            if (!cached && !staleReason.empty()) {
                m_sink.onLog({LogLevel::Info, "not reusing " + path.string() + ": " + staleReason});
            }
            return cached;
        } catch (const Exception& exception) {
            if (exception.error().code == ErrorCode::Cancelled) throw;
            m_sink.onLog({LogLevel::Warning,
                          "ignoring the analysis cache: " + exception.error().describe() + "; recomputing"});
            return std::nullopt;
        }
    }

    SimilarityReport finishFromCache(SimilarityReport cached) {
        m_sink.onLog(
            {LogLevel::Info, "using the cached analysis " +
                                 analysis::similarityCachePath(*m_spec.runDir, m_spec.metric).string()});
        SimilarityReport report = cached;
        report.layers.clear();
        for (LayerSimilarity& layer : cached.layers) {
            jobs::throwIfCancelled(m_cancel, "analysis");
            publish(std::move(layer), report);
        }
        report.seconds = secondsSince(m_start);
        return report;
    }

    // A cache that cannot be written costs the next run time, not this run its result: a warning.
    void writeCache(const SimilarityReport& report) {
        const fs::path path = analysis::similarityCachePath(*m_spec.runDir, m_spec.metric);
        try {
            analysis::writeSimilarityCache(path, m_key, report);
            m_sink.onLog({LogLevel::Info, "wrote " + path.string()});
        } catch (const Exception& exception) {
            m_sink.onLog(
                {LogLevel::Warning, "could not write the analysis cache: " + exception.error().describe()});
        }
    }

    const AnalyseSpec& m_spec;
    JobSink& m_sink;
    const CancelToken& m_cancel;
    Clock::time_point m_start;
    ModelConfig m_config;
    io::SafetensorsCheckpoint m_checkpoint;
    analysis::SimilarityCacheKey m_key;
};

}  // namespace

JobResult<SimilarityReport> runAnalyseJob(const AnalyseSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<SimilarityReport>([&] { return Analysis(spec, sink, cancel).run(); });
}

}  // namespace dha
