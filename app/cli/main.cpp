// Entry point of the `dha` command.
#include <iostream>

#include "dha/runtime.h"

int main(int argc, char** argv) {
    dha::initRuntime();
    std::cout << "dha " << DHA_VERSION << " (" << dha::runtimeDescription() << ")\n";
    return 0;
}
