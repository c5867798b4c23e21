#!/usr/bin/env python3
"""gguf-swap-vocab.py SRC.gguf VOCAB.gguf OUT.gguf — SRC's weights and metadata with
VOCAB's tokenizer.* keys: lets merilo open a model whose tokenizer it cannot read yet
(SmolLM2's byte-level BPE) for checks that feed token ids only (eng_conformance_real).
Exit 77 where gguf-py is missing."""
import sys
try:
    import numpy as np  # noqa: F401
    import gguf
    from gguf import GGUFReader, GGUFWriter, GGUFValueType
except Exception:  # noqa: BLE001
    sys.exit(77)


def value(f):
    t = f.types[0]
    if t == GGUFValueType.ARRAY:
        st = f.types[1]
        if st == GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8", "surrogateescape") for i in f.data], t, st
        return [f.parts[i][0].item() for i in f.data], t, st
    if t == GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8"), t, None
    return f.parts[f.data[0]][0].item(), t, None


src, voc = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
arch = bytes(src.fields["general.architecture"].parts[-1]).decode()
w = GGUFWriter(sys.argv[3], arch)
for name, f in src.fields.items():
    if name.startswith("GGUF.") or name == "general.architecture" or name.startswith("tokenizer."):
        continue
    v, t, st = value(f)
    w.add_key_value(name, v, t, sub_type=st)
for name, f in voc.fields.items():
    if name.startswith("tokenizer."):
        v, t, st = value(f)
        w.add_key_value(name, v, t, sub_type=st)
for t in src.tensors:
    w.add_tensor(t.name, t.data, raw_shape=list(t.data.shape), raw_dtype=t.tensor_type)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
