#!/bin/sh
# aa-false-alarm.sh — measure the A/A false-alarm rate of the perf gate on this
# machine: the same merilo binary against itself, N times (default 20), with the
# default gate (10 pairs, order alternating, threshold 5%, alpha 0.01) on a tiny synthetic model.
# Prints one line per run and "false alarms: K of N". docs/perf-gate.md.
#
#   ci/aa-false-alarm.sh [MERILO] [N]      (MERILO default: build/merilo; env TESTS, THREADS)
set -eu
MERILO=${1:-${MERILO:-build/merilo}}
N=${2:-20}
TESTS=${TESTS:-pp128,tg32}
THREADS=${THREADS:-1}
[ -x "$MERILO" ] || { echo "aa-false-alarm: $MERILO is not an executable merilo binary" >&2; exit 2; }
MERILO=$(cd "$(dirname "$MERILO")" && pwd)/$(basename "$MERILO")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/merilo-aa-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$MERILO" synth --preset tiny --seed 1 -o "$TMP/tiny.gguf" >/dev/null
echo "A/A: $MERILO against itself, $N runs, tests $TESTS, $THREADS thread(s), default gate; $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
fails=0 errors=0 i=1
while [ "$i" -le "$N" ]; do
	rc=0
	"$MERILO" bench --ab "$MERILO" --model "$TMP/tiny.gguf" --test "$TESTS" --threads "$THREADS" \
		--format json --out "$TMP/ab.json" 2>"$TMP/err.txt" || rc=$?
	ratios=$(sed -n 's/^ *"ratio": \([0-9.e+-]*\),*$/\1/p' "$TMP/ab.json" 2>/dev/null | tr '\n' ' ')
	case $rc in
	0) echo "run $i: pass (A/B time ratios: $ratios)" ;;
	1) fails=$((fails + 1)); echo "run $i: FALSE ALARM (A/B time ratios: $ratios)" ;;
	*) errors=$((errors + 1)); echo "run $i: error (exit $rc): $(tail -n 1 "$TMP/err.txt")" ;;
	esac
	i=$((i + 1))
done
echo "false alarms: $fails of $N (errors: $errors)"
[ "$errors" -eq 0 ]
