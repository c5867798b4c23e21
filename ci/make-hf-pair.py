#!/usr/bin/env python3
"""make-hf-pair.py — one set of weights as a GGUF and as an HF folder, for load-time figures.

Reads a llama-architecture GGUF (F32, F16, BF16, Q8_0 or Q4_1 tensors), dequantizes
every matrix to bfloat16 (--dtype f32: float32; norm weights stay float32) and writes
the same numbers twice:
  OUT/model-bf16.gguf  the GGUF's metadata (general.file_type set to BF16) and tensors
                       (model-f32.gguf, file type F32, with --dtype f32)
  OUT/hf/              config.json, model.safetensors, and a tokenizer.json copied in
                       (--tokenizer), as a Hugging Face checkpoint of LlamaForCausalLM
The HF copy has attn_q/attn_k un-permuted back to HF's layout (llama.cpp's converter
permutes them for its adjacent-pairs rope); everything else is byte for byte the same
bf16 (or f32) values. Used for docs/performance.md (HF folder vs GGUF: load time, peak RSS):
  python3 ci/make-hf-pair.py ../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf \
      --tokenizer ../shared/fixtures/hf/tokenizers/smollm2/tokenizer.json OUT
numpy only; no torch, no network.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

GGUF_TYPES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
T_F32, T_F16, T_Q4_1, T_Q8_0, T_BF16 = 0, 1, 3, 8, 30


class Reader:
    def __init__(self, buf):
        self.b, self.o = buf, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.o)
        self.o += struct.calcsize("<" + fmt)
        return v[0]

    def string(self):
        n = self.take("Q")
        s = bytes(self.b[self.o:self.o + n])
        self.o += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            at, n = self.take("I"), self.take("Q")
            return (at, [self.value(at) for _ in range(n)])
        return self.take(GGUF_TYPES[t])


def write_value(out, t, v):
    if t == 8:
        out += struct.pack("<Q", len(v)) + v
    elif t == 9:
        at, items = v
        out += struct.pack("<IQ", at, len(items))
        for x in items:
            write_value(out, at, x)
    else:
        out += struct.pack("<" + GGUF_TYPES[t], v)


def dequant(buf, ttype, n):
    if ttype == T_F32:
        return np.frombuffer(buf, "<f4", n).copy()
    if ttype == T_F16:
        return np.frombuffer(buf, "<f2", n).astype(np.float32)
    if ttype == T_BF16:
        return (np.frombuffer(buf, "<u2", n).astype(np.uint32) << 16).view(np.float32)
    nb = n // 32
    if ttype == T_Q8_0:
        blk = np.frombuffer(buf, np.uint8, nb * 34).reshape(nb, 34)
        d = blk[:, :2].copy().view("<f2").astype(np.float32)
        q = blk[:, 2:].copy().view(np.int8).astype(np.float32)
        return (d * q).reshape(-1)
    if ttype == T_Q4_1:
        blk = np.frombuffer(buf, np.uint8, nb * 20).reshape(nb, 20)
        d = blk[:, 0:2].copy().view("<f2").astype(np.float32)
        m = blk[:, 2:4].copy().view("<f2").astype(np.float32)
        qs = blk[:, 4:]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
        return (d * q + m).reshape(-1)
    sys.exit(f"tensor type {ttype} is not handled")


def to_bf16(x):
    """Round-to-nearest-even float32 -> bfloat16 bits (as uint16)."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)


def unpermute(w, n_head):
    """Undo llama.cpp's permute of Q/K rows (convert_hf_to_gguf.py's LlamaModel.permute)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json to copy into the HF folder")
    ap.add_argument("--dtype", choices=("bf16", "f32"), default="bf16", help="the matrices' type in both copies")
    a = ap.parse_args()
    buf = memoryview(open(a.gguf, "rb").read())
    r = Reader(buf)
    if bytes(buf[:4]) != b"GGUF":
        sys.exit("not a GGUF")
    r.o = 4
    version, n_t, n_kv = r.take("I"), r.take("Q"), r.take("Q")
    kvs = []
    for _ in range(n_kv):
        k = r.string()
        t = r.take("I")
        kvs.append((k, t, r.value(t)))
    meta = {k.decode(): v for k, t, v in kvs}
    if meta.get("general.architecture") != b"llama":
        sys.exit("only llama GGUFs are handled")
    infos = []
    for _ in range(n_t):
        name = r.string().decode()
        nd = r.take("I")
        ne = [r.take("Q") for _ in range(nd)]
        infos.append((name, ne, r.take("I"), r.take("Q")))
    align = meta.get("general.alignment", 32)
    data0 = (r.o + align - 1) // align * align

    p = "llama."
    n_head, n_head_kv = meta[p + "attention.head_count"], meta.get(p + "attention.head_count_kv", meta[p + "attention.head_count"])
    tensors = {}  # name -> (ne, float32 array in GGUF ne order, flattened)
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        tensors[name] = (ne, dequant(buf[data0 + off:], t, n))

    os.makedirs(os.path.join(a.out, "hf"), exist_ok=True)
    f32 = a.dtype == "f32"
    # ---- the GGUF ----
    out = bytearray(b"GGUF") + struct.pack("<IQQ", 3, len(infos), len(kvs))
    for k, t, v in kvs:
        if k == b"general.file_type":
            v = 32 if a.dtype == "bf16" else 0  # LLAMA_FTYPE_MOSTLY_BF16, ALL_F32
        out += struct.pack("<Q", len(k)) + k + struct.pack("<I", t)
        write_value(out, t, v)
    blobs, off = [], 0
    for name, ne, _, _ in infos:
        x = tensors[name][1]
        blob = x.astype("<f4").tobytes() if len(ne) == 1 or f32 else to_bf16(x).tobytes()
        ttype = T_F32 if len(ne) == 1 or f32 else T_BF16
        nb = name.encode()
        out += struct.pack("<Q", len(nb)) + nb + struct.pack("<I", len(ne))
        out += b"".join(struct.pack("<Q", e) for e in ne) + struct.pack("<IQ", ttype, off)
        blobs.append(blob)
        off += (len(blob) + align - 1) // align * align
    out += b"\0" * ((-len(out)) % align)
    with open(os.path.join(a.out, f"model-{a.dtype}.gguf"), "wb") as f:
        f.write(out)
        for blob in blobs:
            f.write(blob)
            f.write(b"\0" * ((-len(blob)) % align))

    # ---- the HF folder ----
    hf_names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}
    layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
             "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    header, parts, off = {}, [], 0
    for name, ne, _, _ in infos:
        x = tensors[name][1]
        shape = list(reversed(ne))  # HF [rows, cols]
        if name.startswith("blk."):
            _, il, kind, _ = name.split(".")
            hf = f"model.layers.{il}.{layer[kind]}.weight"
            if kind in ("attn_q", "attn_k"):
                x = unpermute(x.reshape(shape), n_head if kind == "attn_q" else n_head_kv).reshape(-1)
        else:
            hf = hf_names[name]
        blob = x.astype("<f4").tobytes() if len(ne) == 1 or f32 else to_bf16(x).tobytes()
        header[hf] = {"dtype": "F32" if len(ne) == 1 or f32 else "BF16", "shape": shape, "data_offsets": [off, off + len(blob)]}
        parts.append(blob)
        off += len(blob)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-len(hj)) % 8)
    with open(os.path.join(a.out, "hf", "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj)
        for blob in parts:
            f.write(blob)
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": meta[p + "embedding_length"], "num_hidden_layers": meta[p + "block_count"],
        "num_attention_heads": n_head, "num_key_value_heads": n_head_kv,
        "intermediate_size": meta[p + "feed_forward_length"], "vocab_size": tensors["token_embd.weight"][0][1],
        "max_position_embeddings": meta[p + "context_length"],
        "rms_norm_eps": meta[p + "attention.layer_norm_rms_epsilon"],
        "rope_theta": meta.get(p + "rope.freq_base", 10000.0), "rope_scaling": None, "hidden_act": "silu",
        "tie_word_embeddings": "output.weight" not in tensors, "torch_dtype": "float32" if f32 else "bfloat16",
    }
    with open(os.path.join(a.out, "hf", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copyfile(a.tokenizer, os.path.join(a.out, "hf", "tokenizer.json"))
    print(f"wrote {a.out}/model-{a.dtype}.gguf and {a.out}/hf/ ({len(infos)} tensors)")


if __name__ == "__main__":
    main()
