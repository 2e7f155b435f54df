# Language level, warnings and sanitizers shared by every target.
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

# Qt's `slots`/`signals` keywords collide with ATen identifiers: the whole project uses Q_SLOTS/Q_SIGNALS.
add_compile_definitions(QT_NO_KEYWORDS)

add_library(dha_warnings INTERFACE)
target_compile_options(dha_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)

if(DHA_SANITIZE)
    string(REPLACE ";" "," _dha_sanitizers "${DHA_SANITIZE}")
    add_compile_options(-fsanitize=${_dha_sanitizers} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${_dha_sanitizers})
endif()
