// Appending to and truncating metrics.jsonl.
#include "training/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "dha/error.h"
#include "io/atomic_file.h"

namespace dha::training {

MetricsLog::MetricsLog(const std::filesystem::path& file, int64_t keepThroughStep, int64_t maxLines)
    : m_file(file) {
    std::string kept;
    std::error_code error;
    if (std::filesystem::exists(file, error)) {
        const std::string text = io::readSmallFile(file, size_t{1} << 30);
        size_t begin = 0;
        while (begin < text.size() && m_lines < maxLines) {
            const size_t end = text.find('\n', begin);
            if (end == std::string::npos) break;  // a torn last line
            const std::string line = text.substr(begin, end - begin);
            const nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
            if (!event.is_object() || !event.contains("step") || !event["step"].is_number_integer() ||
                event["step"].get<int64_t>() > keepThroughStep) {
                break;
            }
            kept += line + "\n";
            begin = end + 1;
            ++m_lines;
        }
        if (kept.size() != text.size()) io::writeFileAtomically(file, kept);
    }
    m_stream = std::fopen(file.c_str(), "ab");
    if (!m_stream)
        fail(ErrorCode::Io, file.string(), std::string("cannot open for appending: ") + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
    if (m_stream) std::fclose(m_stream);
}

void MetricsLog::write(const nlohmann::json& event) {
    const std::string line = event.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), m_stream) != line.size() || std::fflush(m_stream) != 0) {
        fail(ErrorCode::Io, m_file.string(), std::string("cannot write: ") + std::strerror(errno));
    }
    ++m_lines;
}

}  // namespace dha::training
