// A small command-line parser for the `dha` subcommands: positionals, --options with values, flags, and a
// generated --help that the golden tests pin down.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dha::cli {

// Bad command-line input; main() prints it with a pointer to --help and exits with code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ArgParser {
public:
    ArgParser(std::string command, std::string summary);

    void addPositional(const std::string& name, const std::string& help, bool required = true);
    void addOption(const std::string& name, const std::string& valueName, const std::string& help,
                   const std::string& defaultValue = {});
    void addFlag(const std::string& name, const std::string& help);
    void setDescription(const std::string& text) { m_description = text; }

    // Parses argv[1..]; returns false after printing help to `out` when --help/-h is given.
    // Throws UsageError for unknown options, missing values or missing required positionals.
    bool parse(int argc, char** argv, std::ostream& out);

    std::string helpText() const;
    const std::string& command() const { return m_command; }

    bool flag(const std::string& name) const;
    bool has(const std::string& name) const;  // option given, or positional present
    std::string value(const std::string& name) const;  // given value, else the default
    int64_t intValue(const std::string& name, int64_t minimum, int64_t maximum) const;
    double doubleValue(const std::string& name, double minimum, double maximum) const;
    // "2M", "500k", "1.5G", "65536": a count with an optional k/M/G suffix (powers of 1000).
    int64_t countValue(const std::string& name, int64_t minimum) const;
    // The value must be one of `choices`.
    std::string choiceValue(const std::string& name, const std::vector<std::string>& choices) const;

private:
    struct Option {
        std::string name;
        std::string valueName;  // empty for a flag
        std::string help;
        std::string defaultValue;
    };
    struct Positional {
        std::string name;
        std::string help;
        bool required = true;
    };
    const Option* findOption(const std::string& name) const;

    std::string m_command;
    std::string m_summary;
    std::string m_description;
    std::vector<Positional> m_positionals;
    std::vector<Option> m_options;
    std::map<std::string, std::string> m_values;
    std::map<std::string, bool> m_flags;
};

}  // namespace dha::cli
