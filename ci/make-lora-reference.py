#!/usr/bin/env python3
"""What PEFT computes with tiny LoRA adapters on fixtures/hf models (tests/eng_lora.c's oracle).

tests/eng_lora.c writes each adapter by the fixed rules below (an adapter_config.json and an
adapter_model.safetensors as PEFT saves them) and compares merilo's logits, the base folder
opened with --lora, against the files this script writes into tests/data/lora-<name>/
(committed; CI runs no Python): lastK.txt, cols2.txt and greedy16.tsv as in
ci/make-derived-reference.py.

  llama: fixtures/hf/llama with r 4, lora_alpha 8 (scale 2) on q_proj, k_proj, v_proj, o_proj,
         gate_proj, up_proj and down_proj of every layer;
  phi3:  fixtures/hf/phi3 with r 2, lora_alpha 4, use_rslora (scale 4 / sqrt 2) on its fused
         qkv_proj and gate_up_proj, and o_proj.

Target t (its index in the list above) of layer l: lora_A[i][j] = ((7i + 3j + l + 5t) % 13 - 6) / 64
(r x in), lora_B[i][j] = ((5i + 11j + 2l + 3t) % 11 - 5) / 32 (out x r); exact in float32.

Run: python3 ci/make-lora-reference.py [FIXTURES_HF_DIR] (transformers >= 5, torch, peft).
"""
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
import torch
from peft import PeftModel
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
_spec = importlib.util.spec_from_file_location("derived", os.path.join(HERE, "make-derived-reference.py"))
derived = importlib.util.module_from_spec(_spec)  # its write_logits: the same three files
_spec.loader.exec_module(derived)

ADAPTERS = {
    "llama": dict(src="llama", r=4, alpha=8, rslora=False,
                  targets=[("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"),
                           ("self_attn", "o_proj"), ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj")]),
    "phi3": dict(src="phi3", r=2, alpha=4, rslora=True,
                 targets=[("self_attn", "qkv_proj"), ("mlp", "gate_up_proj"), ("self_attn", "o_proj")]),
}


def lora_a(r, n_in, l, t):
    return np.array([[((7 * i + 3 * j + l + 5 * t) % 13 - 6) / 64.0 for j in range(n_in)] for i in range(r)],
                    np.float32)


def lora_b(n_out, r, l, t):
    return np.array([[((5 * i + 11 * j + 2 * l + 3 * t) % 11 - 5) / 32.0 for j in range(r)] for i in range(n_out)],
                    np.float32)


def write_adapter(base, spec, out):
    tensors = {}
    for l in range(base.config.num_hidden_layers):
        for t, (block, name) in enumerate(spec["targets"]):
            lin = getattr(getattr(base.model.layers[l], block), name)
            pre = f"base_model.model.model.layers.{l}.{block}.{name}."
            tensors[pre + "lora_A.weight"] = torch.from_numpy(lora_a(spec["r"], lin.in_features, l, t))
            tensors[pre + "lora_B.weight"] = torch.from_numpy(lora_b(lin.out_features, spec["r"], l, t))
    save_file(tensors, os.path.join(out, "adapter_model.safetensors"))
    cfg = {"peft_type": "LORA", "r": spec["r"], "lora_alpha": spec["alpha"], "use_rslora": spec["rslora"],
           "target_modules": sorted({n for _, n in spec["targets"]}), "lora_dropout": 0.0, "bias": "none",
           "fan_in_fan_out": False, "use_dora": False, "modules_to_save": None, "rank_pattern": {},
           "alpha_pattern": {}, "task_type": "CAUSAL_LM", "base_model_name_or_path": spec["src"],
           "inference_mode": True}
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def write_reference(hf, name, spec):
    base = AutoModelForCausalLM.from_pretrained(os.path.join(hf, spec["src"]), dtype=torch.float32,
                                                attn_implementation="eager")
    with tempfile.TemporaryDirectory() as d:
        write_adapter(base, spec, d)
        model = PeftModel.from_pretrained(base, d).eval()
    out = os.path.join(DATA, "lora-" + name)
    exp = os.path.join(hf, "expected", spec["src"])
    derived.write_logits(model, exp, out)
    prompts = [derived.ids(os.path.join(exp, "prompt0.ids.txt"))]
    with torch.no_grad():
        # the adapter must change the model: the base's last logits of prompt0 differ
        with model.disable_adapter():
            plain = model(input_ids=torch.tensor([prompts[0]])).logits[0, -1].numpy()
        with open(os.path.join(out, "last0.txt")) as f:
            adapted = np.array([float(x) for x in f.read().split()])
        print(name, "max |adapted - base| on prompt0:", float(np.max(np.abs(adapted - plain))))


def main():
    hf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "fixtures", "hf")
    for name, spec in ADAPTERS.items():
        write_reference(hf, name, spec)


if __name__ == "__main__":
    main()
