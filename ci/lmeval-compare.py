#!/usr/bin/env python3
"""lmeval-compare.py — the Python half of ci/lmeval-compare.sh (merilo vs lm-evaluation-harness).

Subcommands:
  task ITEMS.jsonl DIR       lm-eval's input from a merilo run: DIR/docs.jsonl holds, per
                             (task, item, language) record of items.jsonl, merilo's `context`
                             and the `continuation` of every choice (the strings merilo scored:
                             the source of truth), and DIR/merilo_copa.yaml is a local
                             multiple_choice task that hands them to lm-eval unchanged
                             (doc_to_text = context, doc_to_choice = the continuations,
                             target_delimiter "").
  lmeval --model HF_DIR --tasks DIR --batch N --threads T --out OUT.json
                             runs lm-eval in this process (HFLM, float32, CPU, no BOS as merilo's
                             --bos never) and writes the wall/CPU seconds of the model's load, of
                             simple_evaluate and of the scoring in it (lm.loglikelihood), and per doc, the (context, continuation) pairs lm-eval scored and
                             its log-likelihoods.
  compare ITEMS.jsonl OUT.json
                             one line: n, whether lm-eval scored exactly merilo's strings, the
                             max |delta loglik| and the choices whose argmax differs.
  same ITEMS_A.jsonl ITEMS_B.jsonl
                             one line: whether two merilo runs' logliks are bit-identical.
Runs under the venv that ci/lmeval-compare.sh makes (lm-eval, torch, transformers).
"""
import json
import os
import resource
import sys
import time


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key(rec):
    return f'{rec["task"]}/{rec["item"]}/{rec["language"]}'


TASK_YAML = """task: merilo_copa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {docs}
test_split: test
output_type: multiple_choice
doc_to_text: context
doc_to_choice: choices
doc_to_target: label
target_delimiter: ""
metric_list:
  - metric: acc
metadata:
  version: 1.0
"""


def cmd_task(items, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    docs = os.path.abspath(os.path.join(out_dir, "docs.jsonl"))
    n = 0
    with open(docs, "w", encoding="utf-8") as f:
        for rec in read_jsonl(items):
            if "context" not in rec or any("continuation" not in c for c in rec["choices"]):
                sys.exit(f"{items}: record {key(rec)} has no context/continuation (a merilo run from before they were recorded)")
            doc = {"key": key(rec), "context": rec["context"], "choices": [c["continuation"] for c in rec["choices"]],
                   "label": rec["gold_index"]}
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
            n += 1
    with open(os.path.join(out_dir, "merilo_copa.yaml"), "w", encoding="utf-8") as f:
        f.write(TASK_YAML.format(docs=docs))
    print(f"wrote {docs} ({n} docs) and merilo_copa.yaml")


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cmd_lmeval(args):
    opt = dict(zip(args[0::2], args[1::2]))
    import torch

    torch.set_num_threads(int(opt["--threads"]))
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    bs = int(opt["--batch"])
    t0, c0 = time.perf_counter(), cpu_s()
    lm = HFLM(pretrained=opt["--model"], dtype="float32", device="cpu", batch_size=bs, add_bos_token=False)
    with torch.no_grad():  # warm-up: torch's one-time set-up is not charged to the scoring
        lm.model(torch.ones((bs, 32), dtype=torch.long))
    t1, c1 = time.perf_counter(), cpu_s()
    # The scoring itself (tokenizing and running the requests, as merilo's scoring window):
    # simple_evaluate calls lm.loglikelihood once with every request of the task.
    spent = [0.0, 0.0]
    scored = lm.loglikelihood

    def timed(requests, *a, **k):
        s0, sc0 = time.perf_counter(), cpu_s()
        r = scored(requests, *a, **k)
        spent[0] += time.perf_counter() - s0
        spent[1] += cpu_s() - sc0
        return r

    lm.loglikelihood = timed
    tm = TaskManager(include_path=opt["--tasks"])
    res = lm_eval.simple_evaluate(model=lm, tasks=["merilo_copa"], task_manager=tm, log_samples=True,
                                  batch_size=bs, num_fewshot=0)
    t2, c2 = time.perf_counter(), cpu_s()
    docs = []
    for s in sorted(res["samples"]["merilo_copa"], key=lambda s: s["doc_id"]):
        args_ = [list(a) if isinstance(a, (list, tuple)) else [a["arg_0"], a["arg_1"]] for a in s["arguments"]]
        docs.append({"key": s["doc"]["key"], "args": [a[:2] for a in args_],
                     "logliks": [float(r[0][0]) for r in s["resps"]]})
    out = {"lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "?",
           "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": bs,
           "load_s": t1 - t0, "load_cpu_s": c1 - c0, "eval_s": t2 - t1, "eval_cpu_s": c2 - c1,
           "score_s": spent[0], "score_cpu_s": spent[1],
           "acc": res["results"]["merilo_copa"].get("acc,none"), "docs": docs}
    with open(opt["--out"], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    print(f"lm-eval batch {bs}: {len(docs)} docs scored in {spent[0]:.1f} s ({spent[1]:.1f} CPU s); "
          f"simple_evaluate {t2 - t1:.1f} s, load {t1 - t0:.1f} s")


def cmd_compare(items, out_json):
    mer = {key(r): r for r in read_jsonl(items)}
    lm = json.load(open(out_json, encoding="utf-8"))
    n = same_str = argmax_diff = 0
    max_abs = max_rel = 0.0
    for d in lm["docs"]:
        r = mer.get(d["key"])
        if r is None:
            sys.exit(f"{out_json}: {d['key']} is not in {items}")
        ours = [c["loglik"] for c in r["choices"]]
        if [[r["context"], c["continuation"]] for c in r["choices"]] == d["args"]:
            same_str += 1
        for a, b in zip(ours, d["logliks"]):
            max_abs = max(max_abs, abs(a - b))
            max_rel = max(max_rel, abs(a - b) / max(abs(a), 1e-30))
        n += len(ours)
        if ours.index(max(ours)) != d["logliks"].index(max(d["logliks"])):
            argmax_diff += 1
    print(f"docs {len(lm['docs'])} choices {n} same_strings {same_str}/{len(lm['docs'])} "
          f"max_abs {max_abs:.3g} max_rel {max_rel:.3g} argmax_differs {argmax_diff}")


def cmd_same(a, b):
    def logliks(p):
        with open(p, encoding="utf-8") as f:
            return {key(r): [repr(c["loglik"]) for c in r["choices"]] for r in map(json.loads, f)}
    la, lb = logliks(a), logliks(b)
    diff = sum(1 for k in la if la[k] != lb.get(k))
    print(f"records {len(la)}/{len(lb)} differing {diff}: {'bit-identical' if diff == 0 and len(la) == len(lb) else 'DIFFERENT'}")


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "task":
        cmd_task(a[1], a[2])
    elif len(a) >= 9 and a[0] == "lmeval":
        cmd_lmeval(a[1:])
    elif len(a) == 3 and a[0] == "compare":
        cmd_compare(a[1], a[2])
    elif len(a) == 3 and a[0] == "same":
        cmd_same(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
