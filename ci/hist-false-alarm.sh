#!/bin/sh
# hist-false-alarm.sh — measure the A/A false-alarm rate of the perf gate against
# history (merilo bench --baseline-db) on this machine: N trials, each storing K
# bench records of a tiny synthetic model in a fresh database (bench --db), then
# gating one more run of the same binary, model and settings against them. Any
# exit 1 is a false alarm. With OTHER=another merilo binary, each trial also
# gates a run of it against the same records (the two gated runs alternate in
# order), so two gates are compared on the same stored runs and the same load.
# Prints one line per trial (failing rows) and "false alarms: F of N" per binary.
# docs/history.md, "The perf gate against history".
#
#   ci/hist-false-alarm.sh [MERILO] [N] [K]   (defaults build/merilo, 20, 4;
#        env BENCH: the bench options; OTHER: a second binary to gate with)
set -eu
MERILO=${1:-${MERILO:-build/merilo}}
N=${2:-20}
K=${3:-4}
OTHER=${OTHER:-}
BENCH=${BENCH:--p 32 -n 8 -r 3 --warmup 1 -t 1 --energy-window 0 --format json -q}
for b in "$MERILO" ${OTHER:+"$OTHER"}; do
	[ -x "$b" ] || { echo "hist-false-alarm: $b is not an executable merilo binary" >&2; exit 2; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/merilo-hfa-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$MERILO" synth --preset tiny --seed 1 -o "$TMP/tiny.gguf" >/dev/null
echo "history A/A: $MERILO${OTHER:+ and $OTHER}, $N trials of $K stored records + 1 gated run each, bench $BENCH; $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
fails_a=0 fails_b=0 errors=0 i=1
gate() { # binary tag -> sets rc
	rc=0
	# shellcheck disable=SC2086
	"$1" bench --model "$TMP/tiny.gguf" $BENCH -o "$TMP/r.json" --baseline-db "$TMP/h.db" --last "$K" \
		>/dev/null 2>"$TMP/err.txt" || rc=$?
	case $rc in
	0) echo "trial $i $2: pass" ;;
	1) echo "trial $i $2: FALSE ALARM: $(grep FAIL "$TMP/err.txt" | tr -s ' ' | tr '\n' ';')" ;;
	*) errors=$((errors + 1)); echo "trial $i $2: error (exit $rc): $(tail -n 1 "$TMP/err.txt")" ;;
	esac
}
while [ "$i" -le "$N" ]; do
	rm -f "$TMP/h.db" "$TMP/h.db-wal" "$TMP/h.db-shm"
	j=1
	while [ "$j" -le "$K" ]; do
		# shellcheck disable=SC2086
		"$MERILO" bench --model "$TMP/tiny.gguf" $BENCH -o "$TMP/r.json" --db "$TMP/h.db" >/dev/null 2>&1
		j=$((j + 1))
	done
	if [ -n "$OTHER" ] && [ $((i % 2)) -eq 0 ]; then
		gate "$OTHER" B; [ "$rc" -ne 1 ] || fails_b=$((fails_b + 1))
		gate "$MERILO" A; [ "$rc" -ne 1 ] || fails_a=$((fails_a + 1))
	else
		gate "$MERILO" A; [ "$rc" -ne 1 ] || fails_a=$((fails_a + 1))
		if [ -n "$OTHER" ]; then gate "$OTHER" B; [ "$rc" -ne 1 ] || fails_b=$((fails_b + 1)); fi
	fi
	i=$((i + 1))
done
echo "false alarms: $fails_a of $N (A: $MERILO; errors: $errors)"
[ -z "$OTHER" ] || echo "false alarms: $fails_b of $N (B: $OTHER)"
[ "$errors" -eq 0 ]
