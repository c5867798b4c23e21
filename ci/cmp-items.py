#!/usr/bin/env python3
"""cmp-items.py — compare two merilo runs' items.jsonl unit by unit (the same
suite on two backends, e.g. CPU and CUDA): per-choice log-likelihood
differences, and where the picked choice differs, whether the reference run's
margin between the two choices was within the difference the backends show.

    ci/cmp-items.py REF/items.jsonl OTHER/items.jsonl [--tol T]

Prints one line: units compared, max |delta loglik|, picks that differ, and
how many of those had a reference margin above 2 x max |delta| (each such
pick is a real disagreement, not rounding); exit 1 when any had, or when the
max |delta| exceeds --tol (default: no bound), or when the units differ.
Used by ci/gpu-check.sh; needs only the standard library.
"""
import json
import sys


def load(path):
    units = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            j = json.loads(line)
            if "choices" not in j:
                continue
            units[(j["task"], j["item"], j["language"])] = j
    return units


def pick(u):
    m = u.get("metrics", {}).get("acc")
    if m and m.get("pred_index") is not None:
        return m["pred_index"]
    lls = [c["loglik"] for c in u["choices"]]
    return max(range(len(lls)), key=lambda i: lls[i])


def main(argv):
    tol = None
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--tol":
            tol = float(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    try:
        ref, oth = load(args[0]), load(args[1])
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot compare: {e}")
        return 2
    if set(ref) != set(oth):
        print(f"units differ: {len(ref)} in {args[0]}, {len(oth)} in {args[1]}, "
              f"{len(set(ref) ^ set(oth))} not in both")
        return 1
    worst = 0.0
    worst_key = None
    flips = []
    for k, r in ref.items():
        o = oth[k]
        for cr, co in zip(r["choices"], o["choices"]):
            d = abs(cr["loglik"] - co["loglik"])
            if d > worst:
                worst, worst_key = d, k
        if pick(r) != pick(o):
            lls = sorted((c["loglik"] for c in r["choices"]), reverse=True)
            flips.append((lls[0] - lls[1], k))
    real = [f for f in flips if f[0] > 2 * worst]
    msg = (f"{len(ref)} units, max |delta loglik| {worst:.3g} (at {'/'.join(worst_key) if worst_key else '-'}), "
           f"{len(flips)} picks differ")
    if flips:
        msg += f" (reference margins {', '.join(f'{m:.3g}' for m, _ in sorted(flips)[:5])}" + \
               (" ..." if len(flips) > 5 else "") + f"; {len(real)} above 2 x max |delta|)"
    bad = bool(real) or (tol is not None and worst > tol)
    if tol is not None:
        msg += f"; tolerance {tol:g}: {'FAIL' if worst > tol else 'ok'}"
    print(msg)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
