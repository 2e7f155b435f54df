// metrics.jsonl of a run: one JSON object per line, flushed as written, so a crash loses at most a torn last
// line; a resume first cuts it back to the checkpoint it continues from.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace dha::training {

class MetricsLog {
public:
    // Opens runDir/metrics.jsonl for appending after keeping only the leading lines whose "step" is at most
    // keepThroughStep (a torn or unreadable line ends what is kept). A missing file starts empty.
    MetricsLog(const std::filesystem::path& file, int64_t keepThroughStep);
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;

    void write(const nlohmann::json& event);  // one line, flushed to the operating system

private:
    std::filesystem::path m_file;
    std::FILE* m_stream = nullptr;
};

}  // namespace dha::training
