#!/bin/sh
# Regenerates the SentencePiece fixtures in tests/data/tokenizers with Debian's spm_train (package `sentencepiece`).
# The corpus is not committed: it is rebuilt from Debian's license texts plus a few multilingual lines below.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/data/tokenizers"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Relative names: spm_train records --input and --model_prefix in the model, so the output does not depend on
# the temporary directory's name.
cd "$work"
corpus=corpus.txt
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
        --character_coverage=1.0 --self_test_sample_size=0 --minloglevel=2 --random_seed=1"

# Unigram with the default nmt_nfkc normalization; one user-defined and one control symbol.
spm_train $common --model_prefix=unigram_nfkc --model_type=unigram --vocab_size=600 \
    --normalization_rule_name=nmt_nfkc --user_defined_symbols='<sep>' --control_symbols='<cls>'
# Unigram without normalization, keeping whitespace as written.
spm_train $common --model_prefix=unigram_identity --model_type=unigram --vocab_size=500 \
    --normalization_rule_name=identity --remove_extra_whitespaces=false
# Llama-style BPE: byte fallback, split digits, identity normalization, dummy prefix.
spm_train $common --model_prefix=bpe_bytefallback --model_type=bpe --vocab_size=800 \
    --byte_fallback=true --split_digits=true --normalization_rule_name=identity --add_dummy_prefix=true \
    --remove_extra_whitespaces=false

# Golden files: spm_encode ids and spm_decode text for each line of parity_strings.txt. Lines use the
# escapes \t \r \\ and \xHH (so invalid UTF-8 can be written); decoded text is escaped the same way.
escapes="$root/scripts/tokenizer_fixture_escapes.py"
python3 "$escapes" unescape < "$out/parity_strings.txt" > strings.raw
for name in unigram_nfkc unigram_identity bpe_bytefallback; do
    cp "$name.model" "$out/$name.model"
    spm_encode --model="$name.model" --output_format=id < strings.raw > "$out/$name.ids.txt"
    spm_decode --model="$name.model" --input_format=id < "$out/$name.ids.txt" | python3 "$escapes" escape \
        > "$out/$name.decoded.txt"
done
ls -l "$out"
