#!/bin/sh
# bench.sh — CPU speed of the engine on 110M-shaped random-weight models (`make bench`).
#
# Synthesizes (once; synth is deterministic) llama 110m models in F16, Q8_0 and Q4_0
# under $BUILD/bench/, then measures prefill of 128 tokens and decode of 32 tokens
# with 2 threads and prints one markdown table. Uses `merilo bench` when the binary
# has it, else `merilo generate --timing` (best of $REPS runs: the machine is shared,
# so the best run is the one least disturbed by other work).
#
# Environment: BUILD (default build), MERILO (default $BUILD/merilo), THREADS (2),
# REPS (3), DTYPES ("f16 q8_0 q4_0"), VOCAB (default the llama-spm fixture when present).
# The weights are random: these numbers measure speed, not quality.
# Then what metrics itself costs (bootstrap CIs, a phase-timer pair) from ci/met-bench.c,
# built here against $BUILD/libmetrics.a: a figure, since tests must not time anything.
set -eu

BUILD=${BUILD:-build}
MERILO=${MERILO:-$BUILD/merilo}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
DTYPES=${DTYPES:-"f16 q8_0 q4_0"}
N_PROMPT=128
N_GEN=32
OUT=$BUILD/bench
FIXTURE_VOCAB=../shared/fixtures/tokenizer/ggml-vocab-llama-spm.gguf
VOCAB=${VOCAB:-}
if [ -z "$VOCAB" ] && [ -f "$FIXTURE_VOCAB" ]; then
	VOCAB=$FIXTURE_VOCAB
fi

[ -x "$MERILO" ] || { echo "bench: $MERILO not found (run make first)" >&2; exit 1; }
mkdir -p "$OUT"

# what metrics itself costs (bootstrap, phase timer): figures, after the engine
metrics_figures() {
	echo
	${CC:-cc} -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o "$OUT/met-bench" ci/met-bench.c \
		"$BUILD/libmetrics.a" "$BUILD/libcommon.a" -lm -lpthread -ldl &&
		"$OUT/met-bench" "$REPS"
}

if [ -n "$VOCAB" ]; then
	vocab_note="vocab $(basename "$VOCAB")"
	tag=spm
else
	vocab_note="built-in byte vocab"
	tag=byte
fi

# the models: synthesized once per dtype and vocabulary
for dt in $DTYPES; do
	m=$OUT/m110-$dt.gguf
	stamp=$OUT/m110-$dt.vocab
	if [ ! -f "$m" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$tag" ]; then
		if [ -n "$VOCAB" ]; then
			"$MERILO" synth --arch llama --preset 110m --dtype "$dt" --seed 1 --vocab "$VOCAB" -o "$m" >&2
		else
			"$MERILO" synth --arch llama --preset 110m --dtype "$dt" --seed 1 -o "$m" >&2
		fi
		echo "$tag" >"$stamp"
	fi
done

echo "merilo CPU speed: llama 110m-shaped random weights, $vocab_note, $THREADS threads"
echo "host: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo

if "$MERILO" bench --help >/dev/null 2>&1; then
	for dt in $DTYPES; do
		"$MERILO" bench --model "$OUT/m110-$dt.gguf" --prompt $N_PROMPT --gen $N_GEN \
			--threads "$THREADS" --reps "$REPS" --format md
	done
	metrics_figures
	exit 0
fi

# --- fallback: merilo generate --timing ---
# A prompt of exactly N_PROMPT tokens (BOS included): bisect on the length (in
# characters) of a prefix of a plain English text, so one step adds at most a token.
first=$(echo $DTYPES | cut -d' ' -f1)
model1=$OUT/m110-$first.gguf
text=""
while [ ${#text} -lt $((N_PROMPT * 16)) ]; do
	text="${text}the cat sat on the mat and the dog ran in the park with a red ball. "
done
prefix() {
	printf '%s' "$text" | cut -c "1-$1"
}
count() {
	"$MERILO" tokenize --model "$model1" "$(prefix "$1")" | wc -w
}
lo=1
hi=${#text}
[ "$(count $hi)" -ge $N_PROMPT ] || { echo "bench: cannot build a prompt of $N_PROMPT tokens" >&2; exit 1; }
while [ $((hi - lo)) -gt 1 ]; do
	mid=$(((lo + hi) / 2))
	if [ "$(count $mid)" -lt $N_PROMPT ]; then lo=$mid; else hi=$mid; fi
done
prompt=$(prefix $hi)

# generate -n N decodes N-1 tokens after the prefill (the first comes from its logits)
printf '| model | size | prefill t/s (pp) | decode t/s (tg) |\n|---|---|---|---|\n'
for dt in $DTYPES; do
	m=$OUT/m110-$dt.gguf
	best_pp=0
	best_tg=0
	n_pp=0
	n_tg=0
	r=0
	while [ $r -lt "$REPS" ]; do
		t=$("$MERILO" generate --model "$m" --prompt "$prompt" -n $((N_GEN + 1)) --threads "$THREADS" \
			--ids --timing 2>&1 >/dev/null)
		pp=$(echo "$t" | sed -n 's/^prefill: \([0-9]*\) tokens in .*(\([0-9.]*\) tokens\/s)/\2/p')
		tg=$(echo "$t" | sed -n 's/^decode: \([0-9]*\) tokens in .*(\([0-9.]*\) tokens\/s)/\2/p')
		n_pp=$(echo "$t" | sed -n 's/^prefill: \([0-9]*\) tokens.*/\1/p')
		n_tg=$(echo "$t" | sed -n 's/^decode: \([0-9]*\) tokens.*/\1/p')
		[ -n "$pp" ] && [ -n "$tg" ] || { echo "bench: cannot read the timing of $m: $t" >&2; exit 1; }
		best_pp=$(awk -v a="$best_pp" -v b="$pp" 'BEGIN { print (b > a ? b : a) }')
		best_tg=$(awk -v a="$best_tg" -v b="$tg" 'BEGIN { print (b > a ? b : a) }')
		r=$((r + 1))
	done
	size=$(du -m "$m" | cut -f1)
	printf '| m110-%s | %s MiB | pp%s: %s | tg%s: %s |\n' "$dt" "$size" "$n_pp" "$best_pp" "$n_tg" "$best_tg"
done
echo
echo "(best of $REPS runs each, merilo generate --timing)"
metrics_figures
