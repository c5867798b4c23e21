#!/usr/bin/env python3
"""make-sample-reference.py -- the oracle of `merilo run --sample N`.

Writes tests/data/sample/suite.json (two tasks: one with a "breakdown" over five
values of uneven sizes, one without) and tests/data/sample/expected.json: for
each (N, seed), and each (P%, seed), the item ids each task's sample holds, in
suite order.

The selection is computed here from docs/evaluation.md ("Sampling items") alone,
not from merilo's code: splitmix64, xoshiro256**, Lemire's bounded draw and
FNV-1a-64 written out in Python, then the stratified apportionment and the
partial Fisher-Yates shuffle. tests/hrn_sample.c checks that merilo draws the
same items. Run from the repository root: python3 ci/make-sample-reference.py
"""
import json
import os

M64 = (1 << 64) - 1


def splitmix64(x):
    """(next state, output) of splitmix64 from state x."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro:
    """xoshiro256**, seeded with the first four outputs of splitmix64 from the seed."""

    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x, out = splitmix64(x)
            self.s.append(out)

    @classmethod
    def stream(cls, seed, stream):
        """Stream `stream` of `seed`: seed ^ splitmix64's first output from stream + 1."""
        _, mix = splitmix64((stream + 1) & M64)
        return cls(seed ^ mix)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, bound):
        """Uniform in [0, bound): Lemire's multiply, rejecting low words below 2^64 mod bound."""
        m = self.next() * bound
        low = m & M64
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                m = self.next() * bound
                low = m & M64
        return m >> 64


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def sample(task, n, seed):
    """The ids of task's items in its sample of n under seed, in suite order."""
    items = task["items"]
    if n >= len(items):
        return [it["id"] for it in items]
    field = task.get("breakdown")

    def value(it):  # the item's first language's value ("" without a breakdown)
        if not field:
            return ""
        for lang in task["languages"]:
            src = task.get("derived", {}).get(lang, {}).get("from", lang)
            if src in it:
                return it[src].get(field, "")
        return ""

    keyed = sorted(((value(it).encode("utf-8"), i) for i, it in enumerate(items)))
    groups = []  # [value, [item indices in item order]]
    for v, i in keyed:
        if not groups or groups[-1][0] != v:
            groups.append([v, []])
        groups[-1][1].append(i)
    one_each = n >= len(groups)
    base = 1 if one_each else 0
    m, total = n - base * len(groups), len(items) - base * len(groups)
    quota, rem = [], []
    for _, idx in groups:
        share = m * (len(idx) - base)
        quota.append(base + share // total)
        rem.append(share % total)
    left = m - sum(q - base for q in quota)
    for g in sorted(range(len(groups)), key=lambda g: (-rem[g], g))[:left]:
        quota[g] += 1
    chosen = set()
    task_seed = seed ^ fnv1a64(task["id"])
    for g, (_, idx) in enumerate(groups):
        rng = Xoshiro.stream(task_seed, g)
        v = list(idx)
        for j in range(quota[g]):
            r = j + rng.below(len(v) - j)
            v[j], v[r] = v[r], v[j]
            chosen.add(v[j])
    return [items[i]["id"] for i in sorted(chosen)]


def make_suite():
    """Two multiple-choice tasks: by_field in en, sr-Latn and sr-Cyrl (derived), plain in en and hr."""
    sizes = {"zoologija": 14, "biologija": 9, "hemija": 5, "fizika": 5, "astronomija": 1}  # fizika and hemija tie
    order = []
    for v, k in sizes.items():
        order += [v] * k
    # interleave, so that a group's items are not consecutive and ids are not sorted
    order = order[::2] + order[1::2]
    items = []
    for i, v in enumerate(order):
        iid = "b%02d" % ((i * 7) % len(order))
        it = {"id": iid, "gold": i % 2}
        q = "Pitanje %d iz oblasti %s?" % (i, v)
        if i != 3:  # item 3 has no English variant: its value is sr-Latn's
            it["en"] = {"question": "Question %d about %s?" % (i, v), "choices": ["yes", "no"], "oblast": v}
        it["sr-Latn"] = {"question": q, "choices": ["da", "ne"], "oblast": v}
        items.append(it)
    plain = [{"id": "p%02d" % i, "gold": 0, "en": {"question": "Plain %d?" % i, "choices": ["a", "b", "c"]},
              "hr": {"question": "Obično %d?" % i, "choices": ["a", "b", "c"]}} for i in range(23)]
    en = {"context": "Q: {question}\nA:", "choice": "{choice}"}
    latin = {"context": "P: {question}\nO:", "choice": "{choice}"}
    return {
        "format": "merilo-suite/1", "name": "sample-test", "version": "1.0.0",
        "description": "Items for tests/hrn_sample.c (made by ci/make-sample-reference.py).",
        "source": "merilo tests", "license": "CC0-1.0",
        "tasks": [
            {"id": "by_field", "type": "multiple_choice", "metrics": ["acc"], "breakdown": "oblast",
             "languages": ["en", "sr-Latn", "sr-Cyrl"],
             "derived": {"sr-Cyrl": {"from": "sr-Latn", "transform": "sr-Latn-to-Cyrl"}},
             "templates": {"en": en, "sr-Latn": latin}, "target_delimiter": " ", "items": items},
            {"id": "plain", "type": "multiple_choice", "metrics": ["acc"], "languages": ["en", "hr"],
             "templates": {"en": en, "hr": latin}, "target_delimiter": " ", "items": plain},
        ],
    }


CASES = [(1, 1234), (3, 1234), (5, 1234), (7, 1234), (7, 90), (12, 5), (20, 0), (33, 1234), (34, 1234), (100, 7)]
# --sample P%: each task draws P% of its items rounded half up, at least 1 (50% of the
# 23-item task is 11.5: 12; 1% of either is below one half: 1; 99% of either: every item)
PERCENT_CASES = [(1, 1234), (10, 90), (15, 1234), (50, 7), (99, 5)]


def percent_size(n_items, pct):
    return max(1, (n_items * pct + 50) // 100)


def main():
    out = "tests/data/sample"
    os.makedirs(out, exist_ok=True)
    suite = make_suite()
    with open(os.path.join(out, "suite.json"), "w", encoding="utf-8") as f:
        json.dump(suite, f, ensure_ascii=False, indent=1)
        f.write("\n")
    expected = [{"n": n, "seed": seed, "tasks": {t["id"]: sample(t, n, seed) for t in suite["tasks"]}}
                for n, seed in CASES]
    expected += [{"percent": p, "seed": seed,
                  "tasks": {t["id"]: sample(t, percent_size(len(t["items"]), p), seed) for t in suite["tasks"]}}
                 for p, seed in PERCENT_CASES]
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
