#!/bin/sh
# example-pipeline.sh — the CI gate a model team can copy: build merilo, evaluate a
# candidate checkpoint on a suite, compare it item by item with a stored baseline
# run, write the markdown for a pull-request comment, and fail on a regression.
#
#   ci/example-pipeline.sh CANDIDATE.gguf BASELINE_RUN_DIR [SUITE.json]
#
# Environment (all optional):
#   OUT        folder for this pipeline's outputs (default ci-out)
#   GATE       gate config file for `merilo compare --config` (docs/compare.md)
#   THRESHOLD  points a gated metric may drop before failing (default 1.0)
#   ALPHA      significance level, Holm-adjusted (default 0.05)
#   THREADS    CPU threads for the run (default: all)
#   SEED       run and bootstrap seed (default 1)
#   JOBS       make -j (default 2)
#   MERILO     a merilo binary to use instead of building one
#
# Exit status: 0 no gated regression; 1 a gated metric regressed (the PR comment
# says which, with the flipped items); anything else: the pipeline itself failed
# (3: bad inputs, or the gate cannot judge: the runs are not comparable, e.g. the
# baseline ran another suite, --limit or --fewshot, or a KL gate is undetermined;
# the PR comment says what differs).
# The baseline is a folder written earlier by `merilo run` on the same suite
# (results.json + items.jsonl): keep it as a CI artifact or in a bucket.
set -eu

if [ $# -lt 2 ]; then
	sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
CANDIDATE=$1
BASELINE=$2
SUITE=${3:-tasks/suites/demo.json}
OUT=${OUT:-ci-out}
THRESHOLD=${THRESHOLD:-1.0}
ALPHA=${ALPHA:-0.05}
SEED=${SEED:-1}
JOBS=${JOBS:-2}

# 1. build (the Makefile checks its own dependencies; see ci/install-deps.sh),
#    unless MERILO names a binary already built
if [ -z "${MERILO:-}" ]; then
	make -j"$JOBS" build/merilo >/dev/null
	MERILO=build/merilo
fi

# 2. evaluate the candidate
mkdir -p "$OUT"
RUN="$OUT/candidate-run"
rm -rf "$RUN"
set -- run --model "$CANDIDATE" --suite "$SUITE" --seed "$SEED" --out "$RUN" --quiet
[ -n "${THREADS:-}" ] && set -- "$@" --threads "$THREADS"
"$MERILO" "$@"

# 3. compare with the baseline: markdown for the PR comment, JUnit for the CI's
#    test report, JSON for anything else; the exit code is the verdict.
set -- compare "$BASELINE" "$RUN" --format text --out "$OUT/compare" \
	--threshold-points "$THRESHOLD" --alpha "$ALPHA" --seed "$SEED"
[ -n "${GATE:-}" ] && set -- "$@" --config "$GATE"
status=0
"$MERILO" "$@" || status=$?

case $status in
0) echo "merilo gate: PASS — PR comment in $OUT/compare.md" ;;
1) echo "merilo gate: FAIL (regression) — PR comment in $OUT/compare.md" >&2 ;;
3) echo "merilo gate: NOT COMPARABLE or undetermined (exit 3) — see $OUT/compare.md, or a bad input above" >&2 ;;
*) echo "merilo gate: could not compare (exit $status)" >&2 ;;
esac
exit "$status"
