#!/usr/bin/env python3
"""make-chat-mc-reference.py — lm-evaluation-harness's --apply_chat_template scoring of a small
multiple-choice task, the oracle of `merilo run --chat-multiple-choice` (tests/hrn_chat_mc.c).

Each case is a tiny random checkpoint of ../shared/fixtures/hf (float32) with a chat template
written into its tokenizer_config.json (the fixtures have none):

  chatml   qwen2    a plain ChatML template (no BOS anywhere)
  llama3   qwen2    Meta-Llama-3-8B-Instruct's own, which writes the BOS text itself (bos_token set
                    to the fixture's <|endoftext|>, the model's BOS)
  llama2   llama    Llama-2-13b-chat-hf's, which writes bos_token; the tokenizer adds BOS itself
                    (add_bos_token true)
  mistral  mistral  Mistral-7B-Instruct-v0.1's, which writes bos_token; add_bos_token true
  gemma    gemma2   gemma-7b-it's, which writes bos_token; add_bos_token true
  phi3     phi3     Phi-3.5-mini-instruct's (no BOS); add_bos_token false

(the templates are those of tests/data/chat/expected.json). The questions are
tests/data/chat-mc/docs.jsonl. lm-eval 0.4.13 scores them through transformers with
apply_chat_template=True and log_samples, and every request's context, continuation and
log-likelihood is written to tests/data/chat-mc/lmeval-chat.json with each case's fixture,
template and bos_token, so that the test builds the same folders and compares merilo's records
with lm-eval's.

Needs lm-eval, torch and transformers (ci/lmeval-compare.sh makes a venv with them):
    build/lmeval-venv/bin/python ci/make-chat-mc-reference.py
"""
import json
import os
import tempfile

from lmeval_samples import offline, requests, write_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "chat-mc")
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "hf")
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def score(name, fixture, template, bos_token):
    import lm_eval
    from lm_eval.tasks import TaskManager
    FIX = os.path.join(FIXTURES, fixture)
    work = tempfile.mkdtemp()
    model = os.path.join(work, "model")
    os.makedirs(model)
    for f in sorted(os.listdir(FIX)):
        if f != "tokenizer_config.json":
            os.symlink(os.path.abspath(os.path.join(FIX, f)), os.path.join(model, f))
    tc = json.load(open(os.path.join(FIX, "tokenizer_config.json")))
    tc["chat_template"] = template
    if bos_token is not None:
        tc["bos_token"] = bos_token
    json.dump(tc, open(os.path.join(model, "tokenizer_config.json"), "w"), indent=1)
    docs = os.path.join(DATA, "docs.jsonl")
    with open(os.path.join(work, "chatmc.yaml"), "w") as f:
        f.write(f"task: chatmc\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {docs}\n"
                "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{question}}'\n"
                "doc_to_choice: '{{choices}}'\ndoc_to_target: gold\ntarget_delimiter: ' '\n"
                "metric_list:\n  - metric: acc\n")
    res = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["chatmc"],
                                  task_manager=TaskManager(include_path=work), apply_chat_template=True,
                                  log_samples=True, device="cpu", batch_size=1)
    out = []
    for s in res["samples"]["chatmc"]:
        out.append({"id": s["doc"]["id"], "requests": requests(s)})
    out.sort(key=lambda d: d["id"])
    return {"name": name, "fixture": fixture, "chat_template": template, "bos_token": bos_token, "docs": out}


def main():
    import lm_eval
    cases = json.load(open(os.path.join(ROOT, "tests", "data", "chat", "expected.json")))["cases"]
    def template(model):
        return next(c["template"] for c in cases if c["model"] == model)
    path = os.path.join(DATA, "lmeval-chat.json")
    out = [score("chatml", "qwen2", CHATML, None),
           score("llama3", "qwen2", template("meta-llama/Meta-Llama-3-8B-Instruct"), "<|endoftext|>"),
           score("llama2", "llama", template("meta-llama/Llama-2-13b-chat-hf"), None),
           score("mistral", "mistral", template("mistralai/Mistral-7B-Instruct-v0.1"), None),
           score("gemma", "gemma2", template("google/gemma-7b-it"), None),
           score("phi3", "phi3", template("microsoft/Phi-3.5-mini-instruct"), None)]
    write_reference(path, {"lm_eval": lm_eval.__version__,
                           "model": "fixtures/hf/<fixture>, float32, with each case's template",
                           "apply_chat_template": True, "cases": out})


if __name__ == "__main__":
    offline()
    main()
