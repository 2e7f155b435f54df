#!/bin/sh
# Renders every page of dha-studio on the embedded teacher into docs/screenshots/ (offscreen, no display).
# Usage: sh scripts/screenshots.sh [RUNS_FOLDER RUN [OVERLAY_RUN]]: with a folder of conversion runs, the
# training page lists them and shows RUN's curves (OVERLAY_RUN drawn over them, e.g. the GQA baseline).
set -eu
cd "$(dirname "$0")/.."
STUDIO=${DHA_BUILD_DIR:-build}/app/dha-studio
OUT=docs/screenshots
mkdir -p "$OUT"
for page in model similarity plan export; do
    "$STUDIO" --screenshot "$OUT/$page.png" --page "$page"
done
if [ $# -ge 2 ]; then
    if [ $# -ge 3 ]; then overlay="--overlay-run $3"; else overlay=""; fi
    # shellcheck disable=SC2086
    "$STUDIO" --screenshot "$OUT/training.png" --page training --runs "$1" --load-run "$2" $overlay
else
    "$STUDIO" --screenshot "$OUT/training.png" --page training
fi
