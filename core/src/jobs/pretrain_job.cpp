// `dha pretrain`: the training loop of a run directory, with validation, checkpoints, cancel and export.
#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "dha/pretraining.h"
#include "jobs/job_boundary.h"
#include "jobs/pretrain_setup.h"
#include "model/held_out_eval.h"
#include "model/model_writer.h"
#include "training/metrics_log.h"
#include "training/model_initialisation.h"
#include "training/token_data.h"
#include "training/train_step.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using Clock = jobs::JobClock;
using jobs::secondsSince;

// The run in progress: prepared state plus this invocation's clocks and outputs.
class PretrainLoop {
public:
    PretrainLoop(jobs::PreparedRun& run, JobSink& sink, const CancelToken& cancel)
        : m_run(run),
          m_spec(run.record.spec),
          m_sink(sink),
          m_cancel(cancel),
          m_log(run.record.spec.runDir / "metrics.jsonl", run.state.step),
          m_sampler(run.trainTokens, run.record.spec.contextLength + 1, run.record.spec.batchSize,
                    run.record.spec.seed),
          m_lastCheckpointStep(run.resumed ? run.state.step : -1),
          m_elapsedAtStart(run.state.elapsedSeconds) {
        m_schedule.peak = m_spec.peakLearningRate;
        m_schedule.min = m_spec.minLearningRate;
        m_schedule.warmupSteps = m_spec.warmupSteps;
        m_schedule.totalSteps = run.record.totalSteps;
        recordSchedule();
        if (run.resumed) {
            m_log.write({{"type", "resume"},
                         {"step", run.state.step},
                         {"tokens", run.state.tokensSeen},
                         {"time_s", run.state.elapsedSeconds}});
        }
    }

    PretrainReport run() {
        training::TrainingState& state = m_run.state;
        const int64_t total = m_run.record.totalSteps;
        const int64_t startStep = state.step;
        while (state.step < total) {
            if (m_cancel.isCancelled()) stopForCancel();
            trainOneStep();
            const bool last = state.step == total;
            if (!last && m_spec.validateEverySteps > 0 && state.step % m_spec.validateEverySteps == 0)
                validate();
            if (!last && checkpointDue())
                checkpoint(m_spec.checkpointEverySteps > 0 && state.step % m_spec.checkpointEverySteps == 0
                               ? "interval"
                               : "time");
        }
        // A resumed run that had already finished only exports again; its final validation is in the log.
        const bool alreadyFinished = m_run.resumed && startStep == total;
        if (m_run.validationTokens.defined() && m_lastValidationStep != state.step)
            validate(!alreadyFinished);
        if (m_lastCheckpointStep != state.step) checkpoint("final");
        const fs::path exportDir = exportModel();

        PretrainReport report;
        report.runDir = m_spec.runDir;
        report.exportDir = exportDir;
        report.steps = state.step;
        report.tokensSeen = state.tokensSeen;
        report.resumedFromStep = m_run.resumed ? startStep : 0;
        report.parameterCount = m_run.model->parameterCount();
        report.trainTokensInText = static_cast<int64_t>(m_run.trainTokens.size());
        report.finalLoss = state.lastLoss;
        report.hasValidation = m_lastValidationStep == state.step;
        report.validationLoss = m_lastValidation.meanLoss();
        report.validationPerplexity = std::exp(m_lastValidation.meanLoss());
        report.validationAccuracy = m_lastValidation.accuracy();
        report.trainingSeconds = elapsed();
        report.tokensPerSecond = m_stepSeconds > 0 ? static_cast<double>(m_stepTokens) / m_stepSeconds : 0.0;
        return report;
    }

private:
    void recordSchedule() {
        training::TrainingState& state = m_run.state;
        state.totalSteps = m_run.record.totalSteps;
        state.warmupSteps = m_spec.warmupSteps;
        state.peakLearningRate = m_spec.peakLearningRate;
        state.minLearningRate = m_spec.minLearningRate;
        state.seed = m_spec.seed;
        state.dataTokens = static_cast<int64_t>(m_run.trainTokens.size());
    }

    double elapsed() const { return m_elapsedAtStart + secondsSince(m_sessionStart); }

    void trainOneStep() {
        training::TrainingState& state = m_run.state;
        const int64_t step = state.step + 1;
        const double learningRate = m_schedule.at(step);
        const at::Tensor batch = m_sampler.batch(step);  // [batch, context + 1]
        const auto start = Clock::now();
        const training::TrainStepResult result =
            training::trainStep(*m_run.model, m_run.parameters, *m_run.optimizer, batch, learningRate,
                                m_spec.gradientClip, m_spec.dtype == "bf16");
        const double seconds = secondsSince(start);
        state.step = step;
        state.tokensSeen = step * m_run.record.tokensPerStep;
        state.learningRate = learningRate;
        state.lastLoss = result.loss;
        state.elapsedSeconds = elapsed();
        m_stepSeconds += seconds;
        m_stepTokens += m_run.record.tokensPerStep;
        // Smoothed step time for the rate and ETA: steady within ~20 steps, yet quick to follow a busy
        // machine.
        m_smoothedStepSeconds =
            m_smoothedStepSeconds > 0 ? 0.9 * m_smoothedStepSeconds + 0.1 * seconds : seconds;

        LossEvent event;
        event.step = step;
        event.totalSteps = m_run.record.totalSteps;
        event.tokens = state.tokensSeen;
        event.totalTokens = m_run.record.totalSteps * m_run.record.tokensPerStep;
        event.lmLoss = result.loss;
        event.learningRate = learningRate;
        event.gradNorm = result.gradNorm;
        event.tokensPerSecond = static_cast<double>(m_run.record.tokensPerStep) / m_smoothedStepSeconds;
        event.elapsedSeconds = state.elapsedSeconds;
        event.etaSeconds = static_cast<double>(event.totalSteps - step) * m_smoothedStepSeconds;
        m_log.write({{"type", "loss"},
                     {"step", step},
                     {"tokens", event.tokens},
                     {"lm_loss", event.lmLoss},
                     {"lr", learningRate},
                     {"grad_norm", event.gradNorm},
                     {"tokens_per_second", event.tokensPerSecond},
                     {"time_s", event.elapsedSeconds}});
        m_sink.onLoss(event);
    }

    void validate(bool logIt = true) {
        if (!m_run.validationTokens.defined()) return;
        training::TrainingState& state = m_run.state;
        model::HeldOutResult result;
        try {
            result =
                model::evaluateHeldOut(*m_run.model, m_run.validationTokens, m_spec.contextLength,
                                       m_spec.batchSize, m_spec.validationTokens, m_cancel, "validation");
        } catch (const Exception& exception) {
            if (exception.error().code == ErrorCode::Cancelled) stopForCancel();
            throw;
        }
        m_lastValidation = result;
        m_lastValidationStep = state.step;
        if (!state.bestValidationLoss || result.meanLoss() < *state.bestValidationLoss) {
            state.bestValidationLoss = result.meanLoss();
            state.bestValidationStep = state.step;
        }
        ValidationEvent event;
        event.step = state.step;
        event.tokens = state.tokensSeen;
        event.loss = result.meanLoss();
        event.perplexity = std::exp(event.loss);
        event.accuracy = result.accuracy();
        event.predictedTokens = result.predictedTokens;
        if (!logIt) return;
        m_log.write({{"type", "validation"},
                     {"step", event.step},
                     {"tokens", event.tokens},
                     {"loss", event.loss},
                     {"perplexity", event.perplexity},
                     {"accuracy", event.accuracy},
                     {"predicted_tokens", event.predictedTokens},
                     {"time_s", elapsed()}});
        m_sink.onValidation(event);
    }

    bool checkpointDue() const {
        const int64_t step = m_run.state.step;
        if (m_spec.checkpointEverySteps > 0 && step % m_spec.checkpointEverySteps == 0) return true;
        return m_spec.checkpointEverySeconds > 0 &&
               secondsSince(m_lastCheckpointTime) >= m_spec.checkpointEverySeconds;
    }

    void checkpoint(const char* reason) {
        training::TrainingState& state = m_run.state;
        state.elapsedSeconds = elapsed();
        const fs::path directory =
            training::publishCheckpoint(m_spec.runDir, m_run.record.modelConfig, m_run.model,
                                        *m_run.optimizer, state, m_spec.keepCheckpoints);
        m_lastCheckpointStep = state.step;
        m_lastCheckpointTime = Clock::now();
        const std::string relative = fs::relative(directory, m_spec.runDir).string();
        m_log.write({{"type", "checkpoint"},
                     {"step", state.step},
                     {"tokens", state.tokensSeen},
                     {"path", relative},
                     {"reason", reason},
                     {"time_s", state.elapsedSeconds}});
        m_sink.onCheckpoint({state.step, state.tokensSeen, directory.string(), reason});
    }

    // Cancel: keep what was learned since the last checkpoint, then report Cancelled.
    [[noreturn]] void stopForCancel() {
        const int64_t step = m_run.state.step;
        if (step > 0 && m_lastCheckpointStep != step) checkpoint("cancel");
        fail(ErrorCode::Cancelled, m_spec.runDir.string(),
             "cancelled at step " + std::to_string(step) + " of " + std::to_string(m_run.record.totalSteps) +
                 (step > 0 ? " (checkpoint written; continue with --resume)" : ""));
    }

    // runDir/export: a Hugging Face model directory (config.json, model.safetensors, the tokenizer), replaced
    // as a whole.
    fs::path exportModel() {
        const fs::path target = m_spec.runDir / "export";
        const fs::path staging = m_spec.runDir / (".export.tmp-" + std::to_string(std::random_device{}()));
        std::error_code error;
        try {
            model::saveModel(staging, m_run.record.modelConfig, m_run.model, io::DType::F32);
            training::copyFileInto(m_spec.tokenizerFile,
                                   staging / training::tokenizerFileName(m_spec.tokenizerFile));
            fs::remove_all(target);
            fs::rename(staging, target);
        } catch (...) {
            fs::remove_all(staging, error);
            throw;
        }
        m_log.write(
            {{"type", "export"}, {"step", m_run.state.step}, {"path", "export"}, {"time_s", elapsed()}});
        m_sink.onLog({LogLevel::Info, "exported " + target.string()});
        return target;
    }

    jobs::PreparedRun& m_run;
    const PretrainSpec& m_spec;
    JobSink& m_sink;
    const CancelToken& m_cancel;
    training::MetricsLog m_log;
    training::WindowSampler m_sampler;
    training::LearningRateSchedule m_schedule;
    int64_t m_lastCheckpointStep;
    int64_t m_lastValidationStep = -1;
    model::HeldOutResult m_lastValidation;
    double m_elapsedAtStart;
    Clock::time_point m_sessionStart = Clock::now();
    Clock::time_point m_lastCheckpointTime = Clock::now();
    double m_stepSeconds = 0;
    int64_t m_stepTokens = 0;
    double m_smoothedStepSeconds = 0;
};

PretrainReport pretrain(const PretrainSpec& spec, JobSink& sink, const CancelToken& cancel) {
    jobs::checkPretrainSpec(spec);
    jobs::PreparedRun run = jobs::prepareRun(spec, sink, cancel);
    const training::RunRecord& record = run.record;
    sink.onLog({LogLevel::Info, std::to_string(run.model->parameterCount()) + " parameters, " +
                                    std::to_string(run.trainTokens.size()) +
                                    " training tokens in the text; " + std::to_string(record.totalSteps) +
                                    " steps of " + std::to_string(record.spec.batchSize) + " x " +
                                    std::to_string(record.spec.contextLength) + " tokens (" +
                                    record.spec.dtype + ")"});
    PretrainLoop loop(run, sink, cancel);
    return loop.run();
}

}  // namespace

JobResult<PretrainReport> runPretrainJob(const PretrainSpec& spec, JobSink& sink, const CancelToken& cancel) {
    return jobs::runGuarded<PretrainReport>([&] { return pretrain(spec, sink, cancel); });
}

JobResult<PretrainSpec> readPretrainSpec(const fs::path& runDir) {
    return jobs::runGuarded<PretrainSpec>([&] { return training::readRunRecord(runDir).spec; });
}

}  // namespace dha
