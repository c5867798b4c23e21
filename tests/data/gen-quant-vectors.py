#!/usr/bin/env python3
"""gen-quant-vectors.py — dequantization test vectors for tests/eng_quants.c.

For each llama.cpp weight type merilo reads beyond Q4_0/Q8_0: a few blocks of
random bytes (seeded; the f16 scale fields set to small finite values so every
other bit pattern occurs), and what the python `gguf` package's reference
dequantizer (gguf.quants, numpy) makes of them. Output: quant-vectors.txt,
per type three lines: "<name> <ggml id> <n_blocks>", the block bytes in hex,
the dequantized floats as 8-hex-digit IEEE bit patterns.
Run: pip install gguf numpy; python3 tests/data/gen-quant-vectors.py > tests/data/quant-vectors.txt
"""
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

# type -> byte offsets of its f16 scale fields
SCALES = {
    "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "IQ4_NL": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2],
    "Q6_K": [208], "IQ4_XS": [0],
}
NBLOCKS = {"Q4_1": 4, "Q5_0": 4, "Q5_1": 4, "IQ4_NL": 4}

rng = np.random.default_rng(20250719)
out = sys.stdout
print(f"# gguf {getattr(gguf, '__version__', '0.19.0')} reference dequantizers; made by gen-quant-vectors.py", file=out)
for name, offs in SCALES.items():
    qt = getattr(T, name)
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    nb = NBLOCKS.get(name, 2)
    raw = rng.integers(0, 256, size=(nb, ts), dtype=np.uint8)
    for b in range(nb):
        for o in offs:
            h = np.float16(rng.normal() * 0.01).view(np.uint16)
            raw[b, o] = h & 0xff
            raw[b, o + 1] = h >> 8
    data = raw.reshape(-1)
    y = quants.dequantize(data, qt).astype(np.float32).reshape(-1)
    assert y.size == nb * bs and np.all(np.isfinite(y))
    print(f"{name.lower().replace('_k', '_K')} {int(qt)} {nb}", file=out)
    print(data.tobytes().hex(), file=out)
    print(" ".join(f"{v:08x}" for v in y.view(np.uint32)), file=out)
