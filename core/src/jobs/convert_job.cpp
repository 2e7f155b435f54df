// `dha convert`: fusion, collapse, continued pretraining and export of a conversion run (dha-method.md 4-5).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "conversion/dha_model_builder.h"
#include "dha/conversion.h"
#include "exporting/dha_export.h"
#include "jobs/convert_setup.h"
#include "jobs/job_boundary.h"
#include "model/held_out_eval.h"
#include "training/fusion_stage.h"
#include "training/fusion_step.h"
#include "training/metrics_log.h"
#include "training/token_data.h"
#include "training/train_step.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Clock = jobs::JobClock;
using jobs::secondsSince;

constexpr double kPi = 3.14159265358979323846;

// Groups with more than one member: only they carry a fusion loss.
int fusedGroupCount(const Plan& plan) {
    int count = 0;
    for (const LayerPlan& layer : plan.layers) {
        for (const HeadGroups* groups : {&layer.keyGroups, &layer.valueGroups})
            for (const std::vector<int>& group : *groups) count += group.size() > 1 ? 1 : 0;
    }
    return count;
}

class ConvertLoop {
public:
    ConvertLoop(const ConvertSpec& spec, jobs::PreparedConversion& run, JobSink& sink,
                const CancelToken& cancel)
        : m_spec(spec),
          m_run(run),
          m_sink(sink),
          m_cancel(cancel),
          m_log(spec.runDir / "metrics.jsonl", 0),
          m_sampler(run.trainTokens, spec.contextLength + 1, spec.batchSize, spec.seed) {}

    ConvertReport run() {
        ConvertReport report;
        report.runDir = m_spec.runDir;
        report.method = m_spec.method;
        report.plan = m_run.plan;
        report.planSummary = jobs::describePlan(m_run.plan);
        report.heldOutSource = heldOut(*m_run.source, "source");

        model::Transformer compact{nullptr};
        if (m_spec.method == ConvertMethod::Dha) {
            compact = fuseAndCollapse(report);
        } else {
            compact = conversion::buildMeanPoolModel(m_run.source, m_run.plan);
            report.heldOutAfterCollapse = heldOut(*compact, "mean-pooled");
        }
        continuePretraining(compact, report);
        report.heldOutAfterContinued = heldOut(*compact, "continued");
        exportModel(compact, report);
        return report;
    }

private:
    int64_t totalSteps() const { return m_fusionStepsPlanned + m_run.continuedSteps; }

    // The held-out loss of `net` at the current step (nullopt without a validation text).
    std::optional<double> heldOut(const model::TransformerImpl& net, const char* which) {
        if (!m_run.validationTokens.defined()) return std::nullopt;
        model::HeldOutResult result;
        try {
            result =
                model::evaluateHeldOut(net, m_run.validationTokens, m_spec.contextLength, m_spec.batchSize,
                                       m_spec.validationTokens, m_cancel, "held-out loss");
        } catch (const Exception& exception) {
            if (exception.error().code == ErrorCode::Cancelled) stopForCancel();
            throw;
        }
        ValidationEvent event;
        event.step = m_step;
        event.tokens = m_step * m_run.tokensPerStep;
        event.loss = result.meanLoss();
        event.perplexity = std::exp(event.loss);
        event.accuracy = result.accuracy();
        event.predictedTokens = result.predictedTokens;
        m_log.write({{"type", "validation"},
                     {"model", which},
                     {"step", event.step},
                     {"tokens", event.tokens},
                     {"loss", event.loss},
                     {"perplexity", event.perplexity},
                     {"accuracy", event.accuracy},
                     {"predicted_tokens", event.predictedTokens}});
        m_sink.onLog(
            {LogLevel::Info, std::string("held-out loss (") + which + "): " + std::to_string(event.loss)});
        m_sink.onValidation(event);
        return event.loss;
    }

    // Fusion (4.2) until the fusion loss per group reaches the tolerance after the ramp, or the fusion
    // budget is spent; then the collapse (4.3), with the held-out loss on both sides of it (P9).
    model::Transformer fuseAndCollapse(ConvertReport& report) {
        const int64_t steps = m_run.fusionSteps;
        m_fusionStepsPlanned = steps;
        training::FusionStageOptions stageOptions;
        stageOptions.rampSteps = std::llround(m_spec.fusionRampFraction * static_cast<double>(steps));
        stageOptions.modelOptimizer.weightDecay = m_spec.weightDecay;
        training::FusionStageState state(m_run.source, m_run.plan, stageOptions);
        training::FusionStepOptions options;
        options.modelLearningRate = m_spec.modelLearningRate;
        options.lambdaLearningRate = m_spec.lambdaLearningRate;
        options.gradientClip = m_spec.gradientClip;
        options.bf16Autocast = m_spec.dtype == "bf16";
        const double groups = std::max(1, fusedGroupCount(m_run.plan));
        double fusionLoss = state.fusion().fusionLoss().item<double>();
        const auto start = Clock::now();
        for (int64_t k = 0; k < steps; ++k) {
            if (k >= stageOptions.rampSteps && fusionLoss / groups <= m_spec.fusionTolerance) break;
            if (m_cancel.isCancelled()) stopForCancel();
            // Constant over the ramp, then a cosine to 0 so AdamW's jitter dies out and the rows meet.
            const double tail = k < stageOptions.rampSteps
                                    ? 0.0
                                    : static_cast<double>(k - stageOptions.rampSteps) /
                                          static_cast<double>(steps - stageOptions.rampSteps);
            options.fusionLearningRate = m_spec.fusionLearningRate * 0.5 * (1 + std::cos(kPi * tail));
            const training::FusionStepResult result =
                training::fusionStep(state, m_sampler.batch(m_step + 1), options);
            fusionLoss = state.fusion().fusionLoss().item<double>();
            LossEvent event = stepEvent("fusion", result.lmLoss, options.modelLearningRate, result.gradNorm,
                                        start, k + 1, steps);
            event.fusionLoss = result.fusionLoss;
            m_log.write({{"type", "loss"},
                         {"phase", "fusion"},
                         {"step", event.step},
                         {"tokens", event.tokens},
                         {"lm_loss", event.lmLoss},
                         {"fusion_loss", result.fusionLoss},
                         {"target", result.target},
                         {"lambda1", result.lambda1},
                         {"lambda2", result.lambda2},
                         {"lr", event.learningRate},
                         {"fusion_lr", options.fusionLearningRate},
                         {"grad_norm", event.gradNorm}});
            m_sink.onLoss(event);
        }
        report.fusionSteps = m_step;
        report.fusionTokens = m_step * m_run.tokensPerStep;
        report.finalFusionLoss = fusionLoss;
        report.fusionConverged = fusionLoss / groups <= m_spec.fusionTolerance;
        m_fusionStepsPlanned = m_step;  // an early stop shortens the run
        m_sink.onLog({report.fusionConverged ? LogLevel::Info : LogLevel::Warning,
                      "fusion loss " + std::to_string(fusionLoss) + " after " + std::to_string(m_step) +
                          " steps" +
                          (report.fusionConverged ? " (converged)"
                                                  : " (not converged: collapse will "
                                                    "change the model)")});
        report.heldOutBeforeCollapse = heldOut(*state.fusedModel(), "fused");
        model::Transformer compact = state.collapsedModel();
        report.heldOutAfterCollapse = heldOut(*compact, "collapsed");
        return compact;
    }

    // Plain next-token training of the compact model (4.4): warm-up then cosine decay.
    void continuePretraining(model::Transformer& net, ConvertReport& report) {
        const int64_t steps = m_run.continuedSteps;
        training::AdamW::NamedParameters parameters;
        for (const auto& item : net->named_parameters()) {
            item.value().set_requires_grad(true);
            parameters.emplace_back(item.key(), item.value());
        }
        training::AdamW optimizer(parameters, {0.9, 0.95, 1e-8, m_spec.weightDecay});
        training::LearningRateSchedule schedule;
        schedule.peak = m_spec.continuedPeakLearningRate;
        schedule.min = m_spec.continuedMinLearningRate;
        schedule.warmupSteps = m_spec.continuedWarmupSteps > 0
                                   ? m_spec.continuedWarmupSteps
                                   : std::max<int64_t>(1, std::min<int64_t>(1000, steps / 20));
        schedule.totalSteps = std::max<int64_t>(1, steps);
        const auto start = Clock::now();
        const int64_t first = m_step;
        for (int64_t k = 1; k <= steps; ++k) {
            if (m_cancel.isCancelled()) stopForCancel();
            const double learningRate = schedule.at(k);
            const training::TrainStepResult result =
                training::trainStep(*net, parameters, optimizer, m_sampler.batch(m_step + 1), learningRate,
                                    m_spec.gradientClip, m_spec.dtype == "bf16");
            const LossEvent event =
                stepEvent("continued", result.loss, learningRate, result.gradNorm, start, k, steps);
            m_log.write({{"type", "loss"},
                         {"phase", "continued"},
                         {"step", event.step},
                         {"tokens", event.tokens},
                         {"lm_loss", event.lmLoss},
                         {"lr", learningRate},
                         {"grad_norm", event.gradNorm}});
            m_sink.onLoss(event);
        }
        for (const auto& item : net->named_parameters()) item.value().set_requires_grad(false);
        report.continuedSteps = m_step - first;
        report.continuedTokens = report.continuedSteps * m_run.tokensPerStep;
    }

    // Counts the step just done and describes it; `done` of `phaseSteps` drive the phase's ETA.
    LossEvent stepEvent(const char* phase, double loss, double learningRate, double gradNorm,
                        Clock::time_point phaseStart, int64_t done, int64_t phaseSteps) {
        ++m_step;
        const double seconds = secondsSince(phaseStart);
        LossEvent event;
        event.phase = phase;
        event.step = m_step;
        event.totalSteps = totalSteps();
        event.tokens = m_step * m_run.tokensPerStep;
        event.totalTokens = event.totalSteps * m_run.tokensPerStep;
        event.lmLoss = loss;
        event.learningRate = learningRate;
        event.gradNorm = gradNorm;
        event.elapsedSeconds = secondsSince(m_start);
        event.tokensPerSecond = seconds > 0 ? static_cast<double>(done * m_run.tokensPerStep) / seconds : 0.0;
        event.etaSeconds = static_cast<double>(phaseSteps - done) * seconds / static_cast<double>(done);
        return event;
    }

    void exportModel(const model::Transformer& net, ConvertReport& report) {
        if (m_cancel.isCancelled()) stopForCancel();
        exporting::ExportOptions options;
        options.cancel = &m_cancel;
        options.card.method = m_spec.method == ConvertMethod::Dha
                                  ? "DHA conversion (adaptive heads fusion)"
                                  : "GQA baseline (mean-pooled adjacent heads)";
        options.card.tokensUsed = report.fusionTokens + report.continuedTokens;
        options.card.heldOutLossBefore = report.heldOutSource;
        options.card.heldOutLossAfter = report.heldOutAfterContinued;
        if (!m_spec.validationText.empty())
            options.card.heldOutData = m_spec.validationText.filename().string();
        const fs::path target = m_spec.runDir / "export";
        exporting::ExportResult result;
        try {
            result = exporting::exportDhaModel(net, m_spec.sourceModelDir, target, options);
        } catch (const Exception& exception) {
            if (exception.error().code == ErrorCode::Cancelled) stopForCancel();
            throw;
        }
        report.exportDir = result.directory;
        report.kvBytesPerTokenBefore = result.sourceKvBytesPerToken;
        report.kvBytesPerTokenAfter = result.kvBytesPerToken;
        m_log.write({{"type", "export"}, {"step", m_step}, {"path", "export"}});
        m_sink.onLog({LogLevel::Info, "exported " + result.directory.string()});
    }

    [[noreturn]] void stopForCancel() {
        fail(ErrorCode::Cancelled, m_spec.runDir.string(),
             "cancelled at step " + std::to_string(m_step) + " of " + std::to_string(totalSteps()));
    }

    const ConvertSpec& m_spec;
    jobs::PreparedConversion& m_run;
    JobSink& m_sink;
    const CancelToken& m_cancel;
    training::MetricsLog m_log;
    training::WindowSampler m_sampler;
    int64_t m_step = 0;  // optimizer steps done, across both phases
    int64_t m_fusionStepsPlanned = 0;
    Clock::time_point m_start = Clock::now();
};

}  // namespace

const char* convertMethodName(ConvertMethod method) {
    return method == ConvertMethod::Dha ? "dha" : "gqa-meanpool";
}

std::optional<ConvertMethod> convertMethodFromName(const std::string& name) {
    if (name == "dha") return ConvertMethod::Dha;
    if (name == "gqa-meanpool") return ConvertMethod::GqaMeanPool;
    return std::nullopt;
}

JobResult<ConvertReport> runConvertJob(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<ConvertReport>([&] {
        jobs::PreparedConversion run = jobs::prepareConversion(spec, sink, cancel);
        ConvertLoop loop(spec, run, sink, cancel);
        return loop.run();
    });
}

}  // namespace dha
