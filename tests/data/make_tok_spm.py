#!/usr/bin/env python3
"""Oracle ids for merilo's tokenizer.model tests (tests/eng_vocab_spm.c).

For each SentencePiece tokenizer named below (../shared/fixtures/hf/tokenizers/<name>/),
copies its tokenizer.model and tokenizer_config.json, WITHOUT tokenizer.json, to a
scratch folder and loads that with transformers' AutoTokenizer (which converts the
SentencePiece model itself: transformers >= 5, sentencepiece and protobuf installed;
an oracle only, CI does not need it). Writes tests/data/tok-spm.<name>.hf.out: one line
per string, each id preceded by a space, add_special_tokens=False, for the 30 strings of
fixtures/hf/tokenizers/texts.txt then the 15 of tests/data/tok-bcms.inp; and
tests/data/tok-spm.<name>.special: "n_tokens bos eos unk pad add_bos" (-1: none) as the
tokenizer reports them, then the ids of "Zdravo" with add_special_tokens=True.

Variants (tokenizer_config.json from tests/data/<dir>/, the model from a fixture), the same
45 strings and the 4 of tests/data/tok-spm-special.inp (special tokens inside text) into
tests/data/tok-spm.<variant>.hf.out: "legacy" (tiny-spm with "legacy": true:
a leading ▁ after every added token) and "noclass" (tiny-spm-gemma without tokenizer_class,
beside fixtures/hf/gemma2/config.json: transformers picks GemmaTokenizer by its model_type).

At scale: tests/data/tok-spm.llama-spm.hf.out, 91 strings (the 45, then llama.cpp's 46
of ../shared/fixtures/tokenizer/ggml-vocab-llama-spm.gguf.inp), from a Llama 2
tokenizer.model rebuilt from that GGUF (32,000 pieces, scores and types; BPE, byte fallback,
identity normalizer, add_dummy_prefix, no whitespace removal: pip install gguf) beside
tiny-spm's tokenizer_config.json. tests/eng_vocab_spm.c rebuilds the same file.

Also tests/data/tok-spm-added.inp and .hf.out: tiny-spm's tokenizer.model with the
tokenizer_config.json (two added_tokens_decoder entries) and added_tokens.json of
tests/data/spm-added/. transformers 5 ignores added_tokens.json (<|im_start|> stays text,
and its len() is 514); merilo reads it, as transformers 4 and llama.cpp's converter do.

Run from the repository root:  python3 tests/data/make_tok_spm.py
"""
import os
import shutil
import sys
import tempfile

from transformers import AutoTokenizer

NAMES = ["tiny-spm", "tiny-spm-gemma", "tiny-spm-phi3"]
SEP = "\n__ggml_vocab_test__\n"


def llama2_model(gguf_path, out):
    """A tokenizer.model from a GGUF "llama" vocabulary: its pieces, scores and types."""
    from gguf import GGUFReader
    from sentencepiece import sentencepiece_model_pb2 as pb
    fields = GGUFReader(gguf_path).fields

    def arr(key):
        fl = fields[key]
        return [fl.parts[i] for i in fl.data]
    m = pb.ModelProto()
    for text, score, ttype in zip(arr("tokenizer.ggml.tokens"), arr("tokenizer.ggml.scores"),
                                  arr("tokenizer.ggml.token_type")):
        p = m.pieces.add()
        p.piece = bytes(text).decode("utf-8")
        p.score = float(score[0])
        p.type = int(ttype[0])
    m.trainer_spec.model_type = 2  # BPE
    m.trainer_spec.byte_fallback = True
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = False
    with open(out, "wb") as f:
        f.write(m.SerializeToString())


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    fx = os.path.join(root, "..", "..", "..", "shared", "fixtures", "hf", "tokenizers")
    with open(os.path.join(fx, "texts.txt"), encoding="utf-8", newline="") as f:
        texts = f.read().split(SEP)
    if texts[-1] == "":  # the file ends with a separator (llama.cpp's .inp files do)
        texts.pop()
    with open(os.path.join(root, "tok-bcms.inp"), encoding="utf-8", newline="") as f:
        texts += f.read().split(SEP)
    for name in NAMES:
        with tempfile.TemporaryDirectory() as td:
            for fn in ("tokenizer.model", "tokenizer_config.json"):
                shutil.copy(os.path.join(fx, name, fn), os.path.join(td, fn))
            tok = AutoTokenizer.from_pretrained(td)
            assert not os.path.exists(os.path.join(td, "tokenizer.json"))
        with open(os.path.join(root, f"tok-spm.{name}.hf.out"), "w", encoding="utf-8") as f:
            for t in texts:
                f.write("".join(f" {i}" for i in tok.encode(t, add_special_tokens=False)) + "\n")
        def tid(x):
            return -1 if x is None else x
        add_bos = tok.encode("Zdravo")[:1] == [tok.bos_token_id]
        with open(os.path.join(root, f"tok-spm.{name}.special"), "w", encoding="utf-8") as f:
            f.write(f"{len(tok)} {tid(tok.bos_token_id)} {tid(tok.eos_token_id)} {tid(tok.unk_token_id)} "
                    f"{tid(tok.pad_token_id)} {int(add_bos)}\n")
            f.write("".join(f" {i}" for i in tok.encode("Zdravo")) + "\n")
    special = ["a<s>b", "<s>x", "a</s> b", "Zdravo</s>svete <s> kraj"]
    with open(os.path.join(root, "tok-spm-special.inp"), "w", encoding="utf-8", newline="") as f:
        f.write(SEP.join(special))
    variants = [("legacy", "tiny-spm", "spm-legacy", None), ("noclass", "tiny-spm-gemma", "spm-noclass",
                                                                os.path.join(fx, "..", "gemma2", "config.json"))]
    for name, model, cfg_dir, config in variants:
        with tempfile.TemporaryDirectory() as td:
            shutil.copy(os.path.join(fx, model, "tokenizer.model"), td)
            shutil.copy(os.path.join(root, cfg_dir, "tokenizer_config.json"), td)
            if config:
                shutil.copy(config, td)
            tok = AutoTokenizer.from_pretrained(td)
        with open(os.path.join(root, f"tok-spm.{name}.hf.out"), "w", encoding="utf-8") as f:
            for t in texts + special:
                f.write("".join(f" {i}" for i in tok.encode(t, add_special_tokens=False)) + "\n")
    llama_inp = os.path.join(fx, "..", "..", "tokenizer", "ggml-vocab-llama-spm.gguf.inp")
    with open(llama_inp, encoding="utf-8", newline="") as f:
        inp = f.read().split(SEP)
    if inp[-1] == "":
        inp.pop()
    with tempfile.TemporaryDirectory() as td:
        llama2_model(os.path.join(fx, "..", "..", "tokenizer", "ggml-vocab-llama-spm.gguf"),
                     os.path.join(td, "tokenizer.model"))
        shutil.copy(os.path.join(fx, "tiny-spm", "tokenizer_config.json"), td)
        tok = AutoTokenizer.from_pretrained(td)
    with open(os.path.join(root, "tok-spm.llama-spm.hf.out"), "w", encoding="utf-8") as f:
        for t in texts + inp:
            f.write("".join(f" {i}" for i in tok.encode(t, add_special_tokens=False)) + "\n")
    added = ["a<|im_end|>b", "x <tool> y", "<|im_end|> Zdravo", " <s> a", "Zdravo<tool>", "<|im_start|>user\nHi<|im_end|>"]
    with open(os.path.join(root, "tok-spm-added.inp"), "w", encoding="utf-8", newline="") as f:
        f.write(SEP.join(added))
    with tempfile.TemporaryDirectory() as td:
        shutil.copy(os.path.join(fx, "tiny-spm", "tokenizer.model"), td)
        for fn in ("tokenizer_config.json", "added_tokens.json"):
            shutil.copy(os.path.join(root, "spm-added", fn), td)
        tok = AutoTokenizer.from_pretrained(td)
    with open(os.path.join(root, "tok-spm-added.hf.out"), "w", encoding="utf-8") as f:
        for t in added:
            f.write("".join(f" {i}" for i in tok.encode(t, add_special_tokens=False)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
