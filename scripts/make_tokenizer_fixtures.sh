#!/bin/sh
# Regenerates the SentencePiece fixtures in tests/data/tokenizers with Debian's spm_train (package `sentencepiece`).
# The corpus is not committed: it is rebuilt from Debian's license texts plus a few multilingual lines below.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/data/tokenizers"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

corpus="$work/corpus.txt"
cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0 \
    /usr/share/common-licenses/MPL-2.0 /usr/share/common-licenses/Artistic > "$corpus"
cat >> "$corpus" <<'TEXT'
Café au lait, crème brûlée, naïve façade, déjà vu, über Straße, señor niño, smörgåsbord.
Le garçon a mangé une pêche à Noël; la forêt était très froide.
Die Bäume wachsen schnell, und die Vögel singen früh am Morgen.
El año pasado viajé a España y comí paella con mis amigos.
The price was 1234 dollars in 2023, and 56789 units were sold by 10:45.
Call 555-0199 or email someone@example.com before 31/12/2024.
東京は日本の首都です。今日は良い天気ですね。
我们明天去北京。你好，世界！
Emoji are common now 😀 👍 and ❤ appear in chat logs.
Fullwidth ＡＢＣ１２３ and ｶﾀｶﾅ appear in Japanese web text.
TEXT

common="--input=$corpus --num_threads=1 --input_sentence_size=0 --shuffle_input_sentence=false
        --character_coverage=1.0 --self_test_sample_size=0 --minloglevel=2"

# Unigram with the default nmt_nfkc normalization; one user-defined and one control symbol.
spm_train $common --model_prefix="$work/unigram_nfkc" --model_type=unigram --vocab_size=600 \
    --normalization_rule_name=nmt_nfkc --user_defined_symbols='<sep>' --control_symbols='<cls>'
# Unigram without normalization, keeping whitespace as written.
spm_train $common --model_prefix="$work/unigram_identity" --model_type=unigram --vocab_size=500 \
    --normalization_rule_name=identity --remove_extra_whitespaces=false
# Llama-style BPE: byte fallback, split digits, identity normalization, dummy prefix.
spm_train $common --model_prefix="$work/bpe_bytefallback" --model_type=bpe --vocab_size=800 \
    --byte_fallback=true --split_digits=true --normalization_rule_name=identity --add_dummy_prefix=true \
    --remove_extra_whitespaces=false

for name in unigram_nfkc unigram_identity bpe_bytefallback; do
    cp "$work/$name.model" "$out/$name.model"
done
ls -l "$out"/*.model
