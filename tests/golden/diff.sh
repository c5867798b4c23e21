#!/bin/sh
# tests/golden/diff.sh — did a change alter what merilo outputs? Builds OLD and
# NEW (a git ref each, built from `git archive` in a scratch folder; NEW left out
# = the working tree as it is), runs tests/golden/run.sh with each binary, and
# diffs the masked outputs. Both are built with the same build id (000000000000),
# so the commit a binary names is not a difference.
# Exit 0: identical (help texts and usage errors are listed apart, informational);
# 1: outputs differ (the diff is printed); 2: could not build or run.
#
#   tests/golden/diff.sh OLD [NEW]     e.g. tests/golden/diff.sh bbe1eea HEAD
#
# Environment: GOLDEN_DIR (scratch folder, default /tmp/merilo-golden; give each concurrent user its own),
#              JOBS (make -j, default 2).
set -u
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
OLD=$1
NEW=${2:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G=${GOLDEN_DIR:-/tmp/merilo-golden}
JOBS=${JOBS:-2}
cd "$ROOT"
mkdir -p "$G"

# build REF into $G/<slot>/src/build-golden/merilo
build_ref() {
	ref=$1 slot=$2
	sha=$(git rev-parse --short=12 "$ref") || exit 2
	rm -rf "$G/$slot"; mkdir -p "$G/$slot/src"
	git archive "$sha" | tar -x -C "$G/$slot/src" || exit 2
	echo "golden: building $ref ($sha)" >&2
	make -C "$G/$slot/src" -j"$JOBS" BUILD=build-golden GIT_COMMIT=000000000000 GIT_DIRTY= \
		build-golden/merilo >"$G/$slot/build.log" 2>&1 \
		|| { echo "golden: build of $ref failed, see $G/$slot/build.log" >&2; exit 2; }
	BIN="$G/$slot/src/build-golden/merilo"
}

build_ref "$OLD" old; BIN_OLD=$BIN
if [ -n "$NEW" ]; then
	build_ref "$NEW" new; BIN_NEW=$BIN
else
	echo "golden: building the working tree in build-golden/" >&2
	rm -rf "$G/new"; mkdir -p "$G/new"
	make -j"$JOBS" BUILD=build-golden GIT_COMMIT=000000000000 GIT_DIRTY= build-golden/merilo >"$G/new/build.log" 2>&1 \
		|| { echo "golden: build of the working tree failed, see $G/new/build.log" >&2; exit 2; }
	BIN_NEW=$ROOT/build-golden/merilo
	NEW="the working tree"
fi
tests/golden/run.sh "$BIN_OLD" "$G/old/out" || exit 2
tests/golden/run.sh "$BIN_NEW" "$G/new/out" || exit 2
n_files=$(find "$G/old/out/cmd" "$G/old/out/files" -type f | wc -l)
if diff -r "$G/old/out/help" "$G/new/out/help" >"$G/help.diff"; then
	echo "golden: help texts and usage errors: identical"
else
	echo "golden: help texts or usage errors changed (informational): $(grep -c '^diff' "$G/help.diff") files, see $G/help.diff"
fi
if diff -r "$G/old/out/cmd" "$G/new/out/cmd" >"$G/out.diff" &&
   diff -r "$G/old/out/files" "$G/new/out/files" >>"$G/out.diff"; then
	echo "golden: $n_files outputs of $NEW identical to $OLD"
	exit 0
fi
cat "$G/out.diff"
echo "golden: outputs of $NEW differ from $OLD; masked outputs in $G/old/out and $G/new/out" >&2
exit 1
