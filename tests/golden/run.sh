#!/bin/sh
# tests/golden/run.sh — the golden outputs of a merilo binary: a demo run, a
# BENCHić COPA run, a resumed run, compare / report / leaderboard of them, and
# the small commands (info, validate, tokenize, perplexity, generate, help and
# usage errors), written into OUT with volatile fields (clocks, timings,
# hosts, build ids, absolute paths) masked by tests/golden/normalize.py.
# Two binaries whose OUT folders differ changed behaviour; tests/golden/diff.sh
# builds a git ref and a working tree and compares them.
#
#   tests/golden/run.sh MERILO OUT
#
# Needs ../shared/fixtures for the BENCHić part (skipped, and said, without it).
set -u
[ $# -eq 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
M=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIX=${MERILO_FIXTURES:-$ROOT/../shared/fixtures}
rm -rf "$OUT"; mkdir -p "$OUT/raw" "$OUT/cmd"
OUT=$(cd "$OUT" && pwd)
W=$OUT/raw
cd "$ROOT"
export LC_ALL=C TZ=UTC
unset MERILO_PAPI_LIB

# one command: its stdout, stderr and exit code become cmd/NAME.{out,err,rc}
c() {
	name=$1; shift
	"$@" >"$OUT/cmd/$name.out" 2>"$OUT/cmd/$name.err"
	echo $? >"$OUT/cmd/$name.rc"
}

c synth-a  "$M" synth --arch llama --preset tiny --dtype f16 --seed 1 -o "$W/a.gguf"
c synth-b  "$M" synth --arch llama --preset tiny --dtype q8_0 --seed 2 -o "$W/b.gguf"
c run-a    "$M" run --model "$W/a.gguf" --suite tasks/suites/demo.json --seed 1 --threads 2 --boot 2000 --out "$W/run-a" --quiet
c run-b    "$M" run --model "$W/b.gguf" --suite tasks/suites/demo.json --seed 1 --threads 1 --boot 2000 --out "$W/run-b" --quiet --store-logprobs --store-topk 4
c run-fs   "$M" run --model "$W/a.gguf" --suite tasks/suites/demo.json --seed 3 --threads 2 --boot 500 --fewshot 2 --limit 6 --lang en,sr-Cyrl --out "$W/run-fs" --quiet
# a resumed run: stopped after 5 items, then resumed
MERILO_TEST_STOP_AFTER=5 "$M" run --model "$W/a.gguf" --suite tasks/suites/demo.json --seed 1 --threads 2 --boot 2000 --out "$W/run-r" --quiet >/dev/null 2>&1
c run-r    "$M" run --resume "$W/run-r" --quiet
c compare-ab   "$M" compare "$W/run-a" "$W/run-b" --format text --out "$W/cmp-ab" --boot 2000
c compare-ab-md "$M" compare "$W/run-a" "$W/run-b" --format md --boot 2000 --gate-kl 5
c compare-ab-json "$M" compare "$W/run-a" "$W/run-b" --format json --boot 2000
c compare-aa-junit "$M" compare "$W/run-a" "$W/run-r" --format junit --boot 2000
c report   "$M" report "$W/run-a" "$W/run-b" -o "$W/report" --image-format svg --title golden
c lb-md    "$M" leaderboard "$W/run-a" "$W/run-b" "$W/run-fs"
c lb-csv   "$M" leaderboard "$W/run-a" "$W/run-b" --format csv
c lb-html  "$M" leaderboard "$W/run-a" "$W/run-b" --format html -o "$W/lb.html"
c lb-norm  "$M" leaderboard "$W/run-a" "$W/run-b" --metric acc_norm
c info-suite "$M" info tasks/suites/demo.json
c info-model "$M" info "$W/a.gguf"
c validate "$M" validate tasks/suites/demo.json
c tokenize "$M" tokenize --model "$W/a.gguf" "Добар дан, dobar dan, good day!"
printf 'Ово је кратак текст. Ovo je kratak tekst. This is a short text.\n%.0s' 1 2 3 4 5 6 7 8 >"$W/text.txt"
c ppl      "$M" perplexity --model "$W/a.gguf" --file "$W/text.txt" --ctx 32 --threads 2 --json
c generate "$M" generate --model "$W/a.gguf" --prompt "Zdravo" -n 8 --ids --threads 2

if [ -d "$FIX/data/benchich-copa" ]; then
	B=$FIX/data/benchich-copa
	c import "$M" import copa --lang sr-Cyrl="$B/test-sr.jsonl" --lang sr-Latn="$B/test-sr-lat.jsonl" \
		--lang hr="$B/test-hr.jsonl" --name benchich-copa -o "$W/copa.json"
	c run-copa "$M" run --model "$W/a.gguf" --suite "$W/copa.json" --seed 1 --threads 2 --limit 60 --boot 2000 --out "$W/run-copa" --quiet
	c run-copa-b "$M" run --model "$W/b.gguf" --suite "$W/copa.json" --seed 1 --threads 2 --limit 60 --boot 2000 --out "$W/run-copa-b" --quiet
	c compare-copa "$M" compare "$W/run-copa" "$W/run-copa-b" --format md --boot 2000
	c lb-copa "$M" leaderboard "$W/run-copa" "$W/run-copa-b" "$W/run-a"
	c report-copa "$M" report "$W/run-copa" "$W/run-copa-b" -o "$W/report-copa" --image-format svg
else
	echo "no $FIX/data/benchich-copa: BENCHić part skipped" >"$OUT/cmd/SKIPPED-benchich"
fi

# help texts and usage errors: informational (an option parser may reword them)
mkdir -p "$OUT/help"
for cmd in validate info import tokenize generate perplexity synth run compare leaderboard report bench; do
	"$M" $cmd --help >"$OUT/help/$cmd.out" 2>&1; echo $? >>"$OUT/help/$cmd.out"
	"$M" $cmd --no-such-flag >"$OUT/help/$cmd.bad" 2>&1; echo $? >>"$OUT/help/$cmd.bad"
done
"$M" --help >"$OUT/help/main.out" 2>&1

python3 "$HERE/normalize.py" "$OUT" "$W" "$ROOT"
