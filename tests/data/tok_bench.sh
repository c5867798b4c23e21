#!/bin/sh
# Tokenization benchmark: merilo vs HF `tokenizers` on the same ~10 MB of mixed
# BCMS + English text, one thread, line by line (each line one call), best of 3.
# The text: COPA-SR/-SR-lat/-HR (fixtures/data/benchich-copa), ppl-text.txt and
# tokenizers/texts.txt, concatenated and repeated to 10 MB.
# Usage (repository root): tests/data/tok_bench.sh [MERILO] ; HF is skipped with a
# line saying so where `python3 -c 'import tokenizers'` fails.
set -eu
MERILO=${1:-build/merilo}
FX=../shared/fixtures
OUT=${TMPDIR:-/tmp}/merilo-tok-bench.txt
python3 - "$FX" "$OUT" <<'PY'
import json, sys
fx, out = sys.argv[1], sys.argv[2]
parts = []
for name in ("test-sr", "test-sr-lat", "test-hr"):
    for line in open(f"{fx}/data/benchich-copa/{name}.jsonl", encoding="utf-8"):
        o = json.loads(line)
        parts.append(" ".join([o["premise"], o["choice1"], o["choice2"]]))
parts.append(open(f"{fx}/expected/ppl-text.txt", encoding="utf-8").read())
parts.append(open(f"{fx}/hf/tokenizers/texts.txt", encoding="utf-8").read().replace("\n__ggml_vocab_test__\n", "\n"))
block = "\n".join(parts) + "\n"
data = block * (10_000_000 // len(block.encode()) + 1)
data = data.encode()[:10_000_000].decode("utf-8", "ignore")
data = data[: data.rfind("\n") + 1]
open(out, "w", encoding="utf-8").write(data)
PY
for tok in smollm2 tiny-spm; do
  for model in "$FX/hf/tokenizers/$tok/tokenizer.json"; do
    printf 'merilo %-10s ' "$tok"
    taskset -c 0 "$MERILO" tokenize --model "$model" --no-bos --lines --bench --file "$OUT"
  done
done
printf 'merilo %-10s ' smollm2-gguf
taskset -c 0 "$MERILO" tokenize --model "$FX/models-real/smollm2-135m-instruct-q4_1.gguf" --no-bos --lines --bench --file "$OUT"
if python3 -c 'import tokenizers' 2>/dev/null; then
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false taskset -c 0 python3 - "$FX" "$OUT" <<'PY'
import sys, time
from tokenizers import Tokenizer
fx, path = sys.argv[1], sys.argv[2]
data = open(path, encoding="utf-8").read()
lines = data.split("\n")[:-1]
nbytes = len(data.encode())
for name in ("smollm2", "tiny-spm"):
    tok = Tokenizer.from_file(f"{fx}/hf/tokenizers/{name}/tokenizer.json")
    best, ntok = 1e9, 0
    for _ in range(3):
        t0 = time.perf_counter()
        n = 0
        for line in lines:
            n += len(tok.encode(line, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - t0)
        ntok = n
    print(f"hf     {name:<10s} bytes {nbytes} tokens {ntok} seconds {best:.4f} MB/s {nbytes/1e6/best:.2f} (tokenizers {__import__('tokenizers').__version__}, encode per line)")
PY
else
  echo "hf: python3 tokenizers not installed (pip install tokenizers): skipped"
fi
