#!/bin/sh
# README command (2): install dependencies, build everything, run every test, print CTest's summary.
# This is what CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then sh scripts/install-deps.sh; fi
start=$(date +%s)
sh scripts/build.sh
built=$(date +%s)
export QT_QPA_PLATFORM=offscreen
ctest --test-dir "${DHA_BUILD_DIR:-build}" --output-on-failure --timeout 900 -j "$(nproc)"
echo "build: $((built - start)) s, tests: $(( $(date +%s) - built )) s"
