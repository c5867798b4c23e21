#!/usr/bin/env python3
"""Expected logits of a long sequence through a sharp Llama with 128-wide heads, from transformers.

tests/eng_hf_long.c writes the same checkpoint (weights from the xorshift64* generator below,
seed 20261206, so nothing large is committed) and compares merilo's logits at POSITIONS of the
3000 ids (37 i + 11) mod 512 with these, transformers 5.25 in float64 over the float32
weights. Rope angles decide this test: transformers takes them as one float32 product
pos x inv_freq, and ggml's running product (what merilo kept for GGUF files) is far from it
at these positions. Rerun (needs torch and transformers):
    python3 tests/data/hf-long/make-expected.py tests/data/hf-long
"""
import json, os, sys

import numpy as np
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

CONFIG = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=1, num_key_value_heads=1,
              intermediate_size=256, vocab_size=512, max_position_embeddings=4096, rms_norm_eps=1e-5,
              rope_theta=10000.0, tie_word_embeddings=False, head_dim=128)
SCALES = {"embed_tokens": 1.0, "q_proj": 0.3, "k_proj": 0.3, "v_proj": 0.1, "o_proj": 0.1, "gate_proj": 0.1,
          "up_proj": 0.1, "down_proj": 0.1, "lm_head": 0.2}
N_IDS = 3000
POSITIONS = (999, 1999, 2999)
MASK = (1 << 64) - 1


class XorShift:
    def __init__(self, seed):
        self.s = seed & MASK

    def floats(self, n, scale):
        out = np.empty(n, dtype=np.float32)
        s = self.s
        for i in range(n):
            s ^= s >> 12
            s ^= (s << 25) & MASK
            s ^= s >> 27
            r = (s * 0x2545F4914F6CDD1D) & MASK
            out[i] = np.float32(((r >> 40) / float(1 << 24) * 2.0 - 1.0) * scale)  # exact in float32
        self.s = s
        return out


def weights(model):
    """Every parameter in state_dict order; norms 1, the rest uniform in +-SCALES."""
    rng = XorShift(20261206)
    sd = {}
    for name, p in model.state_dict().items():
        if name.endswith("norm.weight"):
            sd[name] = torch.ones_like(p)
            continue
        key = next(k for k in SCALES if k in name)
        sd[name] = torch.from_numpy(rng.floats(p.numel(), SCALES[key]).reshape(p.shape))
    return sd


def main(out):
    transformers.logging.set_verbosity_error()
    model = LlamaForCausalLM(LlamaConfig(**CONFIG)).eval()
    model.load_state_dict(weights(model))
    ids = torch.tensor([[(i * 37 + 11) % 512 for i in range(N_IDS)]])
    names = list(model.state_dict().keys())
    with torch.no_grad():
        l32 = model(ids, use_cache=False).logits[0]
        l64 = model.double()(ids, use_cache=False).logits[0]
    with open(os.path.join(out, "logits.txt"), "w") as f:
        for p in POSITIONS:
            f.write(" ".join("%.9g" % x for x in l64[p].tolist()) + "\n")
    summary = {"transformers": transformers.__version__, "torch": torch.__version__, "tensor_order": names,
               "float32_vs_float64_max_abs": {str(p): float((l32[p].double() - l64[p]).abs().max()) for p in POSITIONS}}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
