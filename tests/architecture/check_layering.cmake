# Fails when an include crosses the layering of architecture.md:
#   core/ and kernels/ never include Qt (or QCustomPlot); ui/ and app/ never include torch, ATen or c10.
# Usage: cmake -DROOT=<tree> [-DEXPECT="a;b"] -P check_layering.cmake
# With EXPECT, succeeds only when exactly those violations (relative paths) are found: the self-test.
get_filename_component(ROOT "${ROOT}" ABSOLUTE)
if(NOT ROOT)
    message(FATAL_ERROR "ROOT not set")
endif()

set(qt_pattern "#[ \t]*include[ \t]*[<\"](Q[A-Za-z0-9_]+|Qt[A-Za-z0-9_]*/|qcustomplot)")
set(torch_pattern "#[ \t]*include[ \t]*[<\"](torch/|ATen/|c10/|caffe2/)")

set(violations "")
function(scan dirs pattern what)
    foreach(dir IN LISTS dirs)
        file(GLOB_RECURSE files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.hpp" "${ROOT}/${dir}/*.cpp"
             "${ROOT}/${dir}/*.cu" "${ROOT}/${dir}/*.cuh")
        list(SORT files)
        foreach(file IN LISTS files)
            file(STRINGS "${file}" hits REGEX "${pattern}")
            if(hits)
                file(RELATIVE_PATH rel "${ROOT}" "${file}")
                list(GET hits 0 first)
                string(STRIP "${first}" first)
                message("${rel} includes ${what}: ${first}")
                list(APPEND violations ${rel})
            endif()
        endforeach()
    endforeach()
    set(violations ${violations} PARENT_SCOPE)
endfunction()

scan("core;kernels" "${qt_pattern}" "Qt")
scan("ui;app" "${torch_pattern}" "torch")

if(DEFINED EXPECT)
    list(SORT violations)
    set(expected ${EXPECT})
    list(SORT expected)
    if(NOT violations STREQUAL expected)
        message(FATAL_ERROR "self-test: found [${violations}], expected [${expected}]")
    endif()
    message("self-test: every planted violation found")
elseif(violations)
    message(FATAL_ERROR "layering violated (see architecture.md)")
else()
    message("layering respected: core/ and kernels/ include no Qt; ui/ and app/ include no torch")
endif()
