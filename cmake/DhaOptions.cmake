# Build options of DHA Studio (see README.md for what each one changes).
option(DHA_BUILD_GUI "Build the Qt 6 desktop application and its UI library" ON)
option(DHA_BUILD_TESTS "Build the Qt Test suites and register them with CTest" ON)
option(DHA_BUILD_BENCH "Build the benchmarks in bench/" OFF)
set(DHA_WITH_CUDA "AUTO" CACHE STRING "Use CUDA kernels: AUTO (when LibTorch has CUDA), ON (required) or OFF")
set_property(CACHE DHA_WITH_CUDA PROPERTY STRINGS AUTO ON OFF)
set(DHA_SANITIZE "" CACHE STRING "Semicolon-separated sanitizers, for example address;undefined")

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
