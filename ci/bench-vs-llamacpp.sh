#!/bin/sh
# bench-vs-llamacpp.sh — merilo and llama.cpp's llama-bench side by side on the same
# GGUF files, the same thread count, interleaved (`make bench-vs-llamacpp`).
#
# Files: the 110M-shaped `merilo synth --preset 110m` models in F16, Q8_0 and Q4_0
# with the llama-spm vocabulary (random weights, made once under $BUILD/bench/, as
# ci/bench.sh), and SmolLM2-135M in Q4_K_M made by llama-quantize from the shared
# Q4_1 file (-> F16 -> Q4_K_M, once, under $BUILD/smollm2/, the names that
# tests/smollm2-fixtures.sh uses); any other key (q4_1, q5_1, iq4_nl, q2_k, q3_k_m,
# q5_k_m, q6_k, ...) is SmolLM2 in that llama-quantize type, made the same way.
# A key m110-TYPE (m110-q4_k_m, m110-q6_k, ...) is the 110M F16 file in that llama-quantize
# type: its rows (768 and 2048 wide) are whole K-quant blocks, as in 7B-class models, where
# SmolLM2's 576-wide ones are not (llama-quantize writes those as Q5_0/Q8_0).
# A key m7b-TYPE (m7b-q4_k_m, ...) is a 7B-shaped slice in that type: `merilo synth
# --preset 7b --layers 2 --kv-heads 8 --ffn 14336 --dtype f16` (Mistral-7B's matrix
# shapes: 4096- and 14336-wide rows, a 32000 x 4096 output matrix; 1.4 GB in F16),
# through llama-quantize, under $BUILD/bench/.
# A key moe-TYPE (moe-q8_0, moe-q4_0, moe-f16, moe-q4_k_m, ...) is a mixture of experts in
# Mixtral's layout, 110M-shaped with 8 experts of 2048 on every layer, 2 a token (`merilo synth
# --preset 110m --experts 8 --experts-used 2`, 0.45B parameters, 0.17B a token): merilo synth's
# own dtypes directly, any other through llama-quantize from its F16 file.
# Tests: pp128, pp512 and tg32 (llama-bench's -p/-n; merilo bench's pp and tg at
# depth 0).
#
# Each of $ROUNDS rounds runs, per model, one merilo bench and one llama-bench
# (each with its own warm-up, then $REPS timed repetitions), alternating which goes
# first; the figure of a round is that run's tokens/s. The table has, per model and
# test, the median over the rounds of each engine and the ratio of the medians
# (merilo / llama.cpp: above 1 merilo is faster). The load average before and after
# goes into the header: on a shared machine the figures mean little without it.
#
# llama.cpp is a peer used for measurement only: its binaries are called, nothing
# of its code is copied. Where they are absent the script says "llama.cpp not found"
# and exits 0.
#
# Environment: BUILD (default build), MERILO ($BUILD/merilo), LLAMA_DIR
# (../shared/tools/llama.cpp), THREADS (2), ROUNDS (5), REPS (1), PROMPTS ("128 512"),
# GEN (32), MODELS ("f16 q8_0 q4_0 m110-q4_k_m q4_k_m"), OUT ($BUILD/bench-vs-llamacpp.md).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
MERILO=${MERILO:-$BUILD/merilo}
LLAMA_DIR=${LLAMA_DIR:-$ROOT/../shared/tools/llama.cpp}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-1}
PROMPTS=${PROMPTS:-"128 512"}
GEN=${GEN:-32}
MODELS=${MODELS:-"f16 q8_0 q4_0 m110-q4_k_m q4_k_m"}
OUT=${OUT:-$BUILD/bench-vs-llamacpp.md}
VOCAB=$ROOT/../shared/fixtures/tokenizer/ggml-vocab-llama-spm.gguf
SMOL_SRC=$ROOT/../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf
LB=$LLAMA_DIR/llama-bench
LQ=$LLAMA_DIR/llama-quantize

if [ ! -x "$LB" ]; then
	echo "llama.cpp not found ($LB): nothing to compare"
	exit 0
fi
[ -x "$MERILO" ] || { echo "bench-vs-llamacpp: $MERILO not found (run make first)" >&2; exit 1; }
for v in "$THREADS" "$ROUNDS" "$REPS" "$GEN"; do
	case $v in '' | *[!0-9]*) echo "bench-vs-llamacpp: '$v' is not a whole number" >&2; exit 2 ;; esac
done

# ---- the files ----
model_path() {
	case $1 in
	f16 | bf16 | f32 | q8_0 | q4_0) echo "$BUILD/bench/m110-$1.gguf" ;;
	m110-* | m7b-* | moe-*) echo "$BUILD/bench/$1.gguf" ;;
	*) echo "$BUILD/smollm2/smollm2-$1.gguf" ;;
	esac
}

make_model() { # $1 = model key; prints nothing, fails with a message
	m=$(model_path "$1")
	case $1 in
	f16 | bf16 | f32 | q8_0 | q4_0) ;;
	moe-*)
		[ -s "$m" ] && return 0
		[ -f "$VOCAB" ] || { echo "bench-vs-llamacpp: $VOCAB is absent" >&2; return 1; }
		mkdir -p "$(dirname "$m")"
		t=${1#moe-}
		case $t in
		f16 | bf16 | f32 | q8_0 | q4_0)
			"$MERILO" synth --arch llama --preset 110m --experts 8 --experts-used 2 --dtype "$t" --seed 1 \
				--vocab "$VOCAB" -o "$m" >&2
			return
			;;
		esac
		[ -x "$LQ" ] || { echo "bench-vs-llamacpp: $LQ is absent: cannot make $m" >&2; return 1; }
		make_model moe-f16 || return 1
		m=$(model_path "$1") t=${1#moe-} # (the call above set both for the F16 file)
		"$LQ" "$(model_path moe-f16)" "$m" "$(echo "$t" | tr 'a-z' 'A-Z')" 2 >"$m.log" 2>&1 || {
			echo "bench-vs-llamacpp: llama-quantize cannot make '$1' (see $m.log)" >&2
			return 1
		}
		return 0
		;;
	m110-* | m7b-*) # llama-quantize's type of the 110M F16 file (rows 768 and 2048 wide: all
		# K-quant blocks) or of the 7B-shaped slice
		[ -s "$m" ] && return 0
		[ -x "$LQ" ] || { echo "bench-vs-llamacpp: $LQ is absent: cannot make $m" >&2; return 1; }
		case $1 in
		m110-*)
			make_model f16 || return 1
			src=$(model_path f16)
			;;
		*)
			src=$BUILD/bench/m7b-f16-slice.gguf
			[ -s "$src" ] || "$MERILO" synth --arch llama --preset 7b --layers 2 --kv-heads 8 --ffn 14336 \
				--dtype f16 --seed 1 -o "$src" >&2 || return 1
			;;
		esac
		m=$(model_path "$1") # (make_model f16 set m to the F16 file)
		"$LQ" "$src" "$m" "$(echo "${1#m*-}" | tr 'a-z' 'A-Z')" 2 >"$m.log" 2>&1 || {
			echo "bench-vs-llamacpp: llama-quantize cannot make '$1' (see $m.log)" >&2
			return 1
		}
		return 0
		;;
	*)
		[ -s "$m" ] && return 0
		[ -x "$LQ" ] && [ -f "$SMOL_SRC" ] || {
			echo "bench-vs-llamacpp: $LQ or $SMOL_SRC is absent: cannot make $m" >&2
			return 1
		}
		mkdir -p "$(dirname "$m")"
		f16=$(dirname "$m")/smollm2-f16.gguf
		[ -s "$f16" ] || "$LQ" --allow-requantize "$SMOL_SRC" "$f16" F16 2 >"$m.log" 2>&1
		"$LQ" "$f16" "$m" "$(echo "$1" | tr 'a-z' 'A-Z')" 2 >>"$m.log" 2>&1 || {
			echo "bench-vs-llamacpp: llama-quantize cannot make '$1' (see $m.log)" >&2
			return 1
		}
		return 0
		;;
	esac
	[ -f "$VOCAB" ] || { echo "bench-vs-llamacpp: $VOCAB is absent" >&2; return 1; }
	# the same file as ci/bench.sh (its stamp says which vocabulary)
	if [ ! -s "$m" ] || [ "$(cat "${m%.gguf}.vocab" 2>/dev/null)" != spm ]; then
		mkdir -p "$(dirname "$m")"
		"$MERILO" synth --arch llama --preset 110m --dtype "$1" --seed 1 --vocab "$VOCAB" -o "$m" >&2
		echo spm >"${m%.gguf}.vocab"
	fi
}

for k in $MODELS; do
	make_model "$k"
done

# ---- the measurements: one line "engine model test tps" per figure into $RAW ----
RAW=$BUILD/bench-vs-llamacpp.raw
: >"$RAW"
plist=$(echo $PROMPTS | tr ' ' ',')
tests="$(for p in $PROMPTS; do printf 'pp%s ' "$p"; done)tg$GEN"

run_merilo() { # $1 model key
	# CSV columns counted from the right (the model's name, first, may hold anything):
	# ..., test, kind, n_prompt, n_gen, depth, reps, warmup, seed, tps_mean, tps_sd, tps_median, ...
	"$MERILO" bench --model "$(model_path "$1")" -p "$plist" -n "$GEN" -t "$THREADS" -r "$REPS" \
		--warmup 1 --energy-window 0 --format csv 2>/dev/null |
		awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "test") t = NF - i; if ($i == "tps_median") s = NF - i } next }
			$(NF - t) ~ /^pp[0-9]+$/ || $(NF - t) ~ /^tg[0-9]+@d0$/ {
				name = $(NF - t); sub(/@d0$/, "", name); print "merilo", k, name, $(NF - s) }'
}

run_llama() { # $1 model key
	"$LB" -m "$(model_path "$1")" -p "$plist" -n "$GEN" -t "$THREADS" -r "$REPS" -o csv 2>/dev/null |
		tr -d '"' |
		awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "n_prompt") p = NF - i;
				if ($i == "n_gen") g = NF - i; if ($i == "avg_ts") s = NF - i } next }
			{ name = $(NF - p) > 0 ? "pp" $(NF - p) : "tg" $(NF - g); print "llama.cpp", k, name, $(NF - s) }'
}

# the source the binary was presumably built from: HEAD when the run starts (-dirty: with local changes)
merilo_rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for k in $MODELS; do
		if [ $((r % 2)) -eq 1 ]; then
			run_merilo "$k" >>"$RAW"
			run_llama "$k" >>"$RAW"
		else
			run_llama "$k" >>"$RAW"
			run_merilo "$k" >>"$RAW"
		fi
	done
	echo "bench-vs-llamacpp: round $r of $ROUNDS done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	r=$((r + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----
median() { # figures on stdin, one a line
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
llama_commit=$(sed -n 's/^commit: \([0-9a-f]\{8\}\).*/\1/p' "$LLAMA_DIR/SOURCE.txt" 2>/dev/null || true)
{
	echo "merilo ($merilo_rev) vs llama.cpp llama-bench (${llama_commit:-unknown}), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "host: $cpu, $(nproc) CPUs; load average (1/5/15 min) $load_before before, $load_after after"
	echo "$THREADS threads, $ROUNDS interleaved rounds of $REPS timed repetition(s) each (after a warm-up); medians over the rounds"
	echo
	echo "| model | test | merilo t/s | llama.cpp t/s | merilo / llama.cpp |"
	echo "|---|---|---:|---:|---:|"
	for k in $MODELS; do
		m=$(basename "$(model_path "$k")" .gguf)
		for t in $tests; do
			a=$(awk -v k="$k" -v t="$t" '$1 == "merilo" && $2 == k && $3 == t { print $4 }' "$RAW" | median)
			b=$(awk -v k="$k" -v t="$t" '$1 == "llama.cpp" && $2 == k && $3 == t { print $4 }' "$RAW" | median)
			awk -v m="$m" -v t="$t" -v a="$a" -v b="$b" 'BEGIN {
				printf "| %s | %s | %.1f | %.1f | %s |\n", m, t, a, b, (b > 0 ? sprintf("%.2fx", a / b) : "n/a") }'
		done
	done
} >"$OUT"
cat "$OUT"
echo "(written to $OUT; the figures of every round in $RAW)" >&2
