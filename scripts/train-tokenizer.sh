#!/bin/sh
# Trains the teacher's SentencePiece tokenizer on the corpus train split with Debian's spm_train.
#
# Usage: scripts/train-tokenizer.sh CORPUS_DIR OUT_DIR
#   CORPUS_DIR  output of scripts/build-corpus.sh (reads CORPUS_DIR/train.txt)
#   OUT_DIR     receives tokenizer.model (and tokenizer.vocab, the pieces and scores as text)
#
# Llama's recipe at a small vocabulary: BPE, byte fallback (no text is ever <unk>), identity normalisation with
# whitespace kept as written (the corpus is already NFC, and code indentation matters), digits split, whitespace-
# only pieces allowed. The whole train split is used, unshuffled, with a fixed seed: the same train.txt gives a
# byte-identical tokenizer.model. The flags are listed in resources/models/README.md too; keep them in step.
set -eu

if [ $# -ne 2 ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
corpus=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
[ -f "$corpus/train.txt" ] || { echo "train-tokenizer: $corpus/train.txt not found (run scripts/build-corpus.sh)" >&2; exit 1; }
command -v spm_train >/dev/null 2>&1 || {
    echo "train-tokenizer: spm_train not found: install the Debian package sentencepiece" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# spm_train records --input and --model_prefix in the model: relative names keep it independent of the paths.
ln -s "$corpus/train.txt" "$work/train.txt"
cd "$work"
start=$(date +%s)
spm_train --input=train.txt --model_prefix=tokenizer \
    --model_type=bpe --vocab_size=4096 --byte_fallback=true \
    --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=true \
    --split_digits=true --allow_whitespace_only_pieces=true --character_coverage=0.9995 \
    --max_sentence_length=16384 --input_sentence_size=0 --shuffle_input_sentence=false \
    --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --random_seed=20240601 --num_threads=2 --self_test_sample_size=0 --minloglevel=1
mv -f tokenizer.vocab "$out/tokenizer.vocab"
# Rename into place last, so OUT_DIR never holds a half-written model.
cp tokenizer.model "$out/.tokenizer.model.tmp"
mv -f "$out/.tokenizer.model.tmp" "$out/tokenizer.model"
echo "train-tokenizer: wrote $out/tokenizer.model in $(( $(date +%s) - start )) s" \
     "(sha256 $(sha256sum "$out/tokenizer.model" | cut -d' ' -f1))"
