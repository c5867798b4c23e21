#!/usr/bin/env python3
"""Oracle ids for merilo's BCMS tokenizer tests (tests/eng_tokjson.c).

Writes tests/data/tok-bcms.inp (test strings in llama.cpp's .inp format: strings
separated by a line "__ggml_vocab_test__") and, for each tokenizer.json named below
from ../shared/fixtures/hf/tokenizers/, tests/data/tok-bcms.<name>.hf.out: the ids
that HF `tokenizers` (pip install tokenizers; an oracle only, CI does not need it)
gives with add_special_tokens=False, one line per string, each id preceded by a space.

Run from the repository root:  python3 tests/data/make_tok_bcms.py
"""
import os
import sys

from tokenizers import Tokenizer

NAMES = ["smollm2", "gpt-2", "tiny-bpe-llama3", "tiny-bpe-qwen2", "tiny-spm", "tiny-spm-gemma", "llama-spm"]

TEXTS = [
    "Ljubljana, Njegoš, džem, Džungla, LJUDI, NJIVA, DŽEP",
    "Љубав, њива, џем, Џунгла, ЉУДИ, ЊИВА, ЏЕП",
    "Ђурђевдан у Ћуприји: ђак, ћерка, Ђорђе, Ћирилица",
    "Đurđevdan u Ćupriji: đak, ćerka, Đorđe, Ćirilica",
    "Hrvatski: tisuća, kruh, vlak, zrak, tjedan, siječanj, veljača, ožujak, travanj",
    "Mješovito: Beograd/Београд, Niš/Ниш, Novi Sad/Нови Сад",
    "Emoji: 😀 🇷🇸 🇭🇷 👍🏽 ❤️ 🧑‍💻 — kraj",
    "Razmaci:  dva,   tri,    četiri\tTab\t\tdva taba",
    "Novi red\nи још један\n\nпразан ред изнад\r\nCRLF",
    "  vodeći razmaci i prateći  ",
    "Brojevi: 1.234,56 dinara; 3,14; 2024. godine; 10%; №5",
    "Наводници „овако“ и «овако», crtica – i tačka…",
    "ŠĐČĆŽ šđčćž ЂЋЏЉЊ ђћџљњ",
    "Q: Koji je glavni grad Srbije?\nA: Beograd.",
    "x" * 200 + " " + "ђ" * 100,
]


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    fx = os.path.join(root, "..", "..", "..", "shared", "fixtures", "hf", "tokenizers")
    with open(os.path.join(root, "tok-bcms.inp"), "w", encoding="utf-8", newline="") as f:
        f.write("\n__ggml_vocab_test__\n".join(TEXTS))
    for name in NAMES:
        tok = Tokenizer.from_file(os.path.join(fx, name, "tokenizer.json"))
        with open(os.path.join(root, f"tok-bcms.{name}.hf.out"), "w", encoding="utf-8") as f:
            for t in TEXTS:
                ids = tok.encode(t, add_special_tokens=False).ids
                f.write("".join(f" {i}" for i in ids) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
