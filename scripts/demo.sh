#!/bin/sh
# README command (1): install dependencies, build, then run the main job on the embedded teacher model
# (resources/models/dha-teacher): its architecture and KV cache cost (`dha inspect`), its held-out loss on the
# shipped test split (`dha eval`), a sample of its text (`dha generate`), the similarity of every layer's key
# and value heads with a heatmap figure (`dha analyse`), a plan keeping 25% of the key+value heads
# (`dha plan`), and the conversion to that budget (`dha convert`), whose export `dha eval` and `dha generate`
# then run. With a display (DISPLAY or WAYLAND_DISPLAY set) it opens the desktop application, dha-studio, on the
# embedded teacher instead; DHA_DEMO=headless forces the headless demo.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then sh scripts/install-deps.sh; fi
sh scripts/build.sh
if [ "${DHA_DEMO:-}" != headless ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
    exec "${DHA_BUILD_DIR:-build}/app/dha-studio"
fi
echo "No display: running the headless conversion demo (the GUI opens when DISPLAY or WAYLAND_DISPLAY is set)."
echo
DHA=${DHA_BUILD_DIR:-build}/app/dha
"$DHA" inspect
echo
"$DHA" eval
echo
"$DHA" generate --prompt "The Debian package manager" --max-tokens 60 --temperature 0.8 --top-k 40 --seed 1
echo
mkdir -p "${DHA_BUILD_DIR:-build}/demo"
"$DHA" analyse --png "${DHA_BUILD_DIR:-build}/demo/teacher-similarity.png"
echo
"$DHA" plan --budget 0.25 --out "${DHA_BUILD_DIR:-build}/demo/teacher-plan-25.json"
echo
# The headless conversion: 25% of the key+value heads, 0.5% of the teacher's pretraining tokens. It trains on
# the shipped validation split (the full training corpus is built by scripts/build-corpus.sh) and is scored on
# the test split, which it never sees.
RUN="${DHA_BUILD_DIR:-build}/demo/convert-25"
rm -rf "$RUN"
"$DHA" convert --budget 0.25 --tokens 0.5% --text resources/corpus/validation.txt \
    --validation resources/corpus/test.txt --validation-tokens 16384 --continued-lr 3e-4 --min-lr 3e-5 --run "$RUN"
echo
"$DHA" inspect "$RUN/export"
echo
"$DHA" eval "$RUN/export"
echo
"$DHA" generate "$RUN/export" --prompt "The Debian package manager" --max-tokens 60 --temperature 0.8 --top-k 40 --seed 1
echo
# What the desktop application shows for the teacher, rendered offscreen (no display needed).
STUDIO="${DHA_BUILD_DIR:-build}/app/dha-studio"
if [ -x "$STUDIO" ]; then
    "$STUDIO" --screenshot "${DHA_BUILD_DIR:-build}/demo/dha-studio-similarity.png" --page similarity
    "$STUDIO" --screenshot "${DHA_BUILD_DIR:-build}/demo/dha-studio-training.png" --page training \
        --runs "${DHA_BUILD_DIR:-build}/demo" --load-run "$RUN"
fi
