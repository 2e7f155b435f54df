// Pretraining a Llama-style MHA (or GQA) decoder from scratch on a text file: AdamW, warm-up then cosine
// decay, gradient clipping, optional bf16 autocast, a run directory with checkpoints and exact resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dha/job.h"

namespace dha {

// What to train and how. A new run writes everything it needs into runDir/run.json; a resumed run
// (resume = true) must match it (see runPretrainJob).
struct PretrainSpec {
    std::filesystem::path runDir;
    bool resume = false;

    // Data: UTF-8 text, documents separated by blank lines.
    std::filesystem::path trainText;
    std::filesystem::path validationText;  // optional: validation events are skipped without it
    std::filesystem::path tokenizerFile;   // tokenizer.model or tokenizer.json; with initModelDir, optional
                                           // (the model directory's own tokenizer is used)
    // Start from this model directory's weights instead of a random initialisation; the shape fields below
    // are then ignored (the model's config.json rules).
    std::filesystem::path initModelDir;

    // Shape of a new model (Llama conventions).
    int numLayers = 6;
    int hiddenSize = 256;
    int numQueryHeads = 8;
    int numKeyValueHeads = 0;  // 0 = numQueryHeads (MHA)
    int intermediateSize = 0;  // 0 = 8/3 hidden rounded up to a multiple of 32
    double ropeTheta = 10000.0;
    bool tieWordEmbeddings = true;
    double initStd = 0.02;  // transformers' initializer_range

    // Data per step: batchSize windows of contextLength + 1 tokens. A new model's max_position_embeddings is
    // contextLength.
    int contextLength = 256;
    int batchSize = 16;
    // Training length: steps = ceil(trainingTokens / (batchSize x contextLength)); tokens seen = steps x
    // batchSize x contextLength.
    int64_t trainingTokens = 0;

    // Optimizer and schedule: AdamW (decoupled weight decay on matrices, none on norm scales and biases),
    // linear warm-up to peakLearningRate over warmupSteps, cosine decay to minLearningRate at the last step.
    double peakLearningRate = 1e-3;
    double minLearningRate = 1e-4;
    int64_t warmupSteps = 0;  // 0 = 5% of the steps, at most 1000
    double beta1 = 0.9;
    double beta2 = 0.95;
    double adamEpsilon = 1e-8;
    double weightDecay = 0.1;
    double gradientClip = 1.0;  // max global L2 norm; 0 = no clipping
    uint64_t seed = 1;          // weights of a new model and the data order
    // "bf16": bf16 autocast of the forward pass with fp32 master weights, gradients and optimizer state (1.7x
    // faster than "fp32" on this project's 2-core build machine, same loss curve); "fp32": everything fp32.
    std::string dtype = "bf16";

    // Operational settings: may change on resume without changing the training.
    int64_t checkpointEverySteps = 0;     // 0 = only by time
    double checkpointEverySeconds = 600;  // 0 = only by steps
    int keepCheckpoints = 2;              // complete checkpoints kept (>= 1); older ones are deleted
    int64_t validateEverySteps = 250;     // 0 = only at the end
    int64_t validationTokens = 65536;     // predicted tokens per validation; 0 = the whole validation text
};

struct PretrainReport {
    std::filesystem::path runDir;
    std::filesystem::path exportDir;  // runDir/export: config.json, model.safetensors, the tokenizer
    int64_t steps = 0;
    int64_t tokensSeen = 0;       // steps x batch x context
    int64_t resumedFromStep = 0;  // 0 for a run started from scratch
    int64_t parameterCount = 0;
    int64_t trainTokensInText = 0;  // tokens of the tokenized training text
    double finalLoss = 0;           // training loss of the last step
    bool hasValidation = false;
    double validationLoss = 0;  // at the end of training
    double validationPerplexity = 0;
    double validationAccuracy = 0;
    double trainingSeconds = 0;  // whole run, across resumes
    double tokensPerSecond = 0;  // this invocation's training steps
};

// Trains, checkpoints and exports. runDir must not exist (or be empty) for a new run. With resume = true the
// run continues from runDir/checkpoints/latest and is refused (InvalidInput naming the file) when the
// training or validation text, the tokenizer or any training setting differs from run.json; only the token
// budget may grow (the cosine schedule is then recomputed over the new total from the current step).
// Cancelling writes a checkpoint at the last finished step first, then returns Cancelled.
JobResult<PretrainReport> runPretrainJob(const PretrainSpec& spec, JobSink& sink, const CancelToken& cancel);

// The spec recorded in runDir/run.json, with resume = true: what `dha pretrain --resume RUN` starts from.
JobResult<PretrainSpec> readPretrainSpec(const std::filesystem::path& runDir);

}  // namespace dha
