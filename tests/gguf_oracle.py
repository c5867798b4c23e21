#!/usr/bin/env python3
"""gguf_oracle.py — read a GGUF file with the reference Python reader (pip gguf).

Used by tests/eng_synth.c as an outside check of merilo's writer and types:
  gguf_oracle.py FILE                  print "ok" if FILE parses; check synth statistics
  gguf_oracle.py FILE TENSOR DUMP.f32  also compare the tensor, dequantized by gguf-py,
                                       with DUMP.f32 (merilo's to_f32 of it): must be equal
Exit 0 on success, 1 on a mismatch (message on stderr), 77 when gguf-py is missing.
"""
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except Exception:  # noqa: BLE001 - any import failure means "skip"
    sys.exit(77)


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


r = gguf.GGUFReader(sys.argv[1])
arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
if arch != "llama":
    fail(f"architecture {arch}")
tensors = {t.name: t for t in r.tensors}
for name, t in tensors.items():
    v = dequantize(t.data, t.tensor_type).astype(np.float64).ravel()
    if "norm" in name:
        if abs(v.mean() - 1.0) > 0.05 or not 0.07 < v.std() < 0.13:
            fail(f"{name}: mean {v.mean()} std {v.std()} (want ~1, ~0.1)")
    elif v.size > 1000:
        if abs(v.mean()) > 0.003 or not 0.017 < v.std() < 0.023:
            fail(f"{name}: mean {v.mean()} std {v.std()} (want ~0, ~0.02)")
if len(sys.argv) == 4:
    t = tensors[sys.argv[2]]
    ref = dequantize(t.data, t.tensor_type).astype(np.float32).ravel()
    ours = np.fromfile(sys.argv[3], dtype="<f4")
    if ours.shape != ref.shape:
        fail(f"{sys.argv[2]}: {ours.shape} values, gguf-py has {ref.shape}")
    if not np.array_equal(ours, ref):
        d = np.abs(ours - ref)
        fail(f"{sys.argv[2]}: max diff {d.max()} at {d.argmax()}")
print("ok")
