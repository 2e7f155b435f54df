// metrics.jsonl of a run: one JSON object per line, flushed as written, so a crash loses at most a torn last
// line; a resume first cuts it back to the checkpoint it continues from.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

namespace dha::training {

class MetricsLog {
public:
    // Opens runDir/metrics.jsonl for appending after keeping only the leading lines whose "step" is at most
    // keepThroughStep, and at most maxLines of them (a torn or unreadable line ends what is kept). A missing
    // file starts empty. A checkpoint that records lineCount() can thus cut the log back to exactly the
    // events written before it, including those of its own step.
    MetricsLog(const std::filesystem::path& file, int64_t keepThroughStep,
               int64_t maxLines = std::numeric_limits<int64_t>::max());
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;

    void write(const nlohmann::json& event);  // one line, flushed to the operating system
    int64_t lineCount() const { return m_lines; }  // lines in the file: kept ones plus those written

private:
    std::filesystem::path m_file;
    std::FILE* m_stream = nullptr;
    int64_t m_lines = 0;
};

}  // namespace dha::training
