#!/usr/bin/env python3
"""Expected logits of HF checkpoints with linear and YaRN rope scaling, from transformers.

tests/eng_hf.c (check_rope_scaling) edits config.json of the tiny fixture folders in
../shared/fixtures/hf the same way (the first `from` replaced by `to`, then a second edit where given, as below), runs
the 200 ids below and compares the logits at POSITIONS with these within 1e-4. The
reference computes in float64 (the weights are float32): transformers' own float32
logits are up to 5.9e-5 from it on llama-yarn8 (its attention factor 1.21 makes the
case sensitive), so a float32 reference would spend most of the tolerance on itself.
Rerun (needs torch and transformers; written with transformers 5.25.0, torch 2.15.0):
    python3 tests/data/rope-scaling/make-hf-expected.py ../shared/fixtures/hf tests/data/rope-scaling
"""
import json, os, shutil, sys, tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM

CASES = [
    ("llama-linear8", "llama", '"rope_type": "llama3"', '"rope_type": "linear"'),
    ("llama-yarn8", "llama", '"rope_type": "llama3"', '"rope_type": "yarn"'),
    ("qwen2-yarn4", "qwen2", '"rope_scaling": null',
     '"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}'),
    ("phi3-longrope-long", "phi3", '"rope_scaling": null', '"rope_scaling": {"type": "longrope", "long_factor": '
     '[1.0, 1.7, 2.4, 3.1, 3.8, 4.5, 5.2, 5.9], "short_factor": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7]}',
     '"original_max_position_embeddings": 256', '"original_max_position_embeddings": 64'),
    ("phi3-longrope-short", "phi3", '"rope_scaling": null', '"rope_scaling": {"type": "longrope", "long_factor": '
     '[1.0, 1.7, 2.4, 3.1, 3.8, 4.5, 5.2, 5.9], "short_factor": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7], '
     '"attention_factor": 1.1}'),
    ("mistral-yarn4", "mistral", '"rope_theta": 1000000.0',
     '"rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0, '
     '"original_max_position_embeddings": 4096, "attention_factor": 1.3, "beta_fast": 16, "truncate": false}'),
]
N_IDS = 200
POSITIONS = (63, 127, 199)


def ids(n_vocab):
    return [(i * 37 + 11) % n_vocab for i in range(N_IDS)]


def main(hf, out):
    torch.manual_seed(0)
    summary = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": {}}
    for name, src, frm, to, *more in CASES:
        tmp = tempfile.mkdtemp()
        try:
            for f in os.listdir(os.path.join(hf, src)):
                os.symlink(os.path.abspath(os.path.join(hf, src, f)), os.path.join(tmp, f))
            text = open(os.path.join(hf, src, "config.json")).read()
            assert frm in text, (name, frm)
            os.unlink(os.path.join(tmp, "config.json"))
            text = text.replace(frm, to, 1)
            if more:  # a second edit
                assert more[0] in text, (name, more[0])
                text = text.replace(more[0], more[1], 1)
            with open(os.path.join(tmp, "config.json"), "w") as f:
                f.write(text)
            model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float64).eval()
            n_vocab = model.config.vocab_size
            with torch.no_grad():
                logits = model(torch.tensor([ids(n_vocab)])).logits[0]
            with open(os.path.join(out, name + ".logits.txt"), "w") as f:
                for p in POSITIONS:
                    f.write(" ".join("%.9g" % x for x in logits[p].tolist()) + "\n")
            summary["cases"][name] = {"src": src, "edits": [[frm, to]] + ([more] if more else []),
                                      "attention_scaling": float(model.model.rotary_emb.attention_scaling)}
        finally:
            shutil.rmtree(tmp)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
