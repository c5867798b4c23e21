#!/usr/bin/env python3
"""translit-misses.py — classify the misses that tests/task_translit.c writes
(MRL_TRANSLIT_MISSES=FILE, one miss a line: dir <TAB> package <TAB> input <TAB> got <TAB> expected)
for docs/transliteration.md. Needs the pairs file of ci/translit-catalogs.sh too, to count how
the catalogs write each token elsewhere.

Cyrillic -> Latin misses are split by what differs between our output and the Latin catalog:
letter case only, punctuation/space only, or words. Our Cyrillic -> Latin has one choice only,
the case of the second letter of Lj/Nj/Dž, so a miss that is not a Lj/Nj/Dž case difference is
the two catalogs saying different things (a translator deviation).

Latin -> Cyrillic misses are classified by the first word (letters, digits, _) where our output
and the Cyrillic catalog differ, T being that word of the Latin input:
  short       T has one or two characters (a, s, I, K, mm, CA): a Serbian word, a letter, a unit,
              a Roman numeral or a code — ambiguous by nature, decided by context rules
  both-ways   the catalogs write T both ways: in some messages kept Latin, in others in Cyrillic
              (counted over the message pairs with as many words on both sides), so no rule that
              looks at T alone matches both
  kept-latin  the catalogs keep T Latin (and never write it in Cyrillic), we transliterate it
  converted   the catalogs write T in Cyrillic (and never keep it), we keep it Latin
  structure   the texts have different word counts (a keyword list reordered, a word split)

The ceiling of token rules: a Latin -> Cyrillic miss is "both ways in its package" when the same
package's Cyrillic catalog writes T both ways as a standalone word (a white-space separated chunk
that, without the punctuation around it, is one word: "RGB", „GIF“, (HSL); not "%s", "gimp.org"):
T kept Latin somewhere and T's Cyrillic form (the catalog's or ours) somewhere else. Then no rule
that looks at T alone gets every occurrence in that package: the miss is one a token rule cannot
avoid (a rule on the context might). The other misses with a T are "avoidable" by such a rule
in principle; "structure" misses have no T and are counted apart. Of the avoidable ones, those
whose T is written both ways across packages (kept Latin in one package's Cyrillic catalog, its
Cyrillic form in another's; counted over PAIRS.tsv and any OTHER_PAIRS.tsv given, such as the
other set's pairs) need a rule that tells the packages apart: "both ways across packages".
Only the first word that differs is classified, so a message with several is counted once.

Usage: ci/translit-misses.py PAIRS.tsv MISSES.tsv [OTHER_PAIRS.tsv ...]
"""
import collections
import re
import sys

WORD = re.compile(r"\w+")
CYR = re.compile(r"[\u0400-\u04FF]")
LAT = re.compile(r"[A-Za-z\u00C0-\u024F]")


def unescape(s):
    return s.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r").replace("\\\\", "\\")


def token_counts(pairs_path):
    """For each Latin word: in how many aligned places the Cyrillic catalog kept it / converted it."""
    kept, conv = collections.Counter(), collections.Counter()
    with open(pairs_path, encoding="utf-8") as f:
        for line in f:
            _pkg, _dom, cyr, lat = line.rstrip("\n").split("\t")
            lw, cw = WORD.findall(lat), WORD.findall(cyr)
            if len(lw) != len(cw):
                continue
            for a, b in zip(lw, cw):
                if not LAT.search(a):
                    continue
                if a == b:
                    kept[a] += 1
                elif CYR.search(b) and not LAT.search(b):
                    conv[a] += 1
    return kept, conv


PUNCT = "\"'„“”«»‚‘’()[]{}<>,.;:!?…—–*"


def standalone_words(text):
    """The chunks of text (split at white space) that are one word once stripped of punctuation."""
    for chunk in text.split():
        w = chunk.strip(PUNCT)
        if w and WORD.fullmatch(w):
            yield w


def package_words(pairs_path):
    """For each package: the standalone words of its Cyrillic catalog, as a set."""
    words = collections.defaultdict(set)
    with open(pairs_path, encoding="utf-8") as f:
        for line in f:
            pkg, _dom, cyr, _lat = line.rstrip("\n").split("\t")
            words[pkg].update(standalone_words(unescape(cyr)))
    return words


def both_ways_in_package(words, t, got, want):
    """Does the package's Cyrillic catalog write T both ways (kept Latin, and its Cyrillic form)?"""
    cyr = want if want != t else got
    return t in words and cyr != t and CYR.search(cyr) is not None and cyr in words


def classify_c2l(got, want):
    if got == want:
        return "same"
    if got.lower() == want.lower():
        return "letter case only"
    if WORD.findall(got) == WORD.findall(want):
        return "punctuation/space only"
    return "words differ"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: ci/translit-misses.py PAIRS.tsv MISSES.tsv [OTHER_PAIRS.tsv ...]")
    kept, conv = token_counts(sys.argv[1])
    pkg_words = package_words(sys.argv[1])
    all_words = set()
    for path in [sys.argv[1]] + sys.argv[3:]:
        for words in package_words(path).values():
            all_words |= words
    ceiling = collections.Counter()
    ceiling_tok = collections.Counter()
    c2l = collections.Counter()
    c2l_pkg = collections.Counter()
    l2c = collections.defaultdict(collections.Counter)
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            d, pkg, inp, got, want = [unescape(x) for x in line.rstrip("\n").split("\t")]
            if d == "c2l":
                k = classify_c2l(got, want)
                c2l[k] += 1
                if k == "words differ" and pkg in ("packagekit", "appstream"):
                    c2l_pkg[k] += 1
                continue
            iw, gw, ww = WORD.findall(inp), WORD.findall(got), WORD.findall(want)
            if not (len(iw) == len(gw) == len(ww)):
                l2c["structure"][(pkg, inp[:60].replace("\n", " "))] += 1
                ceiling["structure"] += 1
                continue
            i = next((j for j in range(len(gw)) if gw[j] != ww[j]), None)
            if i is None:  # only punctuation differs: the first differing character's word
                l2c["structure"][(pkg, inp[:60].replace("\n", " "))] += 1
                ceiling["structure"] += 1
                continue
            t = iw[i]
            if both_ways_in_package(pkg_words[pkg], t, gw[i], ww[i]):
                ceiling["both ways in its package"] += 1
                ceiling_tok[(pkg, t, ww[i])] += 1
            elif both_ways_in_package(all_words, t, gw[i], ww[i]):
                ceiling["avoidable, both ways across packages"] += 1
            else:
                ceiling["avoidable, one way in all packages"] += 1
            if len(t) <= 2:
                k = "short"
            elif kept[t] and conv[t]:
                k = "both-ways"
            elif ww[i] == t:
                k = "kept-latin"
            else:
                k = "converted"
            l2c[k][(t, ww[i], kept[t], conv[t])] += 1
    print("Cyrillic -> Latin misses: %d" % sum(c2l.values()))
    for k, n in c2l.most_common():
        extra = " (%d of them packagekit/appstream)" % c2l_pkg[k] if c2l_pkg[k] else ""
        print("  %-24s %d%s" % (k, n, extra))
    print("Latin -> Cyrillic misses: %d" % sum(sum(c.values()) for c in l2c.values()))
    for k in ("short", "both-ways", "kept-latin", "converted", "structure"):
        c = l2c[k]
        print("  %-12s %d" % (k, sum(c.values())))
        for key, n in sorted(c.items(), key=lambda x: (-x[1], str(x[0]))):
            if k == "structure":
                print("    %s: %s%s" % (key[0], key[1], " x%d" % n if n > 1 else ""))
            else:
                t, w, nk, nc = key
                print("    %s -> %s%s   (catalogs: kept %d, Cyrillic %d)" % (t, w, " x%d" % n if n > 1 else "", nk, nc))
    print("Latin -> Cyrillic misses by the ceiling of token rules:")
    for k in ("both ways in its package", "avoidable, both ways across packages",
              "avoidable, one way in all packages", "structure"):
        print("  %-38s %d" % (k, ceiling[k]))
    print("  both ways in its package, by token (package: T -> the catalog's form):")
    for (pkg, t, w), n in sorted(ceiling_tok.items(), key=lambda x: (-x[1], str(x[0]))):
        print("    %s: %s -> %s%s" % (pkg, t, w, " x%d" % n if n > 1 else ""))


if __name__ == "__main__":
    main()
