// `dha init`: a randomly initialised Llama-style model directory, published atomically.
#include <filesystem>
#include <random>

#include "dha/model_init.h"
#include "io/atomic_file.h"
#include "jobs/job_boundary.h"
#include "model/model_writer.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "training/model_initialisation.h"

namespace dha {
namespace {

namespace fs = std::filesystem;
using training::buildModelConfig;
using training::copyFileInto;
using training::initialiseWeights;
using training::loadTokenizerFile;
using training::storedDtype;
using training::tokenizerFileName;

InitModelReport initModel(const InitModelSpec& spec, JobSink& sink) {
    const fs::path out = spec.outputDir;
    if (out.empty()) fail(ErrorCode::Usage, "OUT", "no output directory given");
    std::error_code error;
    if (fs::exists(out, error) && !(fs::is_directory(out) && fs::is_empty(out))) {
        failInput(out.string(), "already exists and is not an empty directory", "choose a new directory");
    }
    const io::DType dtype = storedDtype(spec.dtype);
    const std::unique_ptr<tok::Tokenizer> tokenizer = loadTokenizerFile(spec.tokenizerFile);
    const ModelConfig config = buildModelConfig(spec, *tokenizer);

    model::Transformer model(config);
    initialiseWeights(model, spec.seed, spec.initStd);

    // Build the directory beside its final place and rename it in, so an interrupted init leaves nothing.
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fs::create_directories(parent);
    const fs::path staging = parent / ("." + out.filename().string() + ".tmp-" + std::to_string(std::random_device{}()));
    try {
        model::saveModel(staging, config, model, dtype);
        copyFileInto(spec.tokenizerFile, staging / tokenizerFileName(spec.tokenizerFile));
        if (fs::exists(out)) fs::remove(out);  // an empty directory, checked above
        fs::rename(staging, out);
    } catch (...) {
        fs::remove_all(staging, error);
        throw;
    }
    sink.onLog({LogLevel::Info, "wrote " + out.string()});

    InitModelReport report;
    report.outputDir = out;
    report.parameterCount = model->parameterCount();
    report.vocabSize = config.vocabSize;
    return report;
}

}  // namespace

JobResult<InitModelReport> runInitModelJob(const InitModelSpec& spec, JobSink& sink) {
    return jobs::runGuarded<InitModelReport>([&] { return initModel(spec, sink); });
}

}  // namespace dha
