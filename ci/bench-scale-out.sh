#!/bin/bash
# 2 MPI ranks x 1 thread against 1 process x 2 threads (docs/scale-out.md, "Figures"):
# a 110M-shaped random-weight model on the demo suite, the two set-ups interleaved,
# ROUNDS rounds, wall time of each whole command and the load average around it.
#
#   ci/bench-scale-out.sh [OUT_DIR]      (env: MERILO, ROUNDS=3, LIMIT=1)
#
# Prints a TSV (round, set-up, wall seconds, load before/after, exit code) and the
# median per set-up; the run folders stay in OUT_DIR for checking (their items.jsonl
# and results.json agree, timings aside). Needs mpirun and an MPI build of merilo.
set -euo pipefail
out=${1:-/tmp/merilo-bench-scale-out}
merilo=${MERILO:-./merilo}
rounds=${ROUNDS:-3} limit=${LIMIT:-1}
model=$out/m110-q8_0.gguf
mkdir -p "$out"
[ -f "$model" ] || "$merilo" synth --arch llama --preset 110m --dtype q8_0 --seed 1 -o "$model" >/dev/null
run_opts=(--model "$model" --suite tasks/suites/demo.json --limit "$limit" --quiet)
tsv=$out/times.tsv
printf 'round\tsetup\twall_s\tload1_before\tload1_after\texit\n' >"$tsv"
for ((r = 1; r <= rounds; r++)); do
	for setup in threads mpi; do
		dir=$out/$setup-$r
		rm -rf "$dir"
		l0=$(cut -d' ' -f1 /proc/loadavg)
		t0=$(date +%s.%N)
		rc=0
		if [ "$setup" = threads ]; then
			"$merilo" run "${run_opts[@]}" --threads 2 --out "$dir" >/dev/null 2>&1 || rc=$?
		else
			mpirun --allow-run-as-root -np 2 "$merilo" run --mpi "${run_opts[@]}" --threads 1 --out "$dir" \
				>/dev/null 2>&1 || rc=$?
		fi
		t1=$(date +%s.%N)
		printf '%d\t%s\t%.1f\t%s\t%s\t%d\n' "$r" "$setup" "$(echo "$t1 - $t0" | bc)" "$l0" \
			"$(cut -d' ' -f1 /proc/loadavg)" "$rc" >>"$tsv"
	done
done
cat "$tsv"
for setup in threads mpi; do
	awk -F'\t' -v s="$setup" '$2 == s { print $3 }' "$tsv" | sort -n |
		awk -v s="$setup" '{ v[NR] = $1 } END { printf "median %s: %.1f s over %d rounds\n", s, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, NR }'
done
