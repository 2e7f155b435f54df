// ArgParser: parsing, typed accessors with range checks, and help text.
#include "arg_parser.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace dha::cli {
namespace {

// Wraps `text` at `width` columns, indenting continuation lines by `indent` spaces.
std::string wrap(const std::string& text, size_t indent, size_t width) {
    std::istringstream words(text);
    std::string word, out, line;
    while (words >> word) {
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += line + "\n" + std::string(indent, ' ');
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return out + line;
}

}  // namespace

ArgParser::ArgParser(std::string command, std::string summary)
    : m_command(std::move(command)), m_summary(std::move(summary)) {
    addFlag("help", "show this help and exit");
}

void ArgParser::addPositional(const std::string& name, const std::string& help, bool required) {
    m_positionals.push_back({name, help, required});
}

void ArgParser::addOption(const std::string& name, const std::string& valueName, const std::string& help,
                          const std::string& defaultValue) {
    m_options.push_back({name, valueName, help, defaultValue});
}

void ArgParser::addFlag(const std::string& name, const std::string& help) { m_options.push_back({name, {}, help, {}}); }

const ArgParser::Option* ArgParser::findOption(const std::string& name) const {
    for (const Option& option : m_options) {
        if (option.name == name) return &option;
    }
    return nullptr;
}

bool ArgParser::parse(int argc, char** argv, std::ostream& out) {
    size_t positional = 0;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            out << helpText();
            return false;
        }
        if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
            std::string name = arg.substr(2);
            std::optional<std::string> inlineValue;
            if (const size_t equals = name.find('='); equals != std::string::npos) {
                inlineValue = name.substr(equals + 1);
                name = name.substr(0, equals);
            }
            const Option* option = findOption(name);
            if (!option) throw UsageError("unknown option '--" + name + "'");
            if (option->valueName.empty()) {
                if (inlineValue) throw UsageError("option '--" + name + "' takes no value");
                m_flags[name] = true;
            } else if (inlineValue) {
                m_values[name] = *inlineValue;
            } else {
                if (i + 1 >= argc) throw UsageError("option '--" + name + "' needs a value (" + option->valueName + ")");
                m_values[name] = argv[++i];
            }
            continue;
        }
        if (arg.size() > 1 && arg[0] == '-' && arg != "-") throw UsageError("unknown option '" + arg + "'");
        if (positional >= m_positionals.size()) throw UsageError("unexpected argument '" + arg + "'");
        m_values[m_positionals[positional++].name] = arg;
    }
    for (size_t i = positional; i < m_positionals.size(); ++i) {
        if (m_positionals[i].required) throw UsageError("missing " + m_positionals[i].name);
    }
    return true;
}

std::string ArgParser::helpText() const {
    std::ostringstream text;
    text << "Usage: " << m_command;
    if (m_options.size() > 1) text << " [options]";
    for (const Positional& positional : m_positionals) {
        text << ' ' << (positional.required ? positional.name : "[" + positional.name + "]");
    }
    text << "\n\n" << wrap(m_summary, 0, 100) << "\n";
    if (!m_description.empty()) text << "\n" << m_description << (m_description.back() == '\n' ? "" : "\n");
    if (!m_positionals.empty()) {
        text << "\nArguments:\n";
        for (const Positional& positional : m_positionals) {
            std::string left = "  " + positional.name;
            left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
            text << left << wrap(positional.help, 26, 100) << "\n";
        }
    }
    text << "\nOptions:\n";
    for (const Option& option : m_options) {
        std::string left = "  --" + option.name + (option.valueName.empty() ? "" : " " + option.valueName);
        left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
        std::string help = option.help;
        if (!option.defaultValue.empty()) help += " (default: " + option.defaultValue + ")";
        text << left << wrap(help, 26, 100) << "\n";
    }
    return text.str();
}

bool ArgParser::flag(const std::string& name) const { return m_flags.count(name) > 0; }

bool ArgParser::has(const std::string& name) const { return m_values.count(name) > 0 || flag(name); }

std::string ArgParser::value(const std::string& name) const {
    if (auto it = m_values.find(name); it != m_values.end()) return it->second;
    if (const Option* option = findOption(name)) return option->defaultValue;
    return {};
}

int64_t ArgParser::intValue(const std::string& name, int64_t minimum, int64_t maximum) const {
    const std::string text = value(name);
    char* end = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || errno != 0 || *end != '\0' || parsed < minimum || parsed > maximum) {
        throw UsageError("--" + name + ": expected an integer in " + std::to_string(minimum) + ".." +
                         std::to_string(maximum) + ", got '" + text + "'");
    }
    return parsed;
}

double ArgParser::doubleValue(const std::string& name, double minimum, double maximum) const {
    const std::string text = value(name);
    char* end = nullptr;
    errno = 0;
    const double parsed = std::strtod(text.c_str(), &end);
    if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(parsed) || parsed < minimum ||
        parsed > maximum) {
        std::ostringstream range;
        range << minimum << ".." << maximum;
        throw UsageError("--" + name + ": expected a number in " + range.str() + ", got '" + text + "'");
    }
    return parsed;
}

int64_t ArgParser::countValue(const std::string& name, int64_t minimum) const {
    const std::string text = value(name);
    char* end = nullptr;
    errno = 0;
    double parsed = std::strtod(text.c_str(), &end);
    const std::string suffix = end ? end : "";
    if (suffix == "k" || suffix == "K")
        parsed *= 1e3;
    else if (suffix == "M" || suffix == "m")
        parsed *= 1e6;
    else if (suffix == "G" || suffix == "g")
        parsed *= 1e9;
    else if (!suffix.empty())
        parsed = std::nan("");
    const double rounded = std::round(parsed);
    if (text.empty() || errno != 0 || !std::isfinite(parsed) ||
        std::abs(parsed - rounded) > 1e-6 * std::max(1.0, parsed) || rounded < static_cast<double>(minimum) ||
        rounded > 1e15) {
        throw UsageError("--" + name + ": expected a count such as 65536, 500k, 2M or 1.5G (at least " +
                         std::to_string(minimum) + "), got '" + text + "'");
    }
    return static_cast<int64_t>(rounded);
}

std::string ArgParser::choiceValue(const std::string& name, const std::vector<std::string>& choices) const {
    const std::string text = value(name);
    std::string list;
    for (const std::string& choice : choices) {
        if (choice == text) return text;
        list += (list.empty() ? "" : ", ") + choice;
    }
    throw UsageError("--" + name + ": expected one of " + list + ", got '" + text + "'");
}

}  // namespace dha::cli
