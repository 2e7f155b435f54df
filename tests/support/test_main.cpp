// main() of every test executable: runs one named suite (as CTest does) or all of them.
#include <QCoreApplication>
#include <QTest>

#include <cstring>
#include <iostream>

#include "test_registry.h"

#ifdef DHA_TEST_NEEDS_GUI
#include <QApplication>
using TestApplication = QApplication;
#else
using TestApplication = QCoreApplication;
#endif

#ifdef DHA_TEST_INIT_RUNTIME
#include "dha/runtime.h"
#endif

namespace dha::test {
std::vector<SuiteEntry>& suites() {
    static std::vector<SuiteEntry> registry;
    return registry;
}
}  // namespace dha::test

int main(int argc, char** argv) {
#ifdef DHA_TEST_NEEDS_GUI
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
#endif
#ifdef DHA_TEST_INIT_RUNTIME
    dha::initRuntime();
#endif
    TestApplication app(argc, argv);
    // argv[1] may name a suite; the remaining arguments go to Qt Test (for example a test function name).
    const char* only = (argc > 1 && argv[1][0] != '-') ? argv[1] : nullptr;
    std::vector<char*> qtestArgs{argv[0]};
    for (int i = only ? 2 : 1; i < argc; ++i) qtestArgs.push_back(argv[i]);

    if (argc > 1 && std::strcmp(argv[1], "--list-suites") == 0) {
        for (const auto& suite : dha::test::suites()) std::cout << suite.name << '\n';
        return 0;
    }
    int failures = 0;
    bool found = false;
    for (const auto& suite : dha::test::suites()) {
        if (only && suite.name != only) continue;
        found = true;
        auto object = suite.create();
        failures += QTest::qExec(object.get(), static_cast<int>(qtestArgs.size()), qtestArgs.data());
    }
    if (!found) {
        std::cerr << "no test suite named '" << (only ? only : "") << "'; --list-suites lists them\n";
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
