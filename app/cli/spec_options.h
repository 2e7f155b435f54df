// Declarative command options bound to a spec's members: one table gives each option's name, help text and
// default (the engine's own, shown in --help) and how its value lands in the spec. `dha pretrain`, `dha
// convert` and `dha baseline` build their option lists from it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "arg_parser.h"

namespace dha::cli {

// "0.0001" style defaults for --help: %g, so 1e-4 prints as it is usually written.
inline std::string shortNumber(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

template <typename Spec>
struct SpecOption {
    const char* name;
    const char* valueName;
    std::string help;
    std::string defaultValue;
    std::function<void(const ArgParser&, Spec&)> apply;
};

// Appliers that parse an option with ArgParser's range checks into one member of the spec.
template <typename Spec>
struct SpecBinder {
    static std::function<void(const ArgParser&, Spec&)> integer(const char* name, int Spec::*member, int64_t min,
                                                                 int64_t max) {
        return [=](const ArgParser& args, Spec& spec) {
            spec.*member = static_cast<int>(args.intValue(name, min, max));
        };
    }
    static std::function<void(const ArgParser&, Spec&)> number(const char* name, double Spec::*member, double min,
                                                                double max) {
        return [=](const ArgParser& args, Spec& spec) { spec.*member = args.doubleValue(name, min, max); };
    }
    static std::function<void(const ArgParser&, Spec&)> count(const char* name, int64_t Spec::*member,
                                                               int64_t min) {
        return [=](const ArgParser& args, Spec& spec) { spec.*member = args.countValue(name, min); };
    }
    static std::function<void(const ArgParser&, Spec&)> path(const char* name,
                                                              std::filesystem::path Spec::*member) {
        return [=](const ArgParser& args, Spec& spec) { spec.*member = args.value(name); };
    }
};

}  // namespace dha::cli
