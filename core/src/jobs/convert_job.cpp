// `dha convert`: fusion, collapse, continued pretraining and export of a conversion run (dha-method.md 4-5),
// checkpointed so that a cancel or a crash resumes with the same data, schedules and loss curve.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "conversion/dha_model_builder.h"
#include "dha/conversion.h"
#include "exporting/dha_export.h"
#include "jobs/convert_checkpoint.h"
#include "jobs/convert_setup.h"
#include "jobs/job_boundary.h"
#include "model/held_out_eval.h"
#include "training/checkpoint.h"
#include "training/fusion_stage.h"
#include "training/fusion_step.h"
#include "training/metrics_log.h"
#include "training/search_stage.h"
#include "training/token_data.h"
#include "training/train_step.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Clock = jobs::JobClock;
using jobs::ConvertPhase;
using jobs::secondsSince;

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kKvSavingsEvery = 10;  // fusion steps between checks of which groups have converged

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
          m_sampler(run.trainTokens, spec.contextLength + 1, spec.batchSize, spec.seed) {}

    ConvertReport run() {
        training::removeIncompleteCheckpoints(m_spec.runDir);
        std::optional<fs::path> checkpoint;
        if (m_spec.resume) {
            std::error_code error;
            if (fs::exists(m_spec.runDir / "export", error)) {
                fail(ErrorCode::Usage, m_spec.runDir.string(), "has finished: its export is in export/",
                     "evaluate it with `dha eval " + (m_spec.runDir / "export").string() + "`");
            }
            checkpoint = training::latestCheckpoint(m_spec.runDir);
        }
        if (checkpoint) {
            m_progress = jobs::readConvertProgress(*checkpoint);
            m_step = m_progress.step;
            m_log.emplace(m_spec.runDir / "metrics.jsonl", m_step, m_progress.metricsLines);
            m_sink.onLog({LogLevel::Info, "resuming from " + checkpoint->string()});
        } else {
            m_log.emplace(m_spec.runDir / "metrics.jsonl", -1);  // nothing before the first checkpoint
        }
        m_lastCheckpointStep = checkpoint ? m_step : -1;
        m_fusionStepsPlanned = usesLearnedFusion(m_spec.method) ? m_run.fusionSteps : 0;
        if (checkpoint && m_progress.phase == ConvertPhase::Continued)
            m_fusionStepsPlanned = m_progress.fusionStepsDone;  // fusion may have stopped early
        const ConvertPhase resumePhase = checkpoint ? m_progress.phase : ConvertPhase::Search;
        if (checkpoint && resumePhase == ConvertPhase::Search && !m_run.planPending &&
            m_step != m_run.searchSteps) {
            failInput((*checkpoint / "state.json").string(),
                      "is a search checkpoint of step " + std::to_string(m_step) + " but plan.json holds the plan of "
                          "the finished search (" + std::to_string(m_run.searchSteps) + " steps)");
        }

        ConvertReport report;
        report.runDir = m_spec.runDir;
        report.method = m_spec.method;
        report.resumed = checkpoint.has_value();
        report.resumedFromStep = checkpoint ? m_step : 0;
        if (!checkpoint) m_progress.heldOutSource = heldOut(*m_run.source, "source");
        if (m_run.planPending) searchAndPlan(resumePhase == ConvertPhase::Search ? checkpoint : std::nullopt);
        report.plan = m_run.plan;
        report.planSummary = jobs::describePlan(m_run.plan);
        m_sink.onPlan(m_run.plan);
        emitKvSavings("plan", planHeadCounts());

        model::Transformer compact{nullptr};
        if (resumePhase == ConvertPhase::Continued) {
            compact = jobs::loadCompactModel(*checkpoint);
            checkCompactModel(compact, *checkpoint);
        } else if (usesLearnedFusion(m_spec.method)) {
            compact = fuseAndCollapse(resumePhase == ConvertPhase::Fusion ? checkpoint : std::nullopt);
        } else {
            compact = conversion::buildMeanPoolModel(m_run.source, m_run.plan);
        }
        emitKvSavings("collapse", planHeadCounts());
        continuePretraining(compact, resumePhase == ConvertPhase::Continued ? checkpoint : std::nullopt);
        report.heldOutAfterContinued = heldOut(*compact, "continued");

        report.heldOutSource = m_progress.heldOutSource;
        report.heldOutBeforeCollapse = m_progress.heldOutBeforeCollapse;
        report.heldOutAfterCollapse = m_progress.heldOutAfterCollapse;
        report.searchSteps = m_progress.searchStepsDone;
        report.searchTokens = m_progress.searchStepsDone * m_run.tokensPerStep;
        report.fusionSteps = m_progress.fusionStepsDone;
        report.fusionTokens = m_progress.fusionStepsDone * m_run.tokensPerStep;
        report.finalFusionLoss = m_progress.finalFusionLoss;
        report.fusionConverged = m_progress.fusionConverged;
        report.continuedSteps = m_step - m_progress.searchStepsDone - m_progress.fusionStepsDone;
        report.continuedTokens = report.continuedSteps * m_run.tokensPerStep;
        exportModel(compact, report);
        return report;
    }

private:
    int64_t totalSteps() const { return m_run.searchSteps + m_fusionStepsPlanned + m_run.continuedSteps; }
    double elapsedSeconds() const { return m_progress.elapsedSeconds + secondsSince(m_start); }

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
        m_log->write({{"type", "validation"},
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
    // budget is spent; then the collapse (4.3), with the held-out loss of the fused model (P9).
    model::Transformer fuseAndCollapse(const std::optional<fs::path>& checkpoint) {
        const int64_t steps = m_run.fusionSteps;
        training::FusionStageOptions stageOptions;
        stageOptions.rampSteps = std::llround(m_spec.fusionRampFraction * static_cast<double>(steps));
        stageOptions.modelOptimizer.weightDecay = m_spec.weightDecay;
        training::FusionStageState state(m_run.source, m_run.plan, stageOptions);
        const int64_t searched = m_progress.searchStepsDone;
        if (checkpoint) {
            state.load(*checkpoint);
            if (searched + state.step() != m_step) {
                failInput(checkpoint->string(), "holds fusion step " + std::to_string(state.step()) +
                                                    " but its state.json says step " + std::to_string(m_step));
            }
        }
        m_checkpointForCancel = [&] { publishFusion(state, "cancel"); };
        training::FusionStepOptions options;
        options.modelLearningRate = m_spec.modelLearningRate;
        options.lambdaLearningRate = m_spec.lambdaLearningRate;
        options.gradientClip = m_spec.gradientClip;
        options.bf16Autocast = m_spec.dtype == "bf16";
        const double groups = std::max(1, fusedGroupCount(m_run.plan));
        const double fusionRate = fusionLearningRate(steps, stageOptions.rampSteps);
        double fusionLoss = state.fusion().fusionLoss().item<double>();
        const auto start = Clock::now();
        const int64_t first = state.step();
        for (int64_t k = state.step(); k < steps; ++k) {
            if (k >= stageOptions.rampSteps && fusionLoss / groups <= m_spec.fusionTolerance) break;
            if (m_cancel.isCancelled()) stopForCancel();
            // Constant over the ramp, then a cosine to 0 so AdamW's jitter dies out and the rows meet.
            const double tail = k < stageOptions.rampSteps
                                    ? 0.0
                                    : static_cast<double>(k - stageOptions.rampSteps) /
                                          static_cast<double>(steps - stageOptions.rampSteps);
            options.fusionLearningRate = fusionRate * 0.5 * (1 + std::cos(kPi * tail));
            const training::FusionStepResult result =
                training::fusionStep(state, m_sampler.batch(m_step + 1), options);
            fusionLoss = state.fusion().fusionLoss().item<double>();
            LossEvent event = stepEvent("fusion", result.lmLoss, options.modelLearningRate, result.gradNorm,
                                        start, state.step() - first);
            event.fusionLoss = result.fusionLoss;
            m_log->write({{"type", "loss"},
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
            if (m_step % kKvSavingsEvery == 0) emitFusionKvSavings(state);
            if (m_spec.checkpointInterval > 0 && m_step % m_spec.checkpointInterval == 0)
                publishFusion(state, "interval");
        }
        m_progress.fusionStepsDone = state.step();
        m_progress.finalFusionLoss = fusionLoss;
        m_progress.fusionConverged = fusionLoss / groups <= m_spec.fusionTolerance;
        m_fusionStepsPlanned = state.step();  // an early stop shortens the run
        emitFusionKvSavings(state);
        m_sink.onLog({m_progress.fusionConverged ? LogLevel::Info : LogLevel::Warning,
                      "fusion loss " + std::to_string(fusionLoss) + " after " + std::to_string(state.step()) +
                          " steps" +
                          (m_progress.fusionConverged ? " (converged)"
                                                      : " (not converged: collapse will change the model)")});
        m_progress.heldOutBeforeCollapse = heldOut(*state.fusedModel(), "fused");
        m_checkpointForCancel = nullptr;
        return state.collapsedModel();
    }

    // Search (4.1): identity-initialised H x H fusion weights per (layer, K|V) over the frozen source learn
    // which heads move together; their distances, mixed with the metric's similarity, place the budget. The
    // plan is written only after the search's last checkpoint, so plan.json always belongs to a finished search.
    void searchAndPlan(const std::optional<fs::path>& checkpoint) {
        training::SearchOptions options;
        options.steps = m_run.searchSteps;
        options.pullWeight = m_spec.searchPullWeight;
        options.gradientClip = m_spec.gradientClip;
        options.bf16Autocast = m_spec.dtype == "bf16";
        training::SearchStageState state(m_run.source, options, &*m_run.similarity);
        if (checkpoint) {
            state.load(*checkpoint);
            if (state.step() != m_step) {
                failInput(checkpoint->string(), "holds search step " + std::to_string(state.step()) +
                                                    " but its state.json says step " + std::to_string(m_step));
            }
        }
        m_checkpointForCancel = [&] { publishSearch(state, "cancel"); };
        const auto start = Clock::now();
        const int64_t first = state.step();
        const int64_t steps = m_run.searchSteps;
        while (state.step() < steps) {
            if (m_cancel.isCancelled()) stopForCancel();
            const training::SearchStepResult result = training::searchStep(state, m_sampler.batch(m_step + 1), options);
            const LossEvent event = stepEvent("search", result.lmLoss, options.omegaLearningRate, result.gradNorm,
                                              start, state.step() - first);
            m_log->write({{"type", "loss"},
                          {"phase", "search"},
                          {"step", event.step},
                          {"tokens", event.tokens},
                          {"lm_loss", event.lmLoss},
                          {"pull", result.pullLoss},
                          {"lr", event.learningRate},
                          {"grad_norm", event.gradNorm}});
            m_sink.onLoss(event);
            if (m_spec.checkpointInterval > 0 && m_step % m_spec.checkpointInterval == 0)
                publishSearch(state, "interval");
        }
        if (m_lastCheckpointStep != m_step) publishSearch(state, "phase");
        m_checkpointForCancel = nullptr;
        const SimilarityReport learned = training::learnedSimilarity(state, &*m_run.similarity, m_spec.searchCkaMix);
        m_run.plan = canonicalPlan(planFromSimilarity(learned, *m_spec.budget, m_spec.constraints));
        savePlan(m_run.plan, m_spec.runDir / "plan.json");
        m_run.planPending = false;
        m_log->write({{"type", "plan"}, {"step", m_step}, {"source", "search"}});
        m_sink.onLog({LogLevel::Info, "plan after " + std::to_string(steps) + " search steps: " +
                                          jobs::describePlan(m_run.plan)});
    }

    double fusionLearningRate(int64_t steps, int64_t rampSteps) const {
        if (m_spec.fusionLearningRate > 0) return m_spec.fusionLearningRate;
        const double reach = static_cast<double>(rampSteps) + 0.5 * static_cast<double>(steps - rampSteps);
        return std::clamp(2.0 / std::max(reach, 1.0), 1e-2, 0.5);
    }

    // Plain next-token training of the compact model (4.4): warm-up then cosine decay. A fresh phase first
    // checkpoints the compact model, so a resume never repeats the fusion.
    void continuePretraining(model::Transformer& net, const std::optional<fs::path>& checkpoint) {
        const int64_t steps = m_run.continuedSteps;
        training::AdamW::NamedParameters parameters;
        for (const auto& item : net->named_parameters()) {
            item.value().set_requires_grad(true);
            parameters.emplace_back(item.key(), item.value());
        }
        training::AdamW optimizer(parameters, {0.9, 0.95, 1e-8, m_spec.weightDecay});
        m_progress.phase = ConvertPhase::Continued;
        int64_t done = 0;
        if (checkpoint) {
            optimizer.load(*checkpoint / "optimizer.safetensors");
            done = m_step - m_progress.searchStepsDone - m_progress.fusionStepsDone;
            if (optimizer.stepCount() != done) {
                failInput((*checkpoint / "optimizer.safetensors").string(),
                          "records " + std::to_string(optimizer.stepCount()) +
                              " steps; state.json says the continued phase did " + std::to_string(done));
            }
        }
        m_checkpointForCancel = [&] { publishContinued(net, optimizer, "cancel"); };
        if (!checkpoint) publishContinued(net, optimizer, "phase");
        if (done == 0 && !m_progress.heldOutAfterCollapse) {
            m_progress.heldOutAfterCollapse =
                heldOut(*net, usesLearnedFusion(m_spec.method) ? "collapsed" : "mean-pooled");
        }

        training::LearningRateSchedule schedule;
        schedule.peak = m_spec.continuedPeakLearningRate;
        schedule.min = m_spec.continuedMinLearningRate;
        schedule.warmupSteps = m_spec.continuedWarmupSteps > 0
                                   ? m_spec.continuedWarmupSteps
                                   : std::max<int64_t>(1, std::min<int64_t>(1000, steps / 20));
        schedule.totalSteps = std::max<int64_t>(1, steps);
        const auto start = Clock::now();
        const int64_t first = done;
        for (int64_t k = done + 1; k <= steps; ++k) {
            if (m_cancel.isCancelled()) stopForCancel();
            const double learningRate = schedule.at(k);
            const training::TrainStepResult result =
                training::trainStep(*net, parameters, optimizer, m_sampler.batch(m_step + 1), learningRate,
                                    m_spec.gradientClip, m_spec.dtype == "bf16");
            const LossEvent event =
                stepEvent("continued", result.loss, learningRate, result.gradNorm, start, k - first);
            m_log->write({{"type", "loss"},
                          {"phase", "continued"},
                          {"step", event.step},
                          {"tokens", event.tokens},
                          {"lm_loss", event.lmLoss},
                          {"lr", learningRate},
                          {"grad_norm", event.gradNorm}});
            m_sink.onLoss(event);
            if (m_spec.checkpointInterval > 0 && m_step % m_spec.checkpointInterval == 0)
                publishContinued(net, optimizer, "interval");
        }
        if (m_lastCheckpointStep != m_step) publishContinued(net, optimizer, "final");
        m_checkpointForCancel = nullptr;
        for (const auto& item : net->named_parameters()) item.value().set_requires_grad(false);
    }

    void publishSearch(const training::SearchStageState& state, const char* reason) {
        m_progress.phase = ConvertPhase::Search;
        m_progress.searchStepsDone = m_step;
        publish(reason, [&] {
            return jobs::publishSearchCheckpoint(m_spec.runDir, state, m_progress, m_spec.keepCheckpoints);
        });
    }

    void publishFusion(const training::FusionStageState& state, const char* reason) {
        m_progress.phase = ConvertPhase::Fusion;
        m_progress.fusionStepsDone = state.step();
        publish(reason, [&] {
            return jobs::publishFusionCheckpoint(m_spec.runDir, state, m_progress, m_spec.keepCheckpoints);
        });
    }

    void publishContinued(const model::Transformer& net, const training::AdamW& optimizer, const char* reason) {
        publish(reason, [&] {
            return jobs::publishContinuedCheckpoint(m_spec.runDir, net, optimizer, m_progress,
                                                    m_spec.keepCheckpoints);
        });
    }

    void publish(const char* reason, const std::function<fs::path()>& write) {
        m_progress.step = m_step;
        m_progress.elapsedSeconds = elapsedSeconds();
        m_progress.metricsLines = m_log->lineCount();
        const fs::path directory = write();
        m_lastCheckpointStep = m_step;
        m_log->write({{"type", "checkpoint"}, {"step", m_step}, {"reason", reason}});
        CheckpointEvent event;
        event.step = m_step;
        event.tokens = m_step * m_run.tokensPerStep;
        event.path = directory.string();
        event.reason = reason;
        m_sink.onCheckpoint(event);
    }

    // The heads each layer would need if the groups whose fusion loss has reached the tolerance collapsed
    // now. A group that reached it stays counted as merged: its loss only jitters around the tolerance after
    // that, and a display of merged heads should not flicker.
    void emitFusionKvSavings(const training::FusionStageState& state) {
        std::vector<LayerHeadCount> counts = planHeadCounts();
        for (const conversion::GroupFusionLoss& group : state.fusion().groupLosses()) {
            if (group.size < 2) continue;
            const auto key = std::make_tuple(group.layer, group.kind == HeadKind::Key, group.group);
            if (group.loss <= m_spec.fusionTolerance) m_mergedGroups.insert(key);
            if (m_mergedGroups.count(key) > 0) continue;
            int& heads = group.kind == HeadKind::Key ? counts[group.layer].keyHeads : counts[group.layer].valueHeads;
            heads += group.size - 1;
        }
        if (counts != m_lastFusionCounts) {
            m_lastFusionCounts = counts;
            emitKvSavings("fusion", std::move(counts));
        }
    }

    std::vector<LayerHeadCount> planHeadCounts() const {
        std::vector<LayerHeadCount> counts;
        for (const LayerPlan& layer : m_run.plan.layers) counts.push_back({layer.numKeyHeads(), layer.numValueHeads()});
        return counts;
    }

    void emitKvSavings(const char* phase, std::vector<LayerHeadCount> counts) {
        const int64_t headBytes = int64_t{2} * m_run.source->config().headDim;  // bf16 per head per token
        KvSavingsEvent event;
        event.step = m_step;
        event.phase = phase;
        for (const LayerHeadCount& layer : counts) {
            event.sourceBytesPerToken += headBytes * 2 * m_run.source->config().numQueryHeads;
            event.bytesPerToken += headBytes * (layer.keyHeads + layer.valueHeads);
        }
        event.layers = std::move(counts);
        m_sink.onKvSavings(event);
    }

    void checkCompactModel(const model::Transformer& net, const fs::path& checkpoint) const {
        const ModelConfig& config = net->config();
        bool matches = config.numLayers == m_run.plan.numLayers();
        for (int layer = 0; matches && layer < config.numLayers; ++layer) {
            const HeadLayout& layout = config.layers[layer];
            matches = layout.numKeyHeads == m_run.plan.layers[layer].numKeyHeads() &&
                      layout.numValueHeads == m_run.plan.layers[layer].numValueHeads();
        }
        if (!matches)
            failInput((checkpoint / "config.json").string(), "does not have the head counts of the run's plan.json");
    }

    // Counts the step just done and describes it; the `done` steps of this phase set the pace of the ETA.
    LossEvent stepEvent(const char* phase, double loss, double learningRate, double gradNorm,
                        Clock::time_point phaseStart, int64_t done) {
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
        event.elapsedSeconds = elapsedSeconds();
        event.tokensPerSecond = seconds > 0 ? static_cast<double>(done * m_run.tokensPerStep) / seconds : 0.0;
        // To the run's last step, at this phase's pace so far. Phases' steps cost about the same (on the teacher
        // a fusion step ran at 1558 tokens/s and a continued one at 1736 in the quality benchmark).
        event.etaSeconds = static_cast<double>(event.totalSteps - m_step) * seconds / static_cast<double>(done);
        return event;
    }

    void exportModel(const model::Transformer& net, ConvertReport& report) {
        if (m_cancel.isCancelled()) stopForCancel();
        exporting::ExportOptions options;
        options.cancel = &m_cancel;
        options.card.method = usesLearnedFusion(m_spec.method)
                                  ? std::string("DHA conversion (adaptive heads fusion), method ") +
                                        convertMethodName(m_spec.method)
                                  : std::string("mean-pooled heads, method ") + convertMethodName(m_spec.method);
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
        m_log->write({{"type", "export"}, {"step", m_step}, {"path", "export"}});
        m_sink.onLog({LogLevel::Info, "exported " + result.directory.string()});
    }

    // Checkpoints the phase in progress (unless its step is already checkpointed), then ends the job.
    [[noreturn]] void stopForCancel() {
        if (m_checkpointForCancel && m_lastCheckpointStep != m_step) m_checkpointForCancel();
        fail(ErrorCode::Cancelled, m_spec.runDir.string(),
             "cancelled at step " + std::to_string(m_step) + " of " + std::to_string(totalSteps()) +
                 (m_lastCheckpointStep >= 0 ? "; resume with `dha convert --resume " + m_spec.runDir.string() + "`"
                                            : std::string()));
    }

    const ConvertSpec& m_spec;
    jobs::PreparedConversion& m_run;
    JobSink& m_sink;
    const CancelToken& m_cancel;
    std::optional<training::MetricsLog> m_log;
    training::WindowSampler m_sampler;
    jobs::ConvertProgress m_progress;
    int64_t m_step = 0;  // optimizer steps done, across both phases
    int64_t m_fusionStepsPlanned = 0;
    int64_t m_lastCheckpointStep = -1;
    std::function<void()> m_checkpointForCancel;  // the phase's state, for a cancel
    std::vector<LayerHeadCount> m_lastFusionCounts;
    std::set<std::tuple<int, bool, int>> m_mergedGroups;  // (layer, is key, group) that reached the tolerance
    Clock::time_point m_start = Clock::now();
};

}  // namespace

JobResult<ConvertReport> runConvertJob(const ConvertSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<ConvertReport>([&] {
        jobs::PreparedConversion run = jobs::prepareConversion(spec, sink, cancel);
        ConvertLoop loop(spec, run, sink, cancel);
        return loop.run();
    });
}

}  // namespace dha
