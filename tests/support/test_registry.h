// Registry of Qt Test suites, so one executable holds many suites and CTest runs each as its own test.
#pragma once

#include <QObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dha::test {

struct SuiteEntry {
    std::string name;
    std::function<std::unique_ptr<QObject>()> create;
};

std::vector<SuiteEntry>& suites();

struct SuiteRegistrar {
    SuiteRegistrar(const char* name, std::function<std::unique_ptr<QObject>()> create) {
        suites().push_back({name, std::move(create)});
    }
};

}  // namespace dha::test

// Registers a QObject test class as a suite. tests/CMakeLists.txt scans sources for this macro and adds one
// CTest test per suite, named <executable>.<Class>.
#define DHA_TEST_SUITE(Class)                                                         \
    static const ::dha::test::SuiteRegistrar dhaSuiteRegistrar_##Class(#Class, [] {   \
        return std::unique_ptr<QObject>(new Class);                                   \
    });
