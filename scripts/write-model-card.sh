#!/usr/bin/env bash
# Writes the model card (README.md) and eval.json of a `dha pretrain` model from its run and fresh measurements.
#
# Usage: scripts/write-model-card.sh RUN_DIR MODEL_DIR
#   RUN_DIR    the `dha pretrain` run directory (run.json, metrics.jsonl)
#   MODEL_DIR  the model directory the card describes (config.json, model.safetensors, tokenizer.model), e.g.
#              resources/models/dha-teacher; README.md and eval.json are written there (atomically)
# Environment:
#   DHA    the dha binary (default: `dha` on PATH, else build/app/dha of this checkout)
#   TRAIN  the training text for the n-gram baselines (default: the text recorded in RUN_DIR/run.json; its
#          SHA-256 must match the one recorded there)
# It runs, and records in the card:
#   dha eval MODEL_DIR --text resources/corpus/test.txt --json --quiet
#   dha ngram-baseline --train TRAIN --text resources/corpus/test.txt --tokenizer MODEL_DIR --json --quiet
# EmbeddedModelTest::modelCardLossIsReproduced recomputes eval.json's held-out loss and finds it in the card.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
run_dir=$1
model_dir=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
test_text=$repo/resources/corpus/test.txt

for file in "$run_dir/run.json" "$run_dir/metrics.jsonl" "$model_dir/config.json" "$model_dir/model.safetensors" \
            "$test_text"; do
    [[ -f $file ]] || { echo "write-model-card: missing $file" >&2; exit 1; }
done
dha=${DHA:-}
if [[ -z $dha ]]; then
    if command -v dha >/dev/null; then dha=$(command -v dha); else dha=$repo/build/app/dha; fi
fi
[[ -x $dha ]] || { echo "write-model-card: no dha binary at '$dha' (set DHA=path/to/dha)" >&2; exit 1; }

train=${TRAIN:-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"]["path"])' "$run_dir/run.json")}
[[ -f $train ]] || { echo "write-model-card: missing training text $train (set TRAIN=...)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "write-model-card: dha eval on $test_text" >&2
"$dha" eval "$model_dir" --text "$test_text" --json --quiet > "$work/eval.json"
echo "write-model-card: dha ngram-baseline --train $train" >&2
"$dha" ngram-baseline --train "$train" --text "$test_text" --tokenizer "$model_dir" --json --quiet > "$work/ngram.json"

python3 - "$run_dir" "$model_dir" "$repo" "$train" "$work" <<'PYTHON'
import hashlib, json, os, re, sys

run_dir, model_dir, repo, train, work = sys.argv[1:6]
run = json.load(open(os.path.join(run_dir, "run.json")))
events = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl")) if line.strip()]
evaluation = json.load(open(os.path.join(work, "eval.json")))
ngram = json.load(open(os.path.join(work, "ngram.json")))
config = json.load(open(os.path.join(model_dir, "config.json")))
manifest = json.load(open(os.path.join(repo, "resources/corpus/manifest.json")))
spec = run["spec"]

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

if sha256(train) != run["text"]["sha256"]:
    sys.exit(f"write-model-card: {train} is not the text the run was trained on (SHA-256 differs from run.json)")
if sha256(os.path.join(model_dir, "tokenizer.model")) != run["tokenizer"]["sha256"]:
    sys.exit(f"write-model-card: {model_dir}/tokenizer.model is not the run's tokenizer (SHA-256 differs)")

losses = [e for e in events if e.get("type") == "loss"]
validations = [e for e in events if e.get("type") == "validation"]
if not losses:
    sys.exit(f"write-model-card: {run_dir}/metrics.jsonl has no training step")
last = losses[-1]
steps, tokens = last["step"], last["tokens"]
tail = losses[-50:]
train_loss_tail = sum(e["lm_loss"] for e in tail) / len(tail)
seconds = last["time_s"]
validation = validations[-1] if validations else None
exported = any(e.get("type") == "export" and e.get("step") == steps for e in events)
resumes = [e["step"] for e in events if e.get("type") == "resume"]

def rel(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, repo) if path.startswith(repo + os.sep) else path

training = {
    "steps": steps, "exported": exported, "resumed_after_steps": resumes, "batch": spec["batch"], "context": spec["context"],
    "tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds if seconds > 0 else 0,
    "final_train_loss": last["lm_loss"], "train_loss_last_steps": train_loss_tail, "train_loss_steps_averaged": len(tail),
    "validation": validation, "parameters": run["parameters"], "runtime": run["versions"]["runtime"],
}
for figures in (evaluation, ngram):
    for field in ("model", "text", "train"):
        if field in figures: figures[field] = rel(figures[field])
record = {"format": "dha-model-card-figures", "version": 1, "eval": evaluation, "ngram": ngram, "training": training,
          "run": {"text_sha256": run["text"]["sha256"], "tokenizer_sha256": run["tokenizer"]["sha256"],
                  "validation_sha256": run["validation"]["sha256"] if run.get("validation") else None}}

# The budget actually trained (a resume may change it; the schedule is a function of the step, the warm-up and
# the total, all explicit here).
flags = [("--tokens", tokens), ("--layers", spec["layers"]), ("--hidden", spec["hidden"]),
         ("--heads", spec["heads"]), ("--kv-heads", spec["kv_heads"]), ("--intermediate", spec["intermediate"]),
         ("--rope-theta", spec["rope_theta"]), ("--init-std", spec["init_std"]), ("--context", spec["context"]),
         ("--batch", spec["batch"]), ("--lr", spec["lr"]), ("--min-lr", spec["min_lr"]), ("--warmup", spec["warmup"]),
         ("--beta1", spec["beta1"]), ("--beta2", spec["beta2"]), ("--adam-eps", spec["adam_eps"]),
         ("--weight-decay", spec["weight_decay"]), ("--clip", spec["clip"]), ("--seed", spec["seed"]),
         ("--dtype", spec["dtype"]), ("--val-every", spec["val_every"]), ("--val-tokens", spec["val_tokens"])]
# The thread count changes the order of floating-point reductions: state the run's in the command.
threads = re.search(r"(\d+) threads?,", run["versions"]["runtime"])
pretrain = (f"DHA_NUM_THREADS={threads.group(1)} " if threads else "") + f"dha pretrain RUN --text {rel(spec['text'])}"
if spec.get("validation"): pretrain += f" \\\n    --validation {rel(spec['validation'])}"
pretrain += f" --tokenizer {rel(spec['tokenizer'])}"
if spec.get("init"): pretrain += f" --init {rel(spec['init'])}"
for i, (flag, value) in enumerate(flags):
    pretrain += (" \\\n   " if i % 6 == 0 else "") + f" {flag} {value}"
if not spec.get("tied", True): pretrain += " --untied"

test = "resources/corpus/test.txt"
rows = [("dha-teacher (this model)", evaluation), ("bigram, interpolated Kneser-Ney", ngram["bigram"]),
        ("unigram, add-1", ngram["unigram"])]
table = "\n".join(f"| {name} | {r['loss']:.4f} | {r['perplexity']:.2f} | {100 * r['accuracy']:.2f}% |" for name, r in rows)
heads = config["num_attention_heads"]
kv = config.get("num_key_value_heads", heads)
hours = seconds / 3600
runtime = run['versions']['runtime'].replace(' 1 threads,', ' 1 thread,')  # older runs said '1 threads'
finished = "" if exported else \
    f"\n\n**Not exported: step {steps}, an intermediate checkpoint of the run.** These figures describe that checkpoint.\n"
val_line = (f"| validation loss (step {validation['step']}, {validation['predicted_tokens']:,} tokens of "
            f"`resources/corpus/validation.txt`) | {validation['loss']:.4f} (perplexity {validation['perplexity']:.2f}) |"
            if validation else "| validation loss | none recorded |")
licences = "\n".join(f"| {s['package']} | {s['version']} | {s['licence']} |" for s in manifest["sources"])

card = f"""# dha-teacher

A small Llama-style multi-head-attention (MHA) decoder that DHA Studio ships as its default model, trained from
scratch by `dha pretrain` on English text from Debian packages. It is the teacher that DHA conversions start
from, and the model `dha inspect`, `dha eval` and `dha generate` use when no model directory is given.{finished}

## Architecture

| | |
|---|---|
| type | `{config['model_type']}`, MHA ({heads} query heads, {kv} key/value heads per layer) |
| layers | {config['num_hidden_layers']} |
| hidden size | {config['hidden_size']} (head width {config['hidden_size'] // heads}) |
| MLP | SwiGLU, {config['intermediate_size']} wide |
| vocabulary | {config['vocab_size']} (SentencePiece BPE, `tokenizer.model`) |
| context | {config['max_position_embeddings']} tokens, RoPE theta {config['rope_theta']} |
| embeddings | {"tied to the output layer" if config.get('tie_word_embeddings') else "separate output layer"} |
| parameters | {run['parameters']:,} |
| weights | `model.safetensors`, F32 |

## Held-out results

On `{test}` ({evaluation['predicted_tokens']:,} predicted tokens; the text is one token stream, every token after
the first is predicted once, in windows of {evaluation['context_length']} tokens of context; loss in nats per token):

| model | loss | perplexity | next-token accuracy |
|---|---|---|---|
{table}

The n-gram baselines are counted on the same training text ({ngram['train_tokens']:,} tokens) with the same
tokenizer, and scored with the same protocol (the bigram predicts each token from the one before it).
Machine-readable figures: `eval.json` (written with this card; `EmbeddedModelTest` recomputes the loss).

## Training

| | |
|---|---|
| steps | {steps}, {spec['batch']} windows of {spec['context']} tokens each{"; resumed after step " + ", ".join(map(str, resumes)) if resumes else ""} |
| training tokens | {tokens:,} (= {steps} steps x {spec['batch']} x {spec['context']}) |
| training time | {seconds:,.0f} s ({hours:.2f} h) on {runtime} |
| throughput | {training['tokens_per_second']:,.0f} tokens/s |
| final train loss | {last['lm_loss']:.4f} (last step); {train_loss_tail:.4f} (mean of the last {len(tail)} steps) |
{val_line}
| optimiser | AdamW (beta {spec['beta1']}, {spec['beta2']}; weight decay {spec['weight_decay']}), peak lr {spec['lr']} after {spec['warmup']} warm-up steps, cosine to {spec['min_lr']}, clip {spec['clip']}, {spec['dtype']} autocast, seed {spec['seed']} |

## Reproducing every figure

From the repository root, with `dha` built (`scripts/build.sh`):

```sh
scripts/build-corpus.sh build/corpus        # train split: SHA-256 {run['text']['sha256']}
{pretrain.replace(rel(spec['text']), 'build/corpus/train.txt') if not rel(spec['text']).startswith('resources') else pretrain}
# the model is RUN/export; this card and eval.json:
scripts/write-model-card.sh RUN resources/models/dha-teacher
# the figures above, one by one:
dha eval resources/models/dha-teacher --text {test} --json
dha ngram-baseline --train build/corpus/train.txt --text {test} --tokenizer resources/models/dha-teacher --json
```

`dha pretrain` draws its windows from a seeded order, so the same text, tokenizer and settings give the same
training batches and the same schedule; the command states the run's thread count because the thread count
changes the order of floating-point reductions. Across machines, LibTorch builds and thread counts the figures
agree to floating-point rounding, not bit for bit.

## Corpus and tokenizer

How the corpus and the tokenizer are built, and why, is in `resources/models/README.md`; the corpus itself,
its split rule and the SHA-256 of every split are in `resources/corpus/README.md` and
`resources/corpus/manifest.json`. Tokenizer SHA-256: `{run['tokenizer']['sha256']}`.

## Licence

The training text comes from these Debian main packages (licences as read in their copyright files, copied to
`resources/corpus/copyright/`):

| package | version | licence of the text used |
|---|---|---|
{licences}

All packages are in Debian main, so their licences meet the Debian Free Software Guidelines (redistribution
and derived works allowed); licences in use: {", ".join(sorted({s['licence'] for s in manifest['sources']}))}.
Several ask that their notices travel with copies, which is why the copyright files ship with the corpus
splits. The weights are a statistical model of that text, not a copy of it, but a language model can
reproduce short passages it has seen: treat generated text accordingly. The weights and this card are part of
DHA Studio and are distributed on its terms.

## Intended use

A small, fully reproducible teacher for DHA Studio: the default model for trying the conversion, evaluation
and generation workflows without downloading anything, and a fixed reference for tests and benchmarks. It is
not a general-purpose assistant: with {run['parameters'] / 1e6:.1f} M parameters trained on {tokens / 1e6:.1f} M tokens of
technical documentation, dictionaries and fortunes, it writes fluent-looking but often wrong text, knows
nothing beyond its Debian package versions, and has had no safety or instruction tuning.
"""

def write_atomically(path, text):
    temp = path + ".tmp"
    with open(temp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)

write_atomically(os.path.join(model_dir, "eval.json"), json.dumps(record, indent=2) + "\n")
write_atomically(os.path.join(model_dir, "README.md"), card)
print(f"write-model-card: wrote {model_dir}/README.md and {model_dir}/eval.json "
      f"(held-out loss {evaluation['loss']:.4f}, bigram {ngram['bigram']['loss']:.4f}, "
      f"unigram {ngram['unigram']['loss']:.4f})", file=sys.stderr)
PYTHON
