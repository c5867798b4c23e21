#!/usr/bin/env python3
"""make-import-reference.py — lm-evaluation-harness's own rendering of the test files of
`merilo import belebele`, `global-mmlu` (English), `global-piqa` (every language: its prompt
has no words of its own), `mmlu-prox` (English and Serbian, zero- and 2-shot), `include` (Serbian,
Croatian, Macedonian) and `okapi-arc` / `okapi-mmlu` (English, Croatian, Serbian), the oracles of
tests/task_import_belebele.c, tests/task_import_global_mmlu.c, tests/task_import_global_piqa.c,
tests/task_import_mmlu_prox.c, tests/task_import_include.c and tests/task_import_okapi.c.

lm-eval's task templates (belebele's and global_mmlu's _default/_en template, global_piqa's
parallel_cloze one: doc_to_text, doc_to_choice, doc_to_target, target_delimiter) are loaded
unchanged and pointed at the local JSONL file instead of the Hugging Face dataset; each
question's context, choices, gold index and delimiter are written next to the test file
(lmeval-*.json). merilo's importers must render the same strings.

Global-MMLU's few-shot prompts too: lm-eval runs one task per subject (its process_docs keeps
the subject's rows of the test and the dev split) with the `first_n` sampler on dev; here each
subject's rows of en.jsonl and en-dev.jsonl become such a local task, and fewshot_context(doc, 2)
of every test question is written to global-mmlu/lmeval-en-2shot.json, which merilo's plan of
the suite imported with --pool must equal.

Needs lm-eval (pip install lm-eval; ci/lmeval-compare.sh makes a venv with it):
    build/lmeval-venv/bin/python ci/make-import-reference.py
"""
import json
import os
import sys
import tempfile

import lm_eval
from lm_eval.tasks import TaskManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "import")
TASKS = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")

# (lm-eval template, test file, reference written)
CASES = [
    ("belebele/_default_template_yaml", "belebele/eng_Latn.jsonl", "belebele/lmeval-eng_Latn.json"),
    ("global_mmlu/full/en/_en_template_yaml", "global-mmlu/en.jsonl", "global-mmlu/lmeval-en.json"),
] + [("global_piqa/parallel_cloze/_template", f"global-piqa/{lang}.jsonl", f"global-piqa/lmeval-{lang}.json")
     for lang in ("eng_latn", "srp_cyrl", "srp_latn", "hrv_latn")]


def rendered(template, data, extra=""):
    """(doc, request) of every test question of the local JSONL file data under lm-eval's task
    template (extra: more YAML, e.g. splits the template names but the file lacks): the context,
    choices, gold index and target delimiter."""
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "local.yaml"), "w") as f:
        f.write(f"task: merilo_local\ninclude: {os.path.join(TASKS, template)}\ndataset_path: json\n"
                f"dataset_name: null\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
                "test_split: test\nfewshot_split: test\n" + extra)
    task = TaskManager(include_path=work).load_task_or_group(["merilo_local"])["merilo_local"]
    for doc in task.test_docs():
        choices = task.doc_to_choice(doc)
        gold = task.doc_to_target(doc)
        if isinstance(gold, str):  # global_mmlu's and m_mmlu's target is the letter itself
            gold = choices.index(gold)
        yield doc, {"context": task.doc_to_text(doc), "choices": choices, "gold": gold,
                    "target_delimiter": task.config.target_delimiter}


def render(template, data):
    return [req for _, req in rendered(template, data)]


def fewshot_mmlu(k):
    """lm-eval's k-shot contexts of global-mmlu/en.jsonl, per-subject tasks on the dev file."""
    test = [json.loads(line) for line in open(os.path.join(DATA, "global-mmlu", "en.jsonl"))]
    dev = [json.loads(line) for line in open(os.path.join(DATA, "global-mmlu", "en-dev.jsonl"))]
    work = tempfile.mkdtemp()
    subjects = sorted({r["subject"] for r in test})
    for subj in subjects:
        for split, rows in (("test", test), ("dev", dev)):
            with open(os.path.join(work, f"{subj}-{split}.jsonl"), "w") as f:
                for r in rows:
                    if r["subject"] == subj:
                        f.write(json.dumps(r, ensure_ascii=False) + "\n")
        with open(os.path.join(work, f"{subj}.yaml"), "w") as f:
            f.write(f"task: merilo_{subj}\ninclude: {os.path.join(TASKS, 'global_mmlu/full/en/_en_template_yaml')}\n"
                    f"dataset_path: json\ndataset_name: null\ndataset_kwargs:\n  data_files:\n"
                    f"    test: {work}/{subj}-test.jsonl\n    dev: {work}/{subj}-dev.jsonl\n")
    tm = TaskManager(include_path=work)
    out = {}
    for subj in subjects:
        task = tm.load_task_or_group([f"merilo_{subj}"])[f"merilo_{subj}"]
        for doc in task.test_docs():
            out[doc["sample_id"]] = task.fewshot_context(doc, k)
    return out


def mmlu_prox(lang, k):
    """lm-eval's mmlu_prox_LANG_<category> prompts of mmlu-prox/LANG-test.jsonl: each category's
    task on a local test and validation file (its process_docs keeps the category's rows, the
    first_n sampler takes the validation ones in order), k-shot; with each question's target and
    the task's regex, stop strings and generation limit."""
    work = tempfile.mkdtemp()
    rows = {split: [json.loads(line) for line in open(os.path.join(DATA, "mmlu-prox", f"{lang}-{split}.jsonl"))]
            for split in ("test", "validation")}
    cats = sorted({r["category"] for r in rows["test"]})
    tm_names = {}
    for cat in cats:
        key = cat.replace(" ", "_")
        for split in rows:
            with open(os.path.join(work, f"{key}-{split}.jsonl"), "w") as f:
                for r in rows[split]:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        yaml = os.path.join(TASKS, f"mmlu_prox/{lang}/mmlu_prox_{lang}_{key}.yaml")
        with open(os.path.join(work, f"{key}.yaml"), "w") as f:
            f.write(f"task: merilo_{key}\ninclude: {yaml}\ndataset_path: json\ndataset_name: null\n"
                    f"dataset_kwargs:\n  data_files:\n    test: {work}/{key}-test.jsonl\n"
                    f"    validation: {work}/{key}-validation.jsonl\n")
        tm_names[cat] = f"merilo_{key}"
    tm = TaskManager(include_path=work)
    out, cfg = {}, None
    for cat in cats:
        task = tm.load_task_or_group([tm_names[cat]])[tm_names[cat]]
        cfg = task.config
        for doc in task.test_docs():
            out[f"test/{doc['question_id']}"] = {"context": task.fewshot_context(doc, k),
                                                 "target": task.doc_to_target(doc)}
    return {"lm_eval": lm_eval.__version__, "task": f"mmlu_prox/{lang}, per category, first_n on validation, {k}-shot",
            "regex": cfg.filter_list[0]["filter"][0]["regex_pattern"], "until": cfg.generation_kwargs["until"],
            "max_gen_toks": cfg.generation_kwargs["max_gen_toks"], "prompts": out}


def include_og(language, data):
    """lm-eval's include_base_44_<language>_few_shot_og prompts of include/<data>: each domain's
    task (its process_docs keeps the domain's rows) on the local file; keyed by the row's
    line (1-based) in the file, as merilo's item ids are."""
    import glob
    path = os.path.join(DATA, "include", data)
    rows = [json.loads(line) for line in open(path)]
    work = tempfile.mkdtemp()
    yamls = sorted(glob.glob(os.path.join(TASKS, f"include/few_shot_og/{language}/include_base_44_*.yaml")))
    for y in yamls:
        key = os.path.basename(y)[:-5]
        with open(os.path.join(work, key + ".yaml"), "w") as f:
            f.write(f"task: merilo_{key}\ninclude: {y}\ndataset_path: json\ndataset_name: null\n"
                    f"dataset_kwargs:\n  data_files:\n    test: {path}\n")
    tm = TaskManager(include_path=work)
    out = {}
    for y in yamls:
        key = os.path.basename(y)[:-5]
        task = tm.load_task_or_group([f"merilo_{key}"])[f"merilo_{key}"]
        for doc in task.test_docs():
            line = 1 + next(i for i, r in enumerate(rows) if r["question"] == doc["question"])
            out[str(line)] = {"context": task.fewshot_context(doc, 0), "choices": task.doc_to_choice(doc),
                              "gold": task.doc_to_target(doc), "target_delimiter": task.config.target_delimiter}
    return {"lm_eval": lm_eval.__version__, "task": f"include/few_shot_og/{language}, per domain, zero-shot",
            "requests": out}


def okapi(template, data):
    """lm-eval's okapi task (arc_multilingual's or m_mmlu's, pointed at the local file) on
    okapi/<data>: each question's request, keyed by its id."""
    reqs = {doc["id"]: req for doc, req in rendered(template, os.path.join(DATA, "okapi", data),
                                                    "validation_split: null\ntraining_split: null\n")}
    return {"lm_eval": lm_eval.__version__, "task": template, "requests": reqs}


def main():
    for kind, template in (("arc", "okapi/arc_multilingual/arc_hr.yaml"),
                           ("mmlu", "okapi/mmlu_multilingual/m_mmlu_hr.yaml")):
        for lang in ("en", "hr", "sr"):
            path = os.path.join(DATA, "okapi", f"lmeval-{kind}-{lang}.json")
            with open(path, "w") as f:
                json.dump(okapi(template, f"{kind}-{lang}.jsonl"), f, ensure_ascii=False, indent=1)
                f.write("\n")
            print(f"wrote {path}", file=sys.stderr)
    for language, data in (("Serbian", "Serbian.jsonl"), ("Croatian", "Croatian.jsonl"),
                           ("North Macedonian", "North_Macedonian.jsonl")):
        path = os.path.join(DATA, "include", "lmeval-" + data.replace(".jsonl", ".json"))
        with open(path, "w") as f:
            json.dump(include_og(language, data), f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {path}", file=sys.stderr)
    for lang in ("en", "sr"):
        for k in (0, 2):
            path = os.path.join(DATA, "mmlu-prox", f"lmeval-{lang}-{k}shot.json")
            with open(path, "w") as f:
                json.dump(mmlu_prox(lang, k), f, ensure_ascii=False, indent=1)
                f.write("\n")
            print(f"wrote {path}", file=sys.stderr)
    path = os.path.join(DATA, "global-mmlu", "lmeval-en-2shot.json")
    with open(path, "w") as f:
        json.dump({"lm_eval": lm_eval.__version__, "task": "global_mmlu/full/en, per subject, first_n on dev, 2-shot",
                   "contexts": fewshot_mmlu(2)}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)
    for template, data, ref in CASES:
        out = render(template, os.path.join(DATA, data))
        path = os.path.join(DATA, ref)
        with open(path, "w") as f:
            json.dump({"lm_eval": lm_eval.__version__, "task": template, "requests": out}, f, ensure_ascii=False,
                      indent=1)
            f.write("\n")
        print(f"wrote {path} ({len(out)} questions, lm-eval {lm_eval.__version__})", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
