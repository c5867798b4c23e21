#!/usr/bin/env bash
# gpu-check.sh — the one prepared script for a lent GPU (H100/H200); see docs/gpu.md.
#
#   ci/gpu-check.sh prepare   here, on the CPU machine with nvcc: build and stage
#                             build-gpu/ (merilo, libmerilo-cuda.so, the GPU test, the
#                             runtime libraries merilo needs, a fixture subset)
#   ci/gpu-check.sh           on the device, in the repo root, with build-gpu carried and
#                             $OUT set: GPU tests, compute-sanitizer, roofline, 7B benches
#
# What comes back under $OUT (the device tool returns at most 8 files): summary.txt,
# gpu-check.log, and details.tgz with everything else (eng_cuda.tap, memcheck.txt,
# roofline.txt, the bench JSON/markdown, the runs' results.json/items.jsonl). The
# script keeps to its own time budget (GPU_CHECK_BUDGET seconds, default 450) so
# that it always packs and prints the summary before the call's limit.
set -u
STAGE=build-gpu
OBJ=build-gpu-obj

if [ "${1:-}" = prepare ]; then
	set -e
	FX=${MERILO_FIXTURES:-../shared/fixtures}
	# x86-64-v3 (AVX2/F16C/FMA), not -march=native: the device's CPU is another one
	# (AVX-512 kernels are still chosen at run time); no MPI: its libraries are not there
	make BUILD=$OBJ MPI=0 OPT="-O3 -march=x86-64-v3" $OBJ/merilo $OBJ/libmerilo-cuda.so $OBJ/tests/eng_cuda.t
	rm -rf $STAGE
	mkdir -p $STAGE/tests $STAGE/lib $STAGE/fixtures/models $STAGE/fixtures/expected \
		$STAGE/fixtures/data/benchich-copa $STAGE/fixtures/tokenizer
	cp $OBJ/merilo $OBJ/libmerilo-cuda.so $STAGE/
	cp $OBJ/tests/eng_cuda.t $STAGE/tests/
	# the shared libraries merilo and the test load (the device has no Debian registry),
	# all but the C library's own; cuBLAS is too big to carry (libcublasLt.so.13 is
	# 540 MB) and is taken from the device's CUDA 13
	ldd $OBJ/merilo $OBJ/tests/eng_cuda.t | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
		while read -r name path; do
			case $name in
			libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
			*) cp -L "$path" $STAGE/lib/ ;;
			esac
		done
	for m in "$FX"/models/tiny-llama-*.gguf; do
		stem=$(basename "$m" .gguf)
		cp "$m" $STAGE/fixtures/models/
		cp -r "$FX/expected/$stem" $STAGE/fixtures/expected/
	done
	cp "$FX/expected/ppl-text.txt" $STAGE/fixtures/expected/
	BC="$FX/data/benchich-copa"
	cp "$BC/test-sr-lat.jsonl" "$BC/test-sr.jsonl" "$BC/test-hr.jsonl" $STAGE/fixtures/data/benchich-copa/
	cp "$FX/tokenizer/ggml-vocab-llama-spm.gguf" $STAGE/fixtures/tokenizer/
	# BENCHić COPA as a merilo suite (500 items x 3 languages = 1500 units)
	$OBJ/merilo import copa --lang sr-Cyrl=$BC/test-sr.jsonl --lang sr-Latn=$BC/test-sr-lat.jsonl \
		--lang hr=$BC/test-hr.jsonl -o $STAGE/copa.json > /dev/null
	ls $STAGE/lib
	du -sh $STAGE
	echo "staged $STAGE: carry [\"$STAGE\"] and run: ci/gpu-check.sh"
	exit 0
fi

T0=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET:-450}
# GPU_CHECK_SKIP: any of memcheck, roofline, copa-tiny (a rerun within the same lease
# leaves out what an earlier call already measured; GPU_CHECK_BW / GPU_CHECK_FL then
# give the copy bandwidth in GB/s and the f16 GEMM rate in TFLOP/s it measured)
SKIP=" ${GPU_CHECK_SKIP:-} "
skip() { case "$SKIP" in *" $1 "*) return 0 ;; esac; return 1; }
COPA_BATCHES=${GPU_CHECK_COPA_BATCHES:-1 8 32}
left() { echo $((T0 + BUDGET - $(date +%s))); }
export PATH="$PATH:/usr/local/cuda/bin"
OUT=${OUT:-/tmp/gpu-check-out}
W=$OUT/details
mkdir -p "$W"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
SUM="$OUT/summary.txt"
: > "$SUM"
note() { echo "[$(($(date +%s) - T0)) s] $*" | tee -a "$SUM"; }
pack() {
	echo "==== summary"
	cat "$SUM"
	tar czf "$OUT/details.tgz" -C "$OUT" details && rm -rf "$W"
}
M=$PWD/$STAGE/merilo
MODELS=${GPU_CHECK_MODELS:-/tmp/merilo-gpu-models}
mkdir -p "$MODELS"

# cuBLAS from the device's own CUDA 13 (or the pip wheel next to PyTorch)
CUBLAS_DIR=
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
	$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null); do
	if [ -e "$d/libcublas.so.13" ]; then CUBLAS_DIR=$d; break; fi
done
[ -z "$CUBLAS_DIR" ] && CUBLAS_DIR=$(dirname "$(find /usr/local /opt /usr/lib -name libcublas.so.13 2>/dev/null | head -1)" 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/$STAGE/lib${CUBLAS_DIR:+:$CUBLAS_DIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MERILO_CUDA_LIB=$PWD/$STAGE/libmerilo-cuda.so
export MERILO_FIXTURES=$PWD/$STAGE/fixtures
export NVIDIA_TF32_OVERRIDE=0        # F32 comparisons: no TF32 anywhere
export CUDA_MODULE_LOADING=EAGER     # kernel loading stays out of the timed runs
note "gpu-check $(date -u +%FT%TZ) commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo ?), budget ${BUDGET} s"
note "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); cublas: ${CUBLAS_DIR:-NOT FOUND}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit,temperature.gpu,clocks_throttle_reasons.active \
	--format=csv > "$W/gpu-state.csv" 2>&1 || true
cat "$W/gpu-state.csv"
if [ ! -x "$M" ]; then
	note "FAIL: $M missing: run 'ci/gpu-check.sh prepare' here and carry $STAGE"
	pack
	exit 1
fi
"$M" --version | head -3
# the carried CUDA library must load here; if it does not (another libstdc++, say),
# build it again with the device's nvcc (it needs no library but cuBLAS)
"$M" synth --preset tiny --dtype f16 --seed 1 -o "$MODELS/tiny-f16.gguf" > /dev/null
probe=$("$M" generate --model "$MODELS/tiny-f16.gguf" --prompt hi -n 2 --ids --backend cuda 2>&1 >/dev/null)
if echo "$probe" | grep -q "cannot load"; then
	note "carried libmerilo-cuda.so does not load ($probe); building it here"
	nvcc -O3 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 -I. \
		-Xcompiler -fPIC,-fvisibility=hidden -shared -cudart static -o "$STAGE/libmerilo-cuda.so" engine/cuda/*.cu \
		${CUBLAS_DIR:+-L$CUBLAS_DIR} -lcublas 2>&1 | tail -5
	probe=$("$M" generate --model "$MODELS/tiny-f16.gguf" --prompt hi -n 2 --ids --backend cuda 2>&1 >/dev/null)
fi
note "probe (tiny f16, generate --backend cuda): ${probe:-ok}"

# the 7B-shaped models (Mistral-7B's shape: dim 4096, 32 layers, 32/8 heads, ffn 14336,
# vocabulary 32000) take minutes of CPU: start them now, in parallel with the tests
# (GPU_CHECK_NO_7B=1 leaves them out, for a dry run on a machine without a GPU)
VOCAB=$MERILO_FIXTURES/tokenizer/ggml-vocab-llama-spm.gguf
DTYPES="f16 q8_0 q4_0"
[ -n "${GPU_CHECK_NO_7B:-}" ] && DTYPES=
# one after another: each draws and quantizes its rows on every CPU
( for dt in $DTYPES; do
	"$M" synth --preset 7b --kv-heads 8 --ffn 14336 --dtype $dt --vocab "$VOCAB" --seed 1 -o "$MODELS/7b-$dt.gguf" \
		> "$MODELS/synth-$dt.log" 2>&1
	echo $? > "$MODELS/synth-$dt.rc"
done ) &

# 1. every op vs the CPU, then the fixture models (one and several sequences per context)
timeout 200 "$STAGE/tests/eng_cuda.t" > "$W/eng_cuda.tap" 2>&1
rc=$?
nok=$(grep -c '^not ok' "$W/eng_cuda.tap")
nall=$(grep -c '^ok\|^not ok' "$W/eng_cuda.tap")
note "eng_cuda.t: exit $rc, $nok of $nall checks failed$(grep -m1 '# SKIP' "$W/eng_cuda.tap" | sed 's/^/ — /')"
grep '^not ok' -A3 "$W/eng_cuda.tap" | head -40
grep -m1 '# device:' "$W/eng_cuda.tap"

# 2. compute-sanitizer memcheck over short runs of tiny models: f16 (cuBLAS + f16 kernels)
#    and q4_0 (dequantization + Q8_0 activations), prefill and decode; two prompts that
#    share a prefix in one batch (multi-sequence ops, a prefix copied between slots);
#    batched scoring of 4 COPA items per language
"$M" synth --preset tiny --dtype f16 --seed 1 -o "$MODELS/tiny-f16.gguf" > /dev/null
"$M" synth --preset tiny --dtype q4_0 --seed 1 -o "$MODELS/tiny-q4_0.gguf" > /dev/null
: > "$W/memcheck.txt"
if ! skip memcheck; then
A80="$(printf 'a%.0s ' $(seq 1 80))"
mc() {
	local what=$1
	shift
	echo "== $what" >> "$W/memcheck.txt"
	timeout 120 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$@" >> "$W/memcheck.txt" 2>&1
	note "compute-sanitizer memcheck $what: exit $? ($(grep 'ERROR SUMMARY' "$W/memcheck.txt" | tail -1))"
}
mc "generate tiny-f16" "$M" generate --model "$MODELS/tiny-f16.gguf" --prompt "$A80" -n 8 --ids --backend cuda
mc "generate tiny-q4_0" "$M" generate --model "$MODELS/tiny-q4_0.gguf" --prompt "$A80" -n 8 --ids --backend cuda
mc "generate tiny-f16, 2 prompts sharing 80 tokens, one batch" "$M" generate --model "$MODELS/tiny-f16.gguf" \
	--prompt "${A80}b" --prompt "${A80}c c" -n 8 --batch 2 --ids --backend cuda
mc "run COPA --limit 4 --batch 8 (fixture f16)" "$M" run --model "$MERILO_FIXTURES/models/tiny-llama-ff192-f16.gguf" \
	--suite "$STAGE/copa.json" --limit 4 --batch 8 --backend cuda --quiet --out "$MODELS/mc-run"
fi

# 3. the machine's ceilings (PyTorch is in the device image): device-to-device copy
#    bandwidth (read + write bytes) and bf16 GEMM FLOP/s, medians after warm-up
if skip roofline; then
	printf 'bandwidth_GBps %s\nf16_gemm_TFLOPs %s\n(measured by an earlier call: GPU_CHECK_BW / GPU_CHECK_FL)\n' \
		"${GPU_CHECK_BW:-}" "${GPU_CHECK_FL:-}" > "$W/roofline.txt"
else
timeout 90 python3 - > "$W/roofline.txt" 2>&1 <<'PY'
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
a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16); b = torch.randn_like(a)
s = t(lambda: a @ b)
print(f"f16_gemm_TFLOPs {2 * 8192**3 / s / 1e12:.0f}")
PY
fi
cat "$W/roofline.txt"
BW=$(awk '/bandwidth_GBps/ { print $2 }' "$W/roofline.txt")
FL=$(awk '/^f16_gemm_TFLOPs/ { print $2 }' "$W/roofline.txt")
note "measured ceilings: ${BW:-?} GB/s copy bandwidth, $(awk '/^bf16_gemm/ { print $2 }' "$W/roofline.txt") TFLOP/s bf16 GEMM, ${FL:-?} TFLOP/s f16 GEMM"

# 4. BENCHić COPA (1500 units) with fixture models: the CPU run against CUDA runs batched
#    (32 items per call) and item by item; items.jsonl compared unit by unit
skip copa-tiny || for stem in tiny-llama-ff192-f16 tiny-llama-ff192-q4_0; do
	mf=$MERILO_FIXTURES/models/$stem.gguf
	timeout 120 "$M" run --model "$mf" --suite "$STAGE/copa.json" --threads 8 --quiet --out "$W/copa-$stem-cpu" \
		> "$W/copa-$stem-cpu.txt" 2>&1
	note "$stem COPA cpu (8 threads): exit $? — $(tail -1 "$W/copa-$stem-cpu.txt")"
	for b in 32 1; do
		timeout 120 "$M" run --model "$mf" --suite "$STAGE/copa.json" --backend cuda --batch $b --quiet \
			--out "$W/copa-$stem-cuda-b$b" > "$W/copa-$stem-cuda-b$b.txt" 2>&1
		note "$stem COPA cuda --batch $b: exit $? — $(tail -1 "$W/copa-$stem-cuda-b$b.txt")"
		note "  vs cpu: $(python3 ci/cmp-items.py "$W/copa-$stem-cpu/items.jsonl" "$W/copa-$stem-cuda-b$b/items.jsonl" 2>&1)"
	done
	rm -rf "$W"/copa-$stem-*/prompts
done

# 5. 7B-shaped benches: merilo bench --backend cuda (pp512, tg128, pp512+tg128; NVML
#    energy where it reads), and for F16 the BENCHić scoring throughput at batch 1, 8, 32
for dt in $DTYPES; do
	while [ ! -e "$MODELS/synth-$dt.rc" ] && [ "$(left)" -gt 60 ]; do sleep 2; done
	if [ ! -e "$MODELS/synth-$dt.rc" ]; then
		note "7b-$dt: synth not finished within the budget: $(tail -c 200 "$MODELS/synth-$dt.log")"; continue
	fi
	if [ "$(cat "$MODELS/synth-$dt.rc")" != 0 ]; then
		note "7b-$dt: synth failed: $(tail -1 "$MODELS/synth-$dt.log")"; continue
	fi
	note "7b-$dt: $(tail -1 "$MODELS/synth-$dt.log")"
	if [ "$(left)" -lt 45 ]; then note "7b-$dt: bench skipped (budget)"; continue; fi
	bytes=$(stat -c %s "$MODELS/7b-$dt.gguf")
	timeout $(( $(left) > 150 ? 150 : $(left) - 10 )) "$M" bench --model "$MODELS/7b-$dt.gguf" --backend cuda \
		--reps 3 --warmup 1 --format json -o "$W/bench-7b-$dt.json" > "$W/bench-7b-$dt.md" 2>&1
	rc=$?
	note "7b-$dt ($bytes bytes): merilo bench --backend cuda exit $rc"
	grep '^merilo bench' "$W/bench-7b-$dt.md" | head -8 | tee -a "$SUM"
	python3 - "$W/bench-7b-$dt.json" "$bytes" "${BW:-0}" "${FL:-0}" <<'PY' 2>&1 | tee -a "$SUM"
import json, sys
path, nbytes, bw, fl = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
try:
    j = json.load(open(path))
except Exception as e:
    print(f"  (no bench JSON: {e})"); sys.exit(0)
model = j.get("model") or {}
params = model.get("n_params") or 0
nbytes = model.get("weight_bytes") or nbytes   # the matrices and norms read per token
for r in j.get("results", []):
    name, tps = r.get("test", "?"), ((r.get("series") or {}).get("tokens_per_s") or {}).get("median")
    if not tps:
        continue
    ser = r.get("series") or {}
    for dk in ("device_ms", "device_ms_per_token"):
        if (ser.get(dk) or {}).get("median") is not None:
            print(f"  {name}: {dk} {ser[dk]['median']:.3f} (CUDA events) against {1e3 / tps if dk.endswith('token') else 1e3 * (r.get('n_prompt') or 0) / tps:.3f} ms wall-clock")
    if name.startswith("tg") and bw > 0:
        print(f"  {name}: {tps:.1f} t/s, weights read {nbytes * tps / 1e9:.0f} GB/s = {100 * nbytes * tps / (bw * 1e9):.0f}% of copy bandwidth")
    elif name.startswith("pp") and fl > 0 and params:
        print(f"  {name}: {tps:.0f} t/s, {2 * params * tps / 1e12:.0f} TFLOP/s = {100 * 2 * params * tps / (fl * 1e12):.0f}% of the f16 GEMM peak")
PY
	if [ "$dt" = f16 ]; then
		for b in $COPA_BATCHES; do
			if [ "$(left)" -lt 40 ]; then note "7b-f16 COPA --batch $b skipped (budget)"; continue; fi
			timeout $(( $(left) > 120 ? 120 : $(left) - 10 )) "$M" run --model "$MODELS/7b-f16.gguf" \
				--suite "$STAGE/copa.json" --backend cuda --batch $b --quiet --out "$MODELS/copa-7b-b$b" \
				> "$W/copa-7b-f16-b$b.txt" 2>&1
			note "7b-f16 BENCHić COPA --batch $b: exit $? — $(tail -1 "$W/copa-7b-f16-b$b.txt")"
			cp "$MODELS/copa-7b-b$b/results.json" "$W/copa-7b-f16-b$b.results.json" 2>/dev/null
		done
	fi
	rm -f "$MODELS/7b-$dt.gguf"
done
nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv \
	>> "$W/gpu-state.csv" 2>&1 || true
note "done in $(($(date +%s) - T0)) s"
pack
