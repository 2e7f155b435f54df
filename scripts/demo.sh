#!/bin/sh
# README command (1): install dependencies, build, then run the main job. Until the embedded teacher model
# and the GUI land, the main job is: create a small random Llama-style model with the bundled test
# tokenizer, show it with `dha inspect`, and measure it with `dha eval` on a text every Debian system has.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then sh scripts/install-deps.sh; fi
sh scripts/build.sh
DHA=${DHA_BUILD_DIR:-build}/app/dha
MODEL=${DHA_DEMO_MODEL:-${TMPDIR:-/tmp}/dha-demo-model}
TEXT=/usr/share/common-licenses/GPL-3
if [ ! -f "$MODEL/config.json" ]; then
    rm -rf "$MODEL"
    "$DHA" init "$MODEL" --tokenizer tests/data/tokenizers/unigram_nfkc.model \
        --layers 4 --hidden 256 --heads 8 --context 256
fi
"$DHA" inspect "$MODEL"
echo
"$DHA" eval "$MODEL" --text "$TEXT"
