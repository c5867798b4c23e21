#!/usr/bin/env python3
"""make-belebele-reference.py — lm-evaluation-harness's own rendering of the Belebele test
file tests/data/import/belebele/eng_Latn.jsonl, the oracle of tests/task_import_belebele.c.

lm-eval's `belebele` task (its _default_template_yaml: doc_to_text, doc_to_choice, doc_to_target,
target_delimiter) is loaded unchanged and pointed at the local JSONL file instead of the Hugging
Face dataset; each question's context, choices, gold index and delimiter are written to
tests/data/import/belebele/lmeval-eng_Latn.json. merilo's `import belebele` must render the same
strings for `en`.

Needs lm-eval (pip install lm-eval; ci/lmeval-compare.sh makes a venv with it):
    build/lmeval-venv/bin/python ci/make-belebele-reference.py
"""
import json
import os
import sys
import tempfile

import lm_eval
from lm_eval.tasks import TaskManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "import", "belebele")


def main():
    template = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "belebele", "_default_template_yaml")
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "belebele_local.yaml"), "w") as f:
        f.write(f"task: belebele_local_en\ninclude: {template}\ndataset_path: json\n"
                f"dataset_kwargs:\n  data_files:\n    test: {DATA}/eng_Latn.jsonl\n"
                "test_split: test\nfewshot_split: test\n")
    task = TaskManager(include_path=work).load_task_or_group(["belebele_local_en"])["belebele_local_en"]
    out = [{"context": task.doc_to_text(doc), "choices": task.doc_to_choice(doc), "gold": task.doc_to_target(doc),
            "target_delimiter": task.config.target_delimiter} for doc in task.test_docs()]
    path = os.path.join(DATA, "lmeval-eng_Latn.json")
    with open(path, "w") as f:
        json.dump({"lm_eval": lm_eval.__version__, "task": "belebele (_default_template_yaml)", "requests": out}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path} ({len(out)} questions, lm-eval {lm_eval.__version__})", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
