// Shared planner constraint options of `dha plan`, `dha convert` and `dha baseline`.
#include "plan_options.h"

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dha::cli {
namespace {

std::vector<int> parseIntList(const std::string& text, const std::string& option) {
    std::vector<int> values;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        try {
            size_t used = 0;
            const int value = std::stoi(item, &used);
            if (used != item.size() || value < 0) throw std::invalid_argument(item);
            values.push_back(value);
        } catch (const std::exception&) {
            throw UsageError(option + " takes comma-separated layer numbers (got '" + text + "')");
        }
    }
    return values;
}

// "3k=2,3v=4": layer 3 keeps 2 key heads and 4 value heads.
std::vector<FixedCount> parseFixedCounts(const std::string& text) {
    std::vector<FixedCount> fixed;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        const size_t kindAt = item.find_first_of("kvKV");
        const size_t equalsAt = item.find('=');
        try {
            if (kindAt == std::string::npos || kindAt == 0 || equalsAt != kindAt + 1)
                throw std::invalid_argument("");
            size_t usedLayer = 0, usedHeads = 0;
            FixedCount count;
            count.layer = std::stoi(item.substr(0, kindAt), &usedLayer);
            count.kind = (item[kindAt] == 'k' || item[kindAt] == 'K') ? HeadKind::Key : HeadKind::Value;
            const std::string heads = item.substr(equalsAt + 1);
            count.heads = std::stoi(heads, &usedHeads);
            if (usedLayer != kindAt || usedHeads != heads.size() || count.layer < 0 || count.heads < 1)
                throw std::invalid_argument("");
            fixed.push_back(count);
        } catch (const std::exception&) {
            throw UsageError(
                "--fix takes LAYERk=N or LAYERv=N items separated by commas, e.g. 3k=2,3v=4 (got '" + item +
                "')");
        }
    }
    return fixed;
}

}  // namespace

void addPlanConstraintOptions(ArgParser& args) {
    args.addOption("min-heads", "N", "fewest key (value) heads a layer keeps", "1");
    args.addOption("max-heads", "N", "most key (value) heads a layer keeps; 0 = all", "0");
    args.addOption("fix", "LIST", "fixed counts, e.g. 3k=2,3v=4 (layer 3 keeps 2 key and 4 value heads)");
    args.addOption("lock", "LAYERS", "comma-separated layers that keep all their heads");
    args.addFlag("tie-kv", "the same grouping for keys and values in every layer");
    args.addFlag("uniform",
                 "the same head count in every layer, for keys and values (groups still by similarity)");
}

PlanConstraints planConstraintsFromArgs(const ArgParser& args) {
    PlanConstraints constraints;
    constraints.minHeads = static_cast<int>(args.intValue("min-heads", 1, 1 << 16));
    constraints.maxHeads = static_cast<int>(args.intValue("max-heads", 0, 1 << 16));
    if (args.has("fix")) constraints.fixed = parseFixedCounts(args.value("fix"));
    if (args.has("lock")) constraints.lockedLayers = parseIntList(args.value("lock"), "--lock");
    constraints.tieKeyValue = args.flag("tie-kv");
    constraints.uniform = args.flag("uniform");
    return constraints;
}

bool hasPlanConstraints(const ArgParser& args) {
    return args.has("min-heads") || args.has("max-heads") || args.has("fix") || args.has("lock") ||
           args.flag("tie-kv") || args.flag("uniform");
}

}  // namespace dha::cli
