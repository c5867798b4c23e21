#!/usr/bin/env python3
"""make-winogrande-reference.py — lm-evaluation-harness's own scoring of Winogrande by partial
evaluation, the oracle of a multiple-choice task with "choice_in_context" (tests/hrn_winogrande.c).

lm-eval 0.4.13's winogrande task (tasks/winogrande: the sentence up to its blank with each option
as that option's context, the rest of the sentence as the one continuation) is pointed at
tests/data/winogrande/winogrande.jsonl, four sentences in the Serbian LLM eval's row format
written for the test, and scores them with ../shared/fixtures/hf/qwen2 (a tiny random Qwen2
checkpoint, float32) through transformers with log_samples. Every request's context,
continuation and log-likelihood is written to tests/data/winogrande/lmeval-qwen2.json; the test
imports the same file with `merilo import serbian-llm-eval`, runs the suite on the same
checkpoint and compares.

Needs lm-eval, torch and transformers (ci/lmeval-compare.sh makes a venv with them):
    build/lmeval-venv/bin/python ci/make-winogrande-reference.py
"""
import os
import tempfile

from lmeval_samples import offline, requests, write_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "winogrande")
FIX = os.path.join(ROOT, "..", "shared", "fixtures", "hf", "qwen2")


def main():
    import lm_eval
    from lm_eval.tasks import TaskManager
    tasks = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")
    work = tempfile.mkdtemp()
    docs = os.path.join(DATA, "winogrande.jsonl")
    with open(os.path.join(work, "wg.yaml"), "w") as f:
        f.write(f"task: merilo_winogrande\ninclude: {os.path.join(tasks, 'winogrande', 'default.yaml')}\n"
                f"dataset_path: json\ndataset_name: null\ndataset_kwargs:\n  data_files:\n    validation: {docs}\n"
                "training_split: null\nvalidation_split: validation\n")
    res = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={FIX},dtype=float32",
                                  tasks=["merilo_winogrande"], task_manager=TaskManager(include_path=work),
                                  log_samples=True, device="cpu", batch_size=1)
    out = []
    for s in res["samples"]["merilo_winogrande"]:
        out.append({"doc": s["doc_id"], "requests": requests(s)})
    out.sort(key=lambda d: d["doc"])
    path = os.path.join(DATA, "lmeval-qwen2.json")
    write_reference(path, {"lm_eval": lm_eval.__version__, "task": "winogrande (default.yaml) on winogrande.jsonl",
                           "model": "fixtures/hf/qwen2, float32", "docs": out})


if __name__ == "__main__":
    offline()
    main()
