#!/bin/sh
# lmeval-compare.sh — merilo and lm-evaluation-harness (transformers/torch) scoring the same
# BENCHić COPA requests with the same weights, side by side (issue 16, "Suite scoring").
#
# Model: `merilo synth --preset 110m --dtype f32` with the llama-spm vocabulary, turned into an
# HF folder (config.json, model.safetensors in float32, the llama-spm tokenizer.json from
# fixtures/hf/tokenizers) by ci/make-hf-pair.py --dtype f32. BOTH engines load that folder:
# the same float32 numbers, the same tokenizer.json, no BOS (merilo --bos never, lm-eval's
# default add_bos_token=False).
# Items: BENCHić COPA imported as tests/golden/run.sh does, the first $LIMIT items in each of
# its 3 languages (3 x LIMIT units, 2 choices each). A reference merilo run (--batch item)
# writes items.jsonl; its `context` and `choices[].continuation` strings become lm-eval's local
# task (ci/lmeval-compare.py task): lm-eval scores exactly the strings merilo scored, which the
# comparison checks string by string.
# Runs, $ROUNDS interleaved rounds, each with $THREADS threads (OMP_NUM_THREADS,
# torch.set_num_threads): merilo --batch 32 (default) and --batch item, lm-eval at batch sizes
# $BATCHES. Figures: scoring wall seconds (merilo: results.json performance.window.seconds;
# lm-eval: the wall time of lm.loglikelihood inside simple_evaluate, model loaded), units/s, CPU
# seconds user+sys (merilo: the whole process, /usr/bin/time; lm-eval: lm.loglikelihood's, from
# getrusage) — the figure to read on a loaded machine; medians over the rounds; per-choice
# log-likelihoods: merilo --batch 32 vs --batch item (bit identity) and lm-eval vs merilo
# --kv-cache f32 (max |delta|).
#
# The venv ($BUILD/lmeval-venv, never committed) gets lm-eval, torch and transformers from PyPI
# (about 2 GiB: PyPI's torch wheel pulls the CUDA libraries; the CPU is used). Where it cannot be
# made, the script says "lm-eval not installed" and exits 0.
#
# Environment: BUILD (default build), MERILO ($BUILD/merilo), FIX (../shared/fixtures),
# LIMIT (100), ROUNDS (2), THREADS (2), BATCHES ("1 8 32"), VENV ($BUILD/lmeval-venv),
# OUT ($BUILD/lmeval-compare.md); the work folder is $BUILD/lmeval/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
MERILO=${MERILO:-$BUILD/merilo}
FIX=${FIX:-../shared/fixtures}
LIMIT=${LIMIT:-100}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-1 8 32}
VENV=${VENV:-$BUILD/lmeval-venv}
OUT=${OUT:-$BUILD/lmeval-compare.md}
W=$BUILD/lmeval
COPA=$FIX/data/benchich-copa
# OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads otherwise spin while they wait, which on a
# loaded machine cost 8x the CPU per forward call (measured: 1.6 vs 0.2 CPU s for 32 tokens).
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

[ -x "$MERILO" ] || { echo "lmeval-compare: $MERILO not built (make BUILD=$BUILD $MERILO)" >&2; exit 2; }
if [ ! -d "$COPA" ] || [ ! -f "$FIX/tokenizer/ggml-vocab-llama-spm.gguf" ]; then
	echo "lmeval-compare: fixtures absent ($FIX): nothing compared"
	exit 0
fi
PY=$VENV/bin/python
if ! "$PY" -c "import lm_eval, torch, transformers, accelerate" 2>/dev/null; then
	echo "lmeval-compare: making $VENV (pip install lm-eval[hf] torch transformers, about 2 GiB)"
	if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "lm-eval[hf]" torch transformers; } >"$BUILD/lmeval-pip.log" 2>&1 ||
		! "$PY" -c "import lm_eval, torch, transformers, accelerate" 2>/dev/null; then
		echo "lm-eval not installed (no venv with lm-eval, torch and transformers: see $BUILD/lmeval-pip.log): nothing compared"
		exit 0
	fi
fi
mkdir -p "$W"

# The model, once: one set of float32 weights as an HF folder both engines load.
HF=$W/pair/hf
if [ ! -f "$HF/model.safetensors" ]; then
	"$MERILO" synth --preset 110m --dtype f32 --vocab "$FIX/tokenizer/ggml-vocab-llama-spm.gguf" -o "$W/m110-f32.gguf"
	"$PY" ci/make-hf-pair.py --dtype f32 --tokenizer "$FIX/hf/tokenizers/llama-spm/tokenizer.json" "$W/m110-f32.gguf" "$W/pair"
	rm -f "$W/m110-f32.gguf" "$W/pair/model-f32.gguf"
	printf '{"bos_token":"<s>","eos_token":"</s>","unk_token":"<unk>","tokenizer_class":"PreTrainedTokenizerFast"}\n' \
		>"$HF/tokenizer_config.json"
fi
"$MERILO" import copa --lang sr-Cyrl="$COPA/test-sr.jsonl" --lang sr-Latn="$COPA/test-sr-lat.jsonl" \
	--lang hr="$COPA/test-hr.jsonl" --name benchich-copa -o "$W/copa.json" >"$W/import.log" 2>&1 ||
	{ cat "$W/import.log" >&2; exit 1; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TIMES=$W/times.tsv
: >"$TIMES"
# merilo_run NAME BATCH: one merilo run; appends "NAME wall_s cpu_s units" to $TIMES.
merilo_run() {
	rm -rf "$W/run-$1"
	/usr/bin/time -f "%U %S" -o "$W/time-$1" "$MERILO" run --model "$HF" --suite "$W/copa.json" \
		--threads "$THREADS" --limit "$LIMIT" --kv-cache f32 --bos never --batch "$2" --boot 100 \
		--quiet --out "$W/run-$1" >/dev/null
	"$PY" -c 'import json,sys; w=json.load(open(sys.argv[1]))["performance"][0]["window"]; t=open(sys.argv[2]).read().split()
print(sys.argv[3], w["seconds"], float(t[0]) + float(t[1]), w["n_items"])' \
		"$W/run-$1/results.json" "$W/time-$1" "$2" >>"$TIMES"
}
# lmeval_run BATCH ROUND: one lm-eval run; appends "lm-eval-bBATCH wall_s cpu_s units".
lmeval_run() {
	"$PY" ci/lmeval-compare.py lmeval --model "$HF" --tasks "$W/task" --batch "$1" --threads "$THREADS" \
		--out "$W/lmeval-b$1-r$2.json" >"$W/lmeval-b$1-r$2.log" 2>&1 ||
		{ echo "lmeval-compare: lm-eval batch $1 failed: $W/lmeval-b$1-r$2.log" >&2; tail -5 "$W/lmeval-b$1-r$2.log" >&2; exit 1; }
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("lm-eval-b" + sys.argv[2], d["score_s"], d["score_cpu_s"], len(d["docs"]))' "$W/lmeval-b$1-r$2.json" "$1" >>"$TIMES"
}

echo "lmeval-compare: reference merilo run (--batch item), $LIMIT items x 3 languages"
merilo_run ref item
"$PY" ci/lmeval-compare.py task "$W/run-ref/items.jsonl" "$W/task" >/dev/null
: >"$TIMES"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "lmeval-compare: round $r/$ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg))"
	merilo_run b32-r$r 32
	for b in $BATCHES; do lmeval_run "$b" "$r"; done
	merilo_run item-r$r item
	r=$((r + 1))
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "merilo vs lm-evaluation-harness: BENCHić COPA, $LIMIT items x 3 languages, $THREADS threads, $ROUNDS rounds (medians)"
	echo "model: merilo synth 110m f32, llama-spm vocabulary, as one HF folder; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	"$PY" -c 'import torch, lm_eval, transformers, importlib.metadata as m
print("lm-eval", m.version("lm_eval"), "transformers", transformers.__version__, "torch", torch.__version__)'
	echo "load average before: $LOAD_BEFORE; after: $LOAD_AFTER; OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
	echo
	echo "| engine, batch | scoring wall s | units/s | CPU s (user+sys) | units per CPU-s |"
	echo "|---|---:|---:|---:|---:|"
	"$PY" - "$TIMES" <<-'EOF'
	import statistics as st, sys
	rows = {}
	for line in open(sys.argv[1]):
	    name, wall, cpu, n = line.split()
	    rows.setdefault(name, []).append((float(wall), float(cpu), int(n)))
	for name, v in rows.items():
	    wall, cpu, n = st.median(x[0] for x in v), st.median(x[1] for x in v), v[0][2]
	    label = "lm-eval, batch_size " + name[9:] if name.startswith("lm-eval-b") else "merilo --batch " + name
	    print(f"| {label} | {wall:.1f} | {n / wall:.2f} | {cpu:.1f} | {n / cpu:.2f} |")
	EOF
	echo
	echo "merilo --batch 32 vs --batch item, per-choice logliks: $("$PY" ci/lmeval-compare.py same "$W/run-ref/items.jsonl" "$W/run-b32-r1/items.jsonl")"
	for b in $BATCHES; do
		echo "lm-eval batch $b vs merilo: $("$PY" ci/lmeval-compare.py compare "$W/run-ref/items.jsonl" "$W/lmeval-b$b-r1.json")"
	done
} >"$OUT"
cat "$OUT"
