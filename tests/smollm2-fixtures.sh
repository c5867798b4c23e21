#!/bin/sh
# smollm2-fixtures.sh OUT_DIR — llama.cpp's quantizations of SmolLM2-135M and its
# reference perplexities, for tests/eng_conformance_real.c (never committed).
#
# From ../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf: an F16 file
# (llama-quantize --allow-requantize), then every type of the issue from F16;
# ppl-text tokenized by llama-tokenize (ids, no BOS: the model adds none), and
# llama-perplexity -c 256 -b 256 for each type (F16 KV cache, as merilo; also -b 32 and
# an F32 KV cache, llama.cpp's own spreads), run without its AMX backend (below). Idempotent:
# a file already made is kept. Exit 77 (skip) where the tools or the model are absent.
set -eu
OUT=${1:?usage: smollm2-fixtures.sh OUT_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LL=$ROOT/../shared/tools/llama.cpp
SRC=$ROOT/../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf
TEXT=$ROOT/../shared/fixtures/expected/ppl-text.txt
for f in "$LL/llama-quantize" "$LL/llama-perplexity" "$LL/llama-tokenize" "$SRC" "$TEXT"; do
	[ -e "$f" ] || { echo "smollm2-fixtures: $f is absent" >&2; exit 77; }
done
mkdir -p "$OUT"
cp -f "$SRC" "$OUT/smollm2-q4_1.gguf" 2>/dev/null || true
# The oracle runs without llama.cpp's sapphirerapids backend, the only one of its CPU
# variants with AMX and the one it picks on a CPU with AMX-INT8: at f0d4d176 its AMX
# kernels give SmolLM2's Q4_0 and Q4_1 files a perplexity of 361 and 354 where every
# other backend gives 49.0 and 39.6 (seen on an Intel Xeon with AMX, 2026-12-05;
# docs/engine.md). ggml looks for its backends next to the executable's real path, so
# the oracle is a copy of the folder without that file (under OUT, never committed);
# on a CPU without AMX it picks the backend it picked before. A perplexity made by
# another oracle (the stamp differs) is made again.
OR=$OUT/llama.cpp
STAMP="llama.cpp oracle: $(cat "$LL/SOURCE.txt" 2>/dev/null | head -2 | tr '\n' ' ') without libggml-cpu-sapphirerapids.so"
if [ "$(cat "$OUT/oracle.txt" 2>/dev/null)" != "$STAMP" ]; then
	rm -rf "$OR" "$OUT"/*.ppl "$OUT"/*.ppl.b32 "$OUT"/*.ppl.kvf32
	mkdir -p "$OR"
	for f in "$LL"/*; do
		case ${f##*/} in libggml-cpu-sapphirerapids.so) ;; *) cp -p "$f" "$OR/" ;; esac
	done
	printf '%s\n' "$STAMP" >"$OUT/oracle.txt"
fi
[ -s "$OUT/smollm2-f16.gguf" ] ||
	"$LL/llama-quantize" --allow-requantize "$SRC" "$OUT/smollm2-f16.gguf" F16 2 >"$OUT/quantize.log" 2>&1
for t in BF16 Q8_0 Q4_0 Q5_0 Q5_1 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS; do
	lt=$(echo "$t" | tr 'A-Z' 'a-z')
	[ -s "$OUT/smollm2-$lt.gguf" ] ||
		"$LL/llama-quantize" "$OUT/smollm2-f16.gguf" "$OUT/smollm2-$lt.gguf" "$t" 2 >>"$OUT/quantize.log" 2>&1
done
[ -s "$OUT/ppl-text.ids" ] ||
	"$LL/llama-tokenize" -m "$OUT/smollm2-f16.gguf" -f "$TEXT" --ids --no-bos --log-disable 2>/dev/null |
	tr -d '[],' | tr ' ' '\n' | grep -v '^$' >"$OUT/ppl-text.ids"
for m in "$OUT"/smollm2-*.gguf; do
	r=${m%.gguf}.ppl
	[ -s "$r" ] && continue
	for b in 256 32; do
		"$OR/llama-perplexity" -m "$m" -f "$TEXT" -c 256 -b $b -t 2 2>&1 |
			sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' >"$r.b$b"
	done
	mv "$r.b256" "$r"
done
# llama.cpp's own sensitivity to rounding: the same perplexity with an f32 KV cache
# (a change at the level of one f16 rounding of K and V; see docs/engine.md)
for m in "$OUT"/smollm2-*.gguf; do
	r=${m%.gguf}.ppl.kvf32
	[ -s "$r" ] ||
		"$OR/llama-perplexity" -m "$m" -f "$TEXT" -c 256 -b 256 -t 2 -ctk f32 -ctv f32 2>&1 |
			sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' >"$r"
done
# Rope scaling (tests/eng_conformance_real.c writes the F16 file again with the same
# settings as metadata; llama.cpp gives the same perplexity for the metadata and for these
# flags, checked 2026-12-06): name, then llama-perplexity's flags.
while read -r name flags; do
	r=$OUT/rope-$name.ppl
	# shellcheck disable=SC2086
	[ -s "$r" ] ||
		"$OR/llama-perplexity" -m "$OUT/smollm2-f16.gguf" -f "$TEXT" -c 256 -b 256 -t 2 $flags 2>&1 |
			sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' >"$r"
	# shellcheck disable=SC2086
	[ -s "$r.kvf32" ] ||
		"$OR/llama-perplexity" -m "$OUT/smollm2-f16.gguf" -f "$TEXT" -c 256 -b 256 -t 2 -ctk f32 -ctv f32 \
			$flags 2>&1 | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' >"$r.kvf32"
done <<'EOF_ROPE'
linear4 --rope-scaling linear --rope-scale 4
scale_linear2 --rope-scaling linear --rope-scale 2
yarn4 --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 64
yarn4_attn1.2 --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 64 --yarn-attn-factor 1.2
attn1.2 --yarn-attn-factor 1.2
EOF_ROPE
# A model with a tied K-quant output matrix (SmolLM2's rows, 576 wide, cannot be K-quants:
# its tied token_embd is Q8_0): merilo synth --tied, then llama-quantize, which gives the
# tied token_embd the output's type, Q6_K (tests/eng_repack.c: the repacked output matrix,
# its embedding rows read back from the blocks). Named outside smollm2-*.gguf: no
# perplexity for it. Needs $MERILO (the Makefile passes it).
if [ -n "${MERILO:-}" ] && [ -x "$MERILO" ] && [ ! -s "$OUT/tied-q4_k_m.gguf" ]; then
	"$MERILO" synth --preset tiny --dim 256 --ffn 512 --tied --dtype f16 -o "$OUT/tied-f16.gguf" >>"$OUT/quantize.log" 2>&1
	"$LL/llama-quantize" "$OUT/tied-f16.gguf" "$OUT/tied-q4_k_m.gguf" Q4_K_M 2 >>"$OUT/quantize.log" 2>&1
	rm -f "$OUT/tied-f16.gguf"
fi
# merilo reads SmolLM2's byte-level BPE tokenizer, so the test opens these files as they
# are (it feeds llama-tokenize's ids; no copies with another vocabulary are needed)
