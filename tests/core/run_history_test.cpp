// Run directories read back: summaries of finished, resumable, new and broken runs, the loss history equal to
// what metrics.jsonl holds, torn last lines ignored, malformed lines named by number, long files read by tail.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dha/run_history.h"
#include "jobs/convert_spec.h"
#include "test_registry.h"

using namespace dha;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

void writeText(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream stream(file, std::ios::binary);
    stream << text;
}

// A conversion's run.json as convert_setup writes it, with 2 search, 4 fusion and 3 continued steps.
void writeConvertRunJson(const fs::path& runDir, ConvertMethod method) {
    ConvertSpec spec;
    spec.sourceModelDir = "/models/source";
    spec.trainText = "/data/train.txt";
    spec.method = method;
    spec.budget = Budget::ofFraction(0.25);
    const Json json = {{"format", "dha-convert-run"},  {"format_version", 2},
                       {"spec", jobs::convertSpecToJson(spec)}, {"tokens_per_step", 64},
                       {"search_steps", 2},             {"fusion_steps", 4},
                       {"continued_steps", 3}};
    writeText(runDir / "run.json", json.dump(2) + "\n");
}

Json lossLine(int64_t step, const std::string& phase) {
    Json line = {{"type", "loss"},          {"phase", phase},       {"step", step}, {"tokens", step * 64},
                 {"lm_loss", 4.0 - 0.1 * static_cast<double>(step)}, {"lr", 1e-4 * static_cast<double>(step)},
                 {"grad_norm", 0.5 + static_cast<double>(step)}};
    if (phase == "fusion") line["fusion_loss"] = 10.0 / static_cast<double>(step);
    return line;
}

Json validationLine(int64_t step, const std::string& model, double loss) {
    return {{"type", "validation"}, {"model", model},           {"step", step},          {"tokens", step * 64},
            {"loss", loss},         {"perplexity", std::exp(loss)}, {"accuracy", 0.25}, {"predicted_tokens", 1000}};
}

// The lines of a whole conversion through step `lastStep` (1-9), as convert_job writes them.
std::vector<Json> conversionLines(int64_t lastStep) {
    std::vector<Json> lines = {validationLine(0, "source", 3.5)};
    for (int64_t step = 1; step <= lastStep; ++step) {
        lines.push_back(lossLine(step, step <= 2 ? "search" : step <= 6 ? "fusion" : "continued"));
        if (step == 2) lines.push_back({{"type", "plan"}, {"step", 2}, {"source", "search"}});
        if (step == 6) {
            lines.push_back(validationLine(6, "fused", 3.9));
            lines.push_back({{"type", "checkpoint"}, {"step", 6}, {"reason", "phase"}});
            lines.push_back(validationLine(6, "collapsed", 3.8));
        }
    }
    return lines;
}

void writeMetrics(const fs::path& runDir, const std::vector<Json>& lines, const std::string& tail = "") {
    std::string text;
    for (const Json& line : lines) text += line.dump() + "\n";
    writeText(runDir / "metrics.jsonl", text + tail);
}

void writeCheckpoint(const fs::path& runDir, int64_t step) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(step));
    fs::create_directories(runDir / "checkpoints" / name);
    writeText(runDir / "checkpoints" / "latest", std::string(name) + "\n");
}

fs::path finishedRun(const fs::path& runDir) {
    writeConvertRunJson(runDir, ConvertMethod::Dha);
    std::vector<Json> lines = conversionLines(9);
    lines.push_back({{"type", "checkpoint"}, {"step", 9}, {"reason", "final"}});
    lines.push_back(validationLine(9, "continued", 3.6));
    lines.push_back({{"type", "export"}, {"step", 9}, {"path", "export"}});
    writeMetrics(runDir, lines);
    writeCheckpoint(runDir, 9);
    fs::create_directories(runDir / "export");
    return runDir;
}

}  // namespace

class RunHistoryTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void summarisesFinishedRun();
    void summarisesResumableRunIgnoringTornLine();
    void summarisesRunWithoutCheckpointAsNew();
    void summarisesRunRecordedBeforeTheSearch();
    void summarisesBrokenRuns_data();
    void summarisesBrokenRuns();
    void historyEqualsWrittenEvents();
    void malformedLineIsNamedByNumber_data();
    void malformedLineIsNamedByNumber();
    void longLineIsRefused();
    void longFileIsSummarisedFromItsTail();
    void listsRunsSortedByName();

private:
    QTemporaryDir m_dir;
    fs::path dir(const char* name) const { return fs::path(m_dir.path().toStdString()) / name; }
};

void RunHistoryTest::summarisesFinishedRun() {
    const RunSummary summary = summariseRun(finishedRun(dir("finished")));
    QCOMPARE(summary.state, std::string("finished"));
    QVERIFY2(summary.error.empty(), summary.error.c_str());
    QCOMPARE(summary.name, std::string("finished"));
    QCOMPARE(summary.kind, std::string("convert"));
    QCOMPARE(summary.method, std::string("dha"));
    QCOMPARE(summary.budget, std::string("25%"));
    QCOMPARE(summary.stepsDone, int64_t{9});
    QCOMPARE(summary.totalSteps, int64_t{9});
    QCOMPARE(summary.tokensDone, int64_t{9 * 64});
    QCOMPARE(summary.checkpointStep, int64_t{9});
    QCOMPARE(summary.phase, std::string("continued"));
    QVERIFY(summary.lastLmLoss.has_value());
    QCOMPARE(*summary.lastLmLoss, 4.0 - 0.9);
    QVERIFY(summary.sourceHeldOut.has_value());
    QCOMPARE(*summary.sourceHeldOut, 3.5);
    QVERIFY(summary.finalHeldOut.has_value());
    QCOMPARE(*summary.finalHeldOut, 3.6);
}

void RunHistoryTest::summarisesResumableRunIgnoringTornLine() {
    const fs::path runDir = dir("resumable");
    writeConvertRunJson(runDir, ConvertMethod::GqaMeanPool);
    writeMetrics(runDir, conversionLines(7), R"({"type":"loss","phase":"contin)");  // killed mid-write
    writeCheckpoint(runDir, 6);
    const RunSummary summary = summariseRun(runDir);
    QCOMPARE(summary.state, std::string("resumable"));
    QCOMPARE(summary.method, std::string("gqa"));
    QCOMPARE(summary.stepsDone, int64_t{7});
    QCOMPARE(summary.totalSteps, int64_t{9});
    QCOMPARE(summary.checkpointStep, int64_t{6});
    QVERIFY(!summary.finalHeldOut.has_value());
    const RunHistory history = loadRunHistory(runDir);
    QCOMPARE(history.losses.size(), size_t{7});
    QCOMPARE(history.losses.back().step, int64_t{7});
    QVERIFY(!history.exported);
}

void RunHistoryTest::summarisesRunWithoutCheckpointAsNew() {
    const fs::path runDir = dir("new");
    writeConvertRunJson(runDir, ConvertMethod::Dha);
    const RunSummary summary = summariseRun(runDir);  // no metrics.jsonl yet
    QCOMPARE(summary.state, std::string("new"));
    QCOMPARE(summary.stepsDone, int64_t{0});
    QVERIFY(!summary.lastLmLoss.has_value());
    QVERIFY(loadRunHistory(runDir).losses.empty());
}

void RunHistoryTest::summarisesRunRecordedBeforeTheSearch() {
    // Runs written before the search existed have no search_steps in run.json (the engine reads them too).
    const fs::path runDir = finishedRun(dir("before-search"));
    Json json = Json::parse(std::ifstream(runDir / "run.json"));
    json.erase("search_steps");
    writeText(runDir / "run.json", json.dump());
    fs::remove_all(runDir / "export");
    const RunSummary summary = summariseRun(runDir);
    QVERIFY2(summary.error.empty(), summary.error.c_str());
    QCOMPARE(summary.totalSteps, int64_t{7});
}

void RunHistoryTest::summarisesBrokenRuns_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("namedFile");
    QTest::newRow("run.json not JSON") << "run-json-syntax" << "run.json";
    QTest::newRow("run.json of another tool") << "run-json-format" << "run.json";
    QTest::newRow("run.json without steps") << "run-json-steps" << "run.json";
    QTest::newRow("latest names nothing") << "latest-missing" << "latest";
    QTest::newRow("latest garbage") << "latest-garbage" << "latest";
    QTest::newRow("last complete line malformed") << "metrics-tail" << "metrics.jsonl";
}

void RunHistoryTest::summarisesBrokenRuns() {
    QFETCH(QString, damage);
    QFETCH(QString, namedFile);
    const fs::path runDir = finishedRun(dir(("broken-" + damage).toStdString().c_str()));
    if (damage == "run-json-syntax") writeText(runDir / "run.json", "{\"format\": \"dha-convert-run\",");
    if (damage == "run-json-format") writeText(runDir / "run.json", R"({"format": "something-else"})");
    if (damage == "run-json-steps") {
        Json json = Json::parse(std::ifstream(runDir / "run.json"));
        json.erase("fusion_steps");
        writeText(runDir / "run.json", json.dump());
    }
    if (damage == "latest-missing") writeText(runDir / "checkpoints" / "latest", "step-000042\n");
    if (damage == "latest-garbage") writeText(runDir / "checkpoints" / "latest", "../../etc\n");
    if (damage == "metrics-tail") {
        std::ofstream(runDir / "metrics.jsonl", std::ios::app) << "{\"type\": \"loss\", \"step\": 10}\n";
    }
    const RunSummary summary = summariseRun(runDir);
    QCOMPARE(summary.state, std::string("unreadable"));
    QVERIFY2(summary.error.find(namedFile.toStdString()) != std::string::npos, summary.error.c_str());
    QCOMPARE(summary.name, runDir.filename().string());
}

void RunHistoryTest::historyEqualsWrittenEvents() {
    const fs::path runDir = finishedRun(dir("history"));
    const RunHistory history = loadRunHistory(runDir);
    QCOMPARE(history.losses.size(), size_t{9});
    for (size_t i = 0; i < history.losses.size(); ++i) {
        const auto step = static_cast<int64_t>(i + 1);
        const Json expected = lossLine(step, step <= 2 ? "search" : step <= 6 ? "fusion" : "continued");
        const LossEvent& event = history.losses[i];
        QCOMPARE(event.step, step);
        QCOMPARE(event.tokens, step * 64);
        QCOMPARE(event.phase, expected["phase"].get<std::string>());
        QCOMPARE(event.lmLoss, expected["lm_loss"].get<double>());
        QCOMPARE(event.learningRate, expected["lr"].get<double>());
        QCOMPARE(event.gradNorm, expected["grad_norm"].get<double>());
        QCOMPARE(event.fusionLoss, expected.contains("fusion_loss") ? expected["fusion_loss"].get<double>() : 0.0);
    }
    QCOMPARE(history.validations.size(), size_t{4});
    QCOMPARE(history.validationModels,
             (std::vector<std::string>{"source", "fused", "collapsed", "continued"}));
    QCOMPARE(history.validations[1].step, int64_t{6});
    QCOMPARE(history.validations[1].loss, 3.9);
    QCOMPARE(history.validations[1].predictedTokens, int64_t{1000});
    QCOMPARE(history.checkpoints.size(), size_t{2});
    QCOMPARE(history.checkpoints[1].reason, std::string("final"));
    QVERIFY(history.exported);
}

void RunHistoryTest::malformedLineIsNamedByNumber_data() {
    QTest::addColumn<QString>("line");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not JSON") << "{\"type\": \"loss\", " << "line 3 is not a JSON object";
    QTest::newRow("array") << "[1, 2]" << "line 3 is not a JSON object";
    QTest::newRow("no type") << "{\"step\": 1}" << "line 3 has no string \"type\"";
    QTest::newRow("loss without step") << "{\"type\": \"loss\", \"tokens\": 1, \"lm_loss\": 2}" << "line 3 has no \"step\"";
    QTest::newRow("negative step") << "{\"type\": \"loss\", \"step\": -1, \"tokens\": 1, \"lm_loss\": 2}" << "line 3";
    QTest::newRow("loss as text")
        << "{\"type\": \"loss\", \"step\": 1, \"tokens\": 1, \"lm_loss\": \"low\"}" << "line 3 \"lm_loss\"";
    QTest::newRow("validation without loss")
        << "{\"type\": \"validation\", \"step\": 1, \"tokens\": 1}" << "line 3 has no \"loss\"";
}

void RunHistoryTest::malformedLineIsNamedByNumber() {
    QFETCH(QString, line);
    QFETCH(QString, expected);
    const fs::path runDir = dir("malformed");
    writeConvertRunJson(runDir, ConvertMethod::Dha);
    const std::vector<Json> good = conversionLines(4);
    writeMetrics(runDir, {good[0], good[1]}, line.toStdString() + "\n" + good[2].dump() + "\n");
    try {
        loadRunHistory(runDir);
        QFAIL("a malformed line was accepted");
    } catch (const Exception& exception) {
        QCOMPARE(exception.error().code, ErrorCode::InvalidInput);
        QCOMPARE(exception.error().path, (runDir / "metrics.jsonl").string());
        QVERIFY2(exception.error().message.find(expected.toStdString()) != std::string::npos,
                 exception.error().message.c_str());
    }
}

void RunHistoryTest::longLineIsRefused() {
    const fs::path runDir = dir("long-line");
    writeConvertRunJson(runDir, ConvertMethod::Dha);
    writeMetrics(runDir, conversionLines(2), std::string(2 << 20, ' ') + "\n");  // after 4 good lines
    try {
        loadRunHistory(runDir);
        QFAIL("a 2 MiB line was accepted");
    } catch (const Exception& exception) {
        QVERIFY2(exception.error().message.find("line 5 is longer than 1 MiB") != std::string::npos,
                 exception.error().message.c_str());
    }
}

void RunHistoryTest::longFileIsSummarisedFromItsTail() {
    // ~500 kB: the summary reads only the head and the last 256 kB, starting mid-line.
    const fs::path runDir = dir("long-file");
    writeConvertRunJson(runDir, ConvertMethod::Dha);
    std::vector<Json> lines = {validationLine(0, "source", 3.25)};
    for (int64_t step = 1; step <= 3000; ++step) lines.push_back(lossLine(step, "continued"));
    writeMetrics(runDir, lines);
    writeCheckpoint(runDir, 3000);
    QVERIFY(fs::file_size(runDir / "metrics.jsonl") > (300u << 10));
    const RunSummary summary = summariseRun(runDir);
    QVERIFY2(summary.error.empty(), summary.error.c_str());
    QCOMPARE(summary.stepsDone, int64_t{3000});
    QCOMPARE(*summary.lastLmLoss, 4.0 - 300.0);
    QCOMPARE(*summary.sourceHeldOut, 3.25);
    const RunHistory history = loadRunHistory(runDir);
    QCOMPARE(history.losses.size(), size_t{3000});
    for (size_t i = 0; i < history.losses.size(); ++i) QCOMPARE(history.losses[i].step, static_cast<int64_t>(i + 1));
}

void RunHistoryTest::listsRunsSortedByName() {
    const fs::path folder = dir("runs");
    finishedRun(folder / "b-finished");
    writeConvertRunJson(folder / "a-new", ConvertMethod::CkaGqaMeanPool);
    writeText(folder / "c-broken" / "run.json", "not json");
    fs::create_directories(folder / "not-a-run");
    writeText(folder / "stray.txt", "x");
    const std::vector<RunSummary> runs = listRuns(folder);
    QCOMPARE(runs.size(), size_t{3});
    QCOMPARE(runs[0].name, std::string("a-new"));
    QCOMPARE(runs[0].method, std::string("cka-gqa"));
    QCOMPARE(runs[1].state, std::string("finished"));
    QCOMPARE(runs[2].state, std::string("unreadable"));
    QVERIFY(listRuns(dir("no-such-folder")).empty());
}

DHA_TEST_SUITE(RunHistoryTest)
#include "run_history_test.moc"
