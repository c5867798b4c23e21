"""lmeval_samples.py — what the lm-evaluation-harness oracle scripts of ci/ share (imported by
make-chat-mc-reference.py and make-winogrande-reference.py): the requests of one sample that
lm-eval logged (log_samples), the offline switches, and writing a reference file."""
import json
import os
import sys


def offline():
    """No download: the datasets are local files, the models fixture folders."""
    for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(k, "1")


def requests(sample):
    """Each loglikelihood request of a logged sample: its context, continuation and log-likelihood."""
    args = sample["arguments"]
    pairs = [(a[0], a[1]) for a in args] if isinstance(args, list) else [(a["arg_0"], a["arg_1"]) for a in args.values()]
    return [{"context": c, "continuation": k, "loglik": r[0][0]} for (c, k), r in zip(pairs, sample["resps"])]


def write_reference(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)
