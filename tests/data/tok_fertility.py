#!/usr/bin/env python3
"""Tokens per word by script (en, sr-Cyrl, sr-Latn, hr) on the demo suite's text.

Collects every string of every item of tasks/suites/demo.json per language (sr-Latn
is transliterated from sr-Cyrl, as the suite derives it), tokenizes each string with
`merilo tokenize --lines --no-bos` for each tokenizer given, and prints tokens / words
(words: whitespace-separated). Usage (repository root):
  python3 tests/data/tok_fertility.py build/merilo MODEL_OR_TOKENIZER...
"""
import json
import subprocess
import sys

CYR = dict(zip("абвгдђежзијклљмнњопрстћуфхцчџш",
               ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o", "p",
                "r", "s", "t", "ć", "u", "f", "h", "c", "č", "dž", "š"]))


def to_latn(s):
    out = []
    for ch in s:
        low = ch.lower()
        if low in CYR:
            lat = CYR[low]
            out.append(lat if ch == low else (lat[0].upper() + lat[1:]))
        else:
            out.append(ch)
    return "".join(out)


def strings(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, list):
        for x in o:
            yield from strings(x)
    elif isinstance(o, dict):
        for x in o.values():
            yield from strings(x)


def main():
    merilo, models = sys.argv[1], sys.argv[2:]
    suite = json.load(open("tasks/suites/demo.json", encoding="utf-8"))
    texts = {"en": [], "sr-Cyrl": [], "sr-Latn": [], "hr": []}
    for task in suite["tasks"]:
        for item in task.get("items", []):
            for lang in ("en", "sr-Cyrl", "hr"):
                if lang in item:
                    texts[lang] += [s.replace("\n", " ") for s in strings(item[lang])]
            if "sr-Cyrl" in item:
                texts["sr-Latn"] += [to_latn(s.replace("\n", " ")) for s in strings(item["sr-Cyrl"])]
    print("| tokenizer | " + " | ".join(texts) + " |")
    print("|---|" + "---|" * len(texts))
    for model in models:
        row = []
        for lang, lines in texts.items():
            data = "\n".join(lines) + "\n"
            out = subprocess.run([merilo, "tokenize", "--model", model, "--no-bos", "--lines", "--file", "-"],
                                 input=data.encode(), capture_output=True, check=True).stdout.decode()
            n_tok = sum(len(l.split()) for l in out.splitlines())
            n_words = sum(len(l.split()) for l in lines)
            row.append(f"{n_tok / n_words:.2f} ({n_words} w)")
        print(f"| {model.split('/')[-1]} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
