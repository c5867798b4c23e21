#!/usr/bin/env python3
"""What transformers computes on tiny Qwen3, Gemma 3, Mixtral and Qwen3-MoE models derived from fixtures/hf.

The fixtures hold no checkpoint of these architectures, so tests/eng_derived.c (Qwen3, Gemma 3)
and tests/eng_moe.c (Mixtral, Qwen3-MoE) build each from a fixture by the fixed rules of the
derive_*() functions below, as an HF folder and as a GGUF, and compare merilo's logits with the
files this script writes into tests/data/<arch>/ (committed; CI runs no Python):

  lastK.txt     the logits of the last position of prompt K (K = 0, 1, 2: the source fixture's
                expected/<src>/promptK.ids.txt), n_vocab floats
  cols2.txt     every position of prompt2, the logits of vocabulary ids 0, 16, 32, ... (one row a position)
  greedy16.tsv  16 greedy steps after prompt0: step, id, its logit, the runner-up's id and logit, margin

qwen3, from qwen2 (hidden 64, 3 layers, vocab 512): 8 query heads of 16 on 2 kv heads
(n_head * head_dim = 128 != hidden, as in Qwen3-0.6B and -4B), q/k/v biases dropped, q_proj's
rows 64.. are minus rows (r - 64 + 16) % 64, o_proj's columns 64.. are half of columns
(c - 64 + 16) % 64, and per layer l a q norm 0.75 + ((7i + 3l) % 11) / 20 and a k norm
0.8 + ((5i + 2l) % 9) / 20 (i = 0..15).

gemma3, from gemma2 (hidden 64, 4 heads of 16 on 2, vocab 512, tied): 6 layers, 4 and 5 copies of
0 and 1, so that the window (16) is on layers 0-4 and layer 5 attends to everything (Gemma 3's
five of six); per layer l q/k norm weights ((7i + 3l) % 11) / 20 - 0.25 and ((5i + 2l) % 9) / 20 - 0.2
(Gemma's norms compute 1 + w); no soft caps; query_pre_attn_scalar 16 (= head_dim, as Gemma 3 1B-12B,
so that the GGUF, which has no key for it, is the same function); the full layer's rope 1e6 with
linear scaling x8 (4B-27B), the windowed layers' 10000, unscaled.

Mixture-of-experts models: the router of layer l gives expert e's logit by the weights
((37e + 11i + 5l) % 17 - 8) / 16 (i = 0..63, the hidden dims).

mixtral, from mistral (hidden 64, 3 layers, 4 heads of 16 on 2, FFN 128, vocab 512), no window:
4 experts, 2 a token; expert e's w1 (gate) is mlp.gate_proj with its rows rotated, row r being
row (r + 32e) % 128, its w3 (up) mlp.up_proj, its w2 (down) mlp.down_proj, negated for odd e.

qwen3moe, from qwen2 (hidden 64, 3 layers, 4 heads of 16 on 2, FFN 128, vocab 512): q/k/v biases
dropped, q/k norms as qwen3's; 8 experts of 64, 4 a token, norm_topk_prob true; expert e's
gate_proj and up_proj are rows (16e + r) % 128 (r = 0..63) of mlp.gate_proj and mlp.up_proj, its
down_proj those columns of mlp.down_proj.

qwen2moe, from qwen2: its attention unchanged (q/k/v biases kept); qwen3moe's 8 experts of 64, 4 a
token, norm_topk_prob false (Qwen2-MoE's); a shared expert that is the fixture's FFN (mlp.*_proj,
128), gated by the weights ((3i + l) % 13 - 6) / 32.

Every value is exact in float32 arithmetic on both sides.

Run: python3 ci/make-derived-reference.py [FIXTURES_HF_DIR] (transformers >= 4.51, torch).
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import (Gemma3ForCausalLM, Gemma3TextConfig, MixtralConfig, MixtralForCausalLM, Qwen2MoeConfig,
                          Qwen2MoeForCausalLM, Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
N_HEAD, N_KV, HD, HIDDEN = 8, 2, 16, 64


def derive_qwen3(src):
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


def derive_gemma3(src):
    w = {k: v.astype(np.float32) for k, v in src.items()}
    for new, old in ((4, 0), (5, 1)):
        pre = f"model.layers.{old}."
        for k, v in src.items():
            if k.startswith(pre):
                w[f"model.layers.{new}." + k[len(pre):]] = v.astype(np.float32)
    for l in range(6):
        p = f"model.layers.{l}.self_attn."
        w[p + "q_norm.weight"] = np.array([((7 * i + 3 * l) % 11) / 20.0 - 0.25 for i in range(HD)], np.float32)
        w[p + "k_norm.weight"] = np.array([((5 * i + 2 * l) % 9) / 20.0 - 0.2 for i in range(HD)], np.float32)
    return w


def qwen3_model(hf):
    src = load_file(os.path.join(hf, "qwen2", "model.safetensors"))
    with open(os.path.join(hf, "qwen2", "config.json")) as f:
        c2 = json.load(f)
    w, n_layer = derive_qwen3(src)
    cfg = Qwen3Config(vocab_size=c2["vocab_size"], hidden_size=HIDDEN, intermediate_size=c2["intermediate_size"],
                      num_hidden_layers=n_layer, num_attention_heads=N_HEAD, num_key_value_heads=N_KV,
                      head_dim=HD, hidden_act="silu", max_position_embeddings=256, rms_norm_eps=1e-6,
                      rope_theta=1e6, tie_word_embeddings=False, attention_bias=False,
                      use_sliding_window=False, attn_implementation="eager")
    return Qwen3ForCausalLM(cfg), w, "qwen2"


def gemma3_model(hf):
    src = load_file(os.path.join(hf, "gemma2", "model.safetensors"))
    cfg = Gemma3TextConfig(vocab_size=512, hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=6,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=HD,
                           hidden_activation="gelu_pytorch_tanh", max_position_embeddings=256, rms_norm_eps=1e-6,
                           rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0,
                                                               "rope_theta": 1e6},
                                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                           query_pre_attn_scalar=HD, sliding_window=16, final_logit_softcapping=None,
                           attn_logit_softcapping=None, tie_word_embeddings=True, pad_token_id=0, bos_token_id=2,
                           eos_token_id=1, attn_implementation="eager")
    assert cfg.layer_types == ["sliding_attention"] * 5 + ["full_attention"], cfg.layer_types
    return Gemma3ForCausalLM(cfg), derive_gemma3(src), "gemma2"


def from_checkpoint(model, w):
    """The model of model's class and config with the tensors w as a checkpoint stores them, loaded
    as transformers loads a folder (its converters fuse per-expert weights into transformers 5's
    expert modules); every parameter must come from w."""
    with tempfile.TemporaryDirectory() as d:
        model.config.save_pretrained(d)
        save_file({k: torch.from_numpy(v).contiguous() for k, v in w.items()}, os.path.join(d, "model.safetensors"))
        loaded, info = type(model).from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                                   output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    return loaded


def router(l, n_expert):
    return np.array([[((37 * e + 11 * i + 5 * l) % 17 - 8) / 16.0 for i in range(HIDDEN)] for e in range(n_expert)],
                    np.float32)


def derive_mixtral(src):
    w = {k: v.astype(np.float32) for k, v in src.items() if ".mlp." not in k}
    for l in range(3):
        p = f"model.layers.{l}."
        gate, up, down = (src[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up", "down"))
        w[p + "block_sparse_moe.gate.weight"] = router(l, 4)
        for e in range(4):
            q = p + f"block_sparse_moe.experts.{e}."
            w[q + "w1.weight"] = gate[[(r + 32 * e) % 128 for r in range(128)], :].astype(np.float32)
            w[q + "w3.weight"] = up.astype(np.float32)
            w[q + "w2.weight"] = (down if e % 2 == 0 else -down).astype(np.float32)
    return w


def derive_qwen3moe(src, qwen2=False):
    w = {}
    for name, t in src.items():
        if (not qwen2 and name.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias"))) or ".mlp." in name:
            continue
        w[name] = t.astype(np.float32)
    for l in range(3):
        p = f"model.layers.{l}."
        if qwen2:
            for n in ("gate", "up", "down"):
                w[p + f"mlp.shared_expert.{n}_proj.weight"] = src[p + f"mlp.{n}_proj.weight"].astype(np.float32)
            w[p + "mlp.shared_expert_gate.weight"] = np.array([[((3 * i + l) % 13 - 6) / 32.0 for i in range(HIDDEN)]],
                                                              np.float32)
        else:
            w[p + "self_attn.q_norm.weight"] = np.array([0.75 + ((7 * i + 3 * l) % 11) / 20.0 for i in range(HD)],
                                                        np.float32)
            w[p + "self_attn.k_norm.weight"] = np.array([0.8 + ((5 * i + 2 * l) % 9) / 20.0 for i in range(HD)],
                                                        np.float32)
        gate, up, down = (src[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up", "down"))
        w[p + "mlp.gate.weight"] = router(l, 8)
        for e in range(8):
            idx = [(16 * e + r) % 128 for r in range(64)]
            q = p + f"mlp.experts.{e}."
            w[q + "gate_proj.weight"] = gate[idx, :].astype(np.float32)
            w[q + "up_proj.weight"] = up[idx, :].astype(np.float32)
            w[q + "down_proj.weight"] = down[:, idx].astype(np.float32)
    return w


def mixtral_model(hf):
    src = load_file(os.path.join(hf, "mistral", "model.safetensors"))
    cfg = MixtralConfig(vocab_size=512, hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=HD, hidden_act="silu",
                        max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=1e6, sliding_window=None,
                        num_local_experts=4, num_experts_per_tok=2, tie_word_embeddings=False,
                        attn_implementation="eager")
    return MixtralForCausalLM(cfg), derive_mixtral(src), "mistral"


def qwen3moe_model(hf):
    src = load_file(os.path.join(hf, "qwen2", "model.safetensors"))
    cfg = Qwen3MoeConfig(vocab_size=512, hidden_size=HIDDEN, intermediate_size=128, moe_intermediate_size=64,
                         num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=HD,
                         hidden_act="silu", max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1e6,
                         num_experts=8, num_experts_per_tok=4, norm_topk_prob=True, decoder_sparse_step=1,
                         mlp_only_layers=[], tie_word_embeddings=False, attention_bias=False,
                         use_sliding_window=False, attn_implementation="eager")
    return Qwen3MoeForCausalLM(cfg), derive_qwen3moe(src), "qwen2"


def qwen2moe_model(hf):
    src = load_file(os.path.join(hf, "qwen2", "model.safetensors"))
    cfg = Qwen2MoeConfig(vocab_size=512, hidden_size=HIDDEN, intermediate_size=128, moe_intermediate_size=64,
                         shared_expert_intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, hidden_act="silu", max_position_embeddings=256, rms_norm_eps=1e-6,
                         rope_theta=1e6, num_experts=8, num_experts_per_tok=4, norm_topk_prob=False,
                         decoder_sparse_step=1, mlp_only_layers=[], tie_word_embeddings=False,
                         use_sliding_window=False, attn_implementation="eager")
    return Qwen2MoeForCausalLM(cfg), derive_qwen3moe(src, qwen2=True), "qwen2"


def write_reference(hf, name, make):
    torch.manual_seed(0)
    model, w, src_name = make(hf)
    if model.config.model_type in ("mixtral", "qwen2_moe", "qwen3_moe"):
        model = from_checkpoint(model, w).eval()
    else:
        model = model.to(torch.float32).eval()
        sd = {k: torch.from_numpy(v) for k, v in w.items()}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and all("rotary" in m or m == "lm_head.weight" for m in missing), (missing, unexpected)
        if "lm_head.weight" in missing:
            model.tie_weights()
    write_logits(model, os.path.join(hf, "expected", src_name), os.path.join(DATA, name))


def write_logits(model, exp, out):
    """lastK.txt, cols2.txt and greedy16.tsv of model on the prompts in exp into out (also
    ci/make-lora-reference.py's)."""
    os.makedirs(out, exist_ok=True)
    prompts = [ids(os.path.join(exp, f"prompt{k}.ids.txt")) for k in range(3)]
    with torch.no_grad():
        for k, p in enumerate(prompts):
            lg = model(input_ids=torch.tensor([p])).logits[0].numpy()
            with open(os.path.join(out, f"last{k}.txt"), "w") as f:
                f.write("".join("%.9g\n" % x for x in lg[-1]))
            if k == 2:
                with open(os.path.join(out, "cols2.txt"), "w") as f:
                    for row in lg:
                        f.write(" ".join("%.9g" % x for x in row[::16]) + "\n")
        seq = list(prompts[0])
        with open(os.path.join(out, "greedy16.tsv"), "w") as f:
            f.write("step\tid\tlogit\ttop2_id\ttop2_logit\tmargin\n")
            for s in range(16):
                row = model(input_ids=torch.tensor([seq])).logits[0, -1].numpy()
                order = np.argsort(-row, kind="stable")
                a, b = int(order[0]), int(order[1])
                f.write("%d\t%d\t%.9g\t%d\t%.9g\t%.9g\n" % (s, a, row[a], b, row[b], row[a] - row[b]))
                seq.append(a)
    print("wrote", out)


def main():
    hf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "fixtures", "hf")
    write_reference(hf, "qwen3", qwen3_model)
    write_reference(hf, "gemma3", gemma3_model)
    write_reference(hf, "mixtral", mixtral_model)
    write_reference(hf, "qwen3moe", qwen3moe_model)
    write_reference(hf, "qwen2moe", qwen2moe_model)


if __name__ == "__main__":
    main()
