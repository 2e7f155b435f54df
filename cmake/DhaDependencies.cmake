# Finds LibTorch, nlohmann-json and (with the GUI) Qt 6 + QCustomPlot; decides CUDA.
find_package(Torch REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)  # PNG figures (dha analyse --png)

# SentencePiece is NOT linked: Debian's libsentencepiece.so embeds its own protobuf-lite and exports it, while
# LibTorch loads the full libprotobuf; the two collide in static initialisers and the process segfaults before
# main(). core/src/tokenizer reads tokenizer.model itself; the spm_encode/spm_train tools serve as test oracles.

# CUDA: LibTorch decides whether the engine can place tensors on a GPU; DHA_WITH_CUDA only chooses whether to
# require it. (Custom .cu kernels arrive with their own issue; until then CUDA runs through ATen.)
set(DHA_HAVE_CUDA OFF)
if(TARGET torch_cuda OR CUDA_FOUND OR TORCH_CUDA_LIBRARIES)
    set(_dha_torch_has_cuda ON)
else()
    set(_dha_torch_has_cuda OFF)
endif()
if(DHA_WITH_CUDA STREQUAL "ON")
    if(NOT _dha_torch_has_cuda)
        message(FATAL_ERROR "DHA_WITH_CUDA=ON but this LibTorch was built without CUDA "
                            "(point CMAKE_PREFIX_PATH at a CUDA LibTorch, or use DHA_WITH_CUDA=AUTO)")
    endif()
    set(DHA_HAVE_CUDA ON)
elseif(DHA_WITH_CUDA STREQUAL "AUTO")
    set(DHA_HAVE_CUDA ${_dha_torch_has_cuda})
elseif(NOT DHA_WITH_CUDA STREQUAL "OFF")
    message(FATAL_ERROR "DHA_WITH_CUDA must be AUTO, ON or OFF (got '${DHA_WITH_CUDA}')")
endif()
message(STATUS "DHA Studio: CUDA ${DHA_HAVE_CUDA} (DHA_WITH_CUDA=${DHA_WITH_CUDA}), GUI ${DHA_BUILD_GUI}")

if(DHA_BUILD_GUI OR DHA_BUILD_TESTS)
    # Qt6 must be found before QCustomPlotQt6, whose config file expects the Qt6 targets.
    if(DHA_BUILD_GUI)
        find_package(Qt6 6.4 REQUIRED COMPONENTS Core Widgets PrintSupport Svg Concurrent Test)
        find_package(QCustomPlotQt6 REQUIRED)
    else()
        find_package(Qt6 6.4 REQUIRED COMPONENTS Core Test)
    endif()
endif()
