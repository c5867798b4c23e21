#!/usr/bin/env bash
# gpu-check.sh — the one prepared script for a lent GPU (H100/H200); see docs/gpu.md.
#
#   ci/gpu-check.sh prepare   here, on the CPU machine with nvcc: build and stage
#                             build-gpu/ (merilo, libmerilo-cuda.so, the GPU test, the
#                             runtime libraries merilo needs, a fixture subset)
#   ci/gpu-check.sh           on the device, in the repo root, with build-gpu carried and
#                             $OUT set: GPU tests, compute-sanitizer, roofline, 7B benches
#
# Everything it finds goes under $OUT (at most 8 files come back: gpu-check.log,
# summary.txt, eng_cuda.tap, memcheck.txt, roofline.txt, bench.txt, gpu-state.csv).
# The last lines it prints are the summary table.
set -u
STAGE=build-gpu
OBJ=build-gpu-obj

if [ "${1:-}" = prepare ]; then
	set -e
	FX=${MERILO_FIXTURES:-../shared/fixtures}
	# x86-64-v3 (AVX2/F16C/FMA), not -march=native: the device's CPU is another one
	make BUILD=$OBJ OPT="-O3 -march=x86-64-v3" $OBJ/merilo $OBJ/libmerilo-cuda.so $OBJ/tests/eng_cuda.t
	rm -rf $STAGE
	mkdir -p $STAGE/tests $STAGE/lib $STAGE/fixtures/models $STAGE/fixtures/expected \
		$STAGE/fixtures/data/benchich-copa $STAGE/fixtures/tokenizer
	cp $OBJ/merilo $OBJ/libmerilo-cuda.so $STAGE/
	cp $OBJ/tests/eng_cuda.t $STAGE/tests/
	# merilo's own shared libraries (the device has no Debian registry); cuBLAS is too
	# big to carry (libcublasLt.so.13 is 540 MB) and is taken from the device's CUDA 13
	for l in libjansson.so.4 libutf8proc.so.2; do
		cp -L "$(ldd $OBJ/merilo | awk -v l=$l '$1 == l { print $3 }')" $STAGE/lib/
	done
	for m in "$FX"/models/tiny-llama-*.gguf; do
		stem=$(basename "$m" .gguf)
		cp "$m" $STAGE/fixtures/models/
		cp -r "$FX/expected/$stem" $STAGE/fixtures/expected/
	done
	cp "$FX/expected/ppl-text.txt" $STAGE/fixtures/expected/
	cp "$FX/data/benchich-copa/test-sr-lat.jsonl" "$FX/data/benchich-copa/test-sr.jsonl" \
		"$FX/data/benchich-copa/test-hr.jsonl" $STAGE/fixtures/data/benchich-copa/
	cp "$FX/tokenizer/ggml-vocab-llama-spm.gguf" $STAGE/fixtures/tokenizer/
	du -sh $STAGE
	echo "staged $STAGE: carry [\"$STAGE\"] and run: ci/gpu-check.sh"
	exit 0
fi

export PATH="$PATH:/usr/local/cuda/bin"
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
SUM="$OUT/summary.txt"
: > "$SUM"
note() { echo "$*" | tee -a "$SUM"; }
M=$PWD/$STAGE/merilo
MODELS=${GPU_CHECK_MODELS:-/tmp/merilo-gpu-models}
mkdir -p "$MODELS"

# cuBLAS from the device's own CUDA 13 (or the pip wheel next to PyTorch)
CUBLAS_DIR=
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
	$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null); do
	if [ -e "$d/libcublas.so.13" ]; then CUBLAS_DIR=$d; break; fi
done
export LD_LIBRARY_PATH="$PWD/$STAGE/lib${CUBLAS_DIR:+:$CUBLAS_DIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MERILO_FIXTURES=$PWD/$STAGE/fixtures
export NVIDIA_TF32_OVERRIDE=0        # F32 comparisons: no TF32 anywhere
export CUDA_MODULE_LOADING=EAGER     # kernel loading stays out of the timed runs
note "gpu-check $(date -u +%FT%TZ) commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo ?)"
note "cublas: ${CUBLAS_DIR:-NOT FOUND}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
	--format=csv > "$OUT/gpu-state.csv" 2>&1 || true
cat "$OUT/gpu-state.csv"
if [ ! -x "$M" ]; then
	note "FAIL: $M missing: run 'ci/gpu-check.sh prepare' here and carry $STAGE"
	exit 1
fi

# the 7B-shaped models take minutes of CPU: start them now, in parallel with the tests
# (GPU_CHECK_NO_7B=1 leaves them out, for a dry run on a machine without a GPU)
VOCAB=$MERILO_FIXTURES/tokenizer/ggml-vocab-llama-spm.gguf
DTYPES="f16 q8_0 q4_0"
[ -n "${GPU_CHECK_NO_7B:-}" ] && DTYPES=
for dt in $DTYPES; do
	( "$M" synth --preset 7b --dtype $dt --vocab "$VOCAB" --seed 1 -o "$MODELS/7b-$dt.gguf" \
		> "$MODELS/synth-$dt.log" 2>&1; echo $? > "$MODELS/synth-$dt.rc" ) &
done

# 1. backend consistency + fixture models
timeout 300 "$STAGE/tests/eng_cuda.t" > "$OUT/eng_cuda.tap" 2>&1
rc=$?
nok=$(grep -c '^not ok' "$OUT/eng_cuda.tap")
nall=$(grep -c '^ok\|^not ok' "$OUT/eng_cuda.tap")
note "eng_cuda.t: exit $rc, $nok of $nall checks failed$(grep -m1 '# SKIP' "$OUT/eng_cuda.tap" | sed 's/^/ — /')"
grep '^not ok' -A3 "$OUT/eng_cuda.tap" | head -40

# 2. compute-sanitizer memcheck over short runs of the tiny model (f16: cuBLAS + f16
#    kernels; q4_0: dequantization + Q8_0 activations), prefill and decode
"$M" synth --preset tiny --dtype f16 --seed 1 -o "$MODELS/tiny-f16.gguf" > /dev/null
"$M" synth --preset tiny --dtype q4_0 --seed 1 -o "$MODELS/tiny-q4_0.gguf" > /dev/null
: > "$OUT/memcheck.txt"
for dt in f16 q4_0; do
	timeout 240 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 \
		"$M" generate --model "$MODELS/tiny-$dt.gguf" --prompt "$(printf 'a%.0s ' $(seq 1 80))" -n 8 --ids \
		--backend cuda >> "$OUT/memcheck.txt" 2>&1
	note "compute-sanitizer memcheck tiny-$dt: exit $? ($(grep -m1 'ERROR SUMMARY' "$OUT/memcheck.txt" | tail -1))"
done

# 3. the machine's ceilings (PyTorch is in the device image): device-to-device copy
#    bandwidth (read + write bytes) and bf16 GEMM FLOP/s, medians after warm-up
timeout 120 python3 - > "$OUT/roofline.txt" 2>&1 <<'PY'
import torch, statistics
def t(f, n=20):
    for _ in range(3): f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); f(); b.record(); torch.cuda.synchronize(); ts.append(a.elapsed_time(b) / 1e3)
    return statistics.median(ts)
x = torch.randn(2 * 1024**3 // 4, device="cuda"); y = torch.empty_like(x)
s = t(lambda: y.copy_(x))
print(f"bandwidth_GBps {2 * x.numel() * 4 / s / 1e9:.0f}")
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16); b = torch.randn_like(a)
s = t(lambda: a @ b)
print(f"bf16_gemm_TFLOPs {2 * 8192**3 / s / 1e12:.0f}")
PY
cat "$OUT/roofline.txt"
BW=$(awk '/bandwidth_GBps/ { print $2 }' "$OUT/roofline.txt")
FL=$(awk '/bf16_gemm_TFLOPs/ { print $2 }' "$OUT/roofline.txt")
note "measured ceilings: ${BW:-?} GB/s copy bandwidth, ${FL:-?} TFLOP/s bf16 GEMM"

# 4. 7B-shaped benches: pp512 + tg128, batch 1, with `merilo generate --timing`
#    (`merilo bench` does not exist yet). Each run is done twice; the second counts.
PROMPT="a$(printf ' a%.0s' $(seq 1 510))"   # 511 tokens + BOS = 512 with llama-spm
: > "$OUT/bench.txt"
for dt in $DTYPES; do
	while [ ! -e "$MODELS/synth-$dt.rc" ]; do sleep 2; done
	if [ "$(cat "$MODELS/synth-$dt.rc")" != 0 ]; then
		note "7b-$dt: synth failed: $(tail -1 "$MODELS/synth-$dt.log")"; continue
	fi
	bytes=$(stat -c %s "$MODELS/7b-$dt.gguf")
	for run in 1 2; do
		timeout 180 "$M" generate --model "$MODELS/7b-$dt.gguf" --prompt "$PROMPT" -n 128 --ids --timing \
			--backend cuda > /dev/null 2> "$MODELS/bench-$dt.txt"
		rc=$?
	done
	{ echo "== 7b-$dt ($bytes bytes) exit $rc"; cat "$MODELS/bench-$dt.txt"; } >> "$OUT/bench.txt"
	pp=$(sed -n 's/^prefill: \([0-9]*\) tokens.*(\([0-9.]*\) tokens\/s).*/\1 \2/p' "$MODELS/bench-$dt.txt")
	tg=$(sed -n 's/^decode: \([0-9]*\) tokens.*(\([0-9.]*\) tokens\/s).*/\1 \2/p' "$MODELS/bench-$dt.txt")
	# decode bytes per token ~ the weights (file size; KV traffic at <= 640 positions is < 1%)
	util=$(awk -v b="$bytes" -v t="${tg#* }" -v bw="${BW:-0}" 'BEGIN { if (bw > 0) printf "%.0f%%", 100 * b * t / (bw * 1e9); else print "?" }')
	# prefill FLOPs ~ 2 * params * tokens (attention adds ~1% at 512); params from synth's line
	params=$(sed -n 's/.* \([0-9.]*\)M params.*/\1/p' "$MODELS/synth-$dt.log")
	futil=$(awk -v p="${params:-0}" -v t="${pp#* }" -v fl="${FL:-0}" 'BEGIN { if (fl > 0 && p > 0) printf "%.0f%%", 100 * 2 * p * 1e6 * t / (fl * 1e12); else print "?" }')
	note "7b-$dt: pp${pp%% *} ${pp#* } t/s (${futil} of bf16 GEMM peak), tg${tg%% *} ${tg#* } t/s (decode bandwidth utilization $util) (exit $rc)"
	# the same through `merilo bench` (pp512, tg128, batch 1; JSON with the raw samples)
	timeout 240 "$M" bench --model "$MODELS/7b-$dt.gguf" --backend cuda --prompt 512 --gen 128 \
		--reps 3 --warmup 1 --format json --out "$OUT/bench-7b-$dt.json" > "$OUT/bench-7b-$dt.md" 2>&1
	note "7b-$dt: merilo bench --backend cuda exit $?"
	# batched scoring throughput: the BENCHić COPA suite (1500 item x language units) on the F16 model
	if [ "$dt" = f16 ]; then
		BC=$MERILO_FIXTURES/data/benchich-copa
		"$M" import copa --lang sr-Cyrl=$BC/test-sr.jsonl --lang sr-Latn=$BC/test-sr-lat.jsonl \
			--lang hr=$BC/test-hr.jsonl -o "$MODELS/copa.json" > /dev/null
		timeout 300 "$M" run --model "$MODELS/7b-f16.gguf" --suite "$MODELS/copa.json" --backend cuda \
			--quiet --out "$OUT/copa-7b-f16" > "$OUT/copa-7b-f16.txt" 2>&1
		note "7b-f16 BENCHić scoring: exit $? — $(grep 'items/s' "$OUT/copa-7b-f16.txt")"
	fi
done
rm -f "$MODELS"/7b-*.gguf
echo "==== summary"
cat "$SUM"
