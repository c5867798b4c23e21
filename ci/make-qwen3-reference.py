#!/usr/bin/env python3
"""What transformers computes on a tiny Qwen3 model derived from fixtures/hf/qwen2.

tests/eng_qwen3.c builds the same model itself (HF folder and GGUF) from the qwen2
fixture, with the same rules as derive() below, and compares merilo's logits with the
files this script writes into tests/data/qwen3/ (committed; CI runs no Python):

  lastK.txt     the logits of the last position of prompt K (K = 0, 1, 2), n_vocab floats
  cols2.txt     every position of prompt2, the logits of vocabulary ids 0, 16, 32, ... (one row a position)
  greedy16.tsv  16 greedy steps after prompt0: step, id, its logit, the runner-up's id and logit, margin

The derived model (hidden 64, 3 layers, vocab 512 as qwen2's): 8 query heads of 16 on 2 kv
heads (n_head * head_dim = 128 != hidden, as in Qwen3-0.6B and -4B), q/k/v biases dropped,
q_proj's rows 64.. are minus rows (r - 64 + 16) % 64, o_proj's columns 64.. are half of columns
(c - 64 + 16) % 64, and per layer l a q norm 0.75 + ((7i + 3l) % 11) / 20 and a k norm
0.8 + ((5i + 2l) % 9) / 20 (i = 0..15), every value exact in float32 arithmetic on both sides.

Run: python3 ci/make-qwen3-reference.py [FIXTURES_HF_DIR] (transformers >= 4.51, torch).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import Qwen3Config, Qwen3ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "qwen3")
N_HEAD, N_KV, HD, HIDDEN = 8, 2, 16, 64


def derive(src):
    w = {}
    for name, t in src.items():
        if name.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")):
            continue
        w[name] = t.astype(np.float32)
    n_layer = 1 + max(int(n.split(".")[2]) for n in w if n.startswith("model.layers."))
    for l in range(n_layer):
        p = f"model.layers.{l}.self_attn."
        q = src[p + "q_proj.weight"]
        o = src[p + "o_proj.weight"]
        rot = [(r + 16) % 64 for r in range(64)]
        w[p + "q_proj.weight"] = np.concatenate([q, -q[rot, :]], axis=0).astype(np.float32)
        w[p + "o_proj.weight"] = np.concatenate([o, np.float32(0.5) * o[:, rot]], axis=1).astype(np.float32)
        w[p + "q_norm.weight"] = np.array([0.75 + ((7 * i + 3 * l) % 11) / 20.0 for i in range(HD)], np.float32)
        w[p + "k_norm.weight"] = np.array([0.8 + ((5 * i + 2 * l) % 9) / 20.0 for i in range(HD)], np.float32)
    return w, n_layer


def ids(path):
    with open(path) as f:
        return [int(x) for x in f.read().split()]


def main():
    hf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "fixtures", "hf")
    src = load_file(os.path.join(hf, "qwen2", "model.safetensors"))
    with open(os.path.join(hf, "qwen2", "config.json")) as f:
        c2 = json.load(f)
    w, n_layer = derive(src)
    cfg = Qwen3Config(vocab_size=c2["vocab_size"], hidden_size=HIDDEN, intermediate_size=c2["intermediate_size"],
                      num_hidden_layers=n_layer, num_attention_heads=N_HEAD, num_key_value_heads=N_KV,
                      head_dim=HD, hidden_act="silu", max_position_embeddings=256, rms_norm_eps=1e-6,
                      rope_theta=1e6, tie_word_embeddings=False, attention_bias=False,
                      use_sliding_window=False, attn_implementation="eager")
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg).to(torch.float32).eval()
    sd = {k: torch.from_numpy(v) for k, v in w.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("rotary" in m for m in missing), (missing, unexpected)
    os.makedirs(OUT, exist_ok=True)
    exp = os.path.join(hf, "expected", "qwen2")
    prompts = [ids(os.path.join(exp, f"prompt{k}.ids.txt")) for k in range(3)]
    with torch.no_grad():
        for k, p in enumerate(prompts):
            lg = model(torch.tensor([p])).logits[0].numpy()
            with open(os.path.join(OUT, f"last{k}.txt"), "w") as f:
                f.write("".join("%.9g\n" % x for x in lg[-1]))
            if k == 2:
                with open(os.path.join(OUT, "cols2.txt"), "w") as f:
                    for row in lg:
                        f.write(" ".join("%.9g" % x for x in row[::16]) + "\n")
        seq = list(prompts[0])
        with open(os.path.join(OUT, "greedy16.tsv"), "w") as f:
            f.write("step\tid\tlogit\ttop2_id\ttop2_logit\tmargin\n")
            for s in range(16):
                row = model(torch.tensor([seq])).logits[0, -1].numpy()
                order = np.argsort(-row, kind="stable")
                a, b = int(order[0]), int(order[1])
                f.write("%d\t%d\t%.9g\t%d\t%.9g\t%.9g\n" % (s, a, row[a], b, row[b], row[a] - row[b]))
                seq.append(a)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
