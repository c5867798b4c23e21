#!/usr/bin/env python3
"""Mask what legitimately changes between two runs of the same binary (clocks,
timings, hosts, build ids, absolute paths) in a golden output folder, so that
what remains is behaviour. Usage: normalize.py OUT RAW ROOT — rewrites OUT/cmd/*,
OUT/help/* in place and copies RAW's text outputs, masked, to OUT/files/."""
import json, os, re, shutil, sys

OUT, RAW, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]

# JSON keys whose values are clocks, timings or the host
VOLATILE_KEYS = {"timings_ns", "score_s", "tokens_per_s", "item_ms", "seconds",
                 "user_s", "sys_s", "wall_s", "started", "finished", "started_at",
                 "finished_at", "created", "created_at", "time", "date", "elapsed_s",
                 "peak_rss_bytes", "peak_rss_mib", "cpu_s", "cycles", "counters",
                 "hostname", "engine_build", "build", "git_commit", "cflags", "load_s", "model_load_s",
                 "peak_rss", "usage"}
NUM = r"[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?"
# text that reports a clock (run's summary lines, ppl/generate timings)
VOLATILE_RE = [(re.compile(p), r) for p, r in [
    (NUM + r" tokens/s", "<N> tokens/s"),
    (NUM + r" ms/item \(p90 " + NUM + r"\)", "<N> ms/item (p90 <N>)"),
    (r"CPU " + NUM + r" s in " + NUM + r" s", "CPU <N> s in <N> s"),
    (r"peak RSS " + NUM + r" MiB", "peak RSS <N> MiB"),
    (r"in " + NUM + r" s \(" + NUM + r" items/s\)", "in <N> s (<N> items/s)"),
    (r"merilo [0-9.]+ \([^)]*\)", "merilo <VERSION>"),
    (r"\b([0-9]+\.[0-9]+\.[0-9]+) (?:[0-9a-f]{12}|unknown)(?:-dirty)?\b", r"\1 <COMMIT>"),
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z?", "<TIME>"),
]]
# table columns (by header) that hold timings
VOLATILE_COL = re.compile(r"tokens/s|tokens_per_s|J/token|joules|time ratio|ms/item|seconds|TTFT", re.I)

def mask_text(s):
    s = s.replace(RAW, "<RAW>").replace(ROOT, "<ROOT>")
    for pat, rep in VOLATILE_RE:
        s = pat.sub(rep, s)
    return mask_html_tables(mask_tables(s))

CELL = re.compile(r"<(t[hd])\b[^>]*>.*?</\1>", re.S)

def mask_html_tables(s):
    """In HTML tables, blank the <td> cells under a timing <th>."""
    if "<t" not in s:
        return s
    cols = set()
    def row(m):
        nonlocal cols
        cells = CELL.findall(m.group(0))
        spans = list(CELL.finditer(m.group(0)))
        if spans and spans[0].group(1) == "th":
            cols = {i for i, c in enumerate(spans) if VOLATILE_COL.search(re.sub("<[^>]+>", "", c.group(0)))}
            return m.group(0)
        text = m.group(0)
        for i in sorted(cols, reverse=True):
            if i < len(spans):
                a, b = spans[i].span()
                text = text[:a] + "<td><T></td>" + text[b:]
        return text
    return re.sub(r"<tr\b.*?</tr>", row, s, flags=re.S)

def split_row(line, sep):
    return line.split(sep)

def mask_tables(s):
    """In markdown ('|') and CSV (',') tables, blank the cells of timing columns;
    in a 'Time per item' section, every number of the table."""
    out, cols, sep, timing_section = [], None, None, False
    for line in s.split("\n"):
        if line.startswith("Time per item") or "time per item" in line.lower() and line.startswith("#"):
            timing_section = True
        if line.startswith("|") or ("," in line and cols is not None and sep == ","):
            cells = line.split("|" if line.startswith("|") else ",")
            if cols is None:
                sep = "|" if line.startswith("|") else ","
                cols = {i for i, c in enumerate(cells) if VOLATILE_COL.search(c)}
            else:
                for i in cols:
                    if i < len(cells) and not set(cells[i].strip()) <= set("-:"):
                        cells[i] = "<T>"
                if timing_section:
                    cells = [re.sub(NUM, "<N>", c) for c in cells]
                line = sep.join(cells)
        elif cols is None and line.count(",") >= 3 and VOLATILE_COL.search(line):
            sep, cols = ",", {i for i, c in enumerate(line.split(",")) if VOLATILE_COL.search(c)}
        else:
            if line.strip() == "" and cols is not None:
                timing_section = False
            cols = None if not line.startswith("|") else cols
        out.append(line)
    return "\n".join(out)

def mask_json(v):
    if isinstance(v, dict):
        return {k: ("<masked>" if k in VOLATILE_KEYS else mask_json(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [mask_json(x) for x in v]
    if isinstance(v, str):
        return mask_text(v)
    return v

def mask_file(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # binary (images, models): not compared
    out = []
    if src.endswith(".jsonl"):
        for line in text.splitlines():
            try:
                out.append(json.dumps(mask_json(json.loads(line)), ensure_ascii=False, sort_keys=False))
            except ValueError:
                out.append(mask_text(line))
        text = "\n".join(out) + "\n"
    elif text.lstrip().startswith(("{", "[")):
        try:
            text = json.dumps(mask_json(json.loads(text)), ensure_ascii=False, indent=1) + "\n"
        except ValueError:
            text = mask_text(text)
    else:
        text = mask_text(text)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)

for sub in ("cmd", "help"):
    d = os.path.join(OUT, sub)
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        mask_file(p, p)
for dirpath, _, files in os.walk(RAW):
    for name in sorted(files):
        if name.endswith((".gguf", ".png", ".lock")) or name.startswith(("item-time.", "speed.")):
            continue
        src = os.path.join(dirpath, name)
        mask_file(src, os.path.join(OUT, "files", os.path.relpath(src, RAW)))
shutil.rmtree(RAW)
