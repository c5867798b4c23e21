#!/bin/bash
# Join the N shards that ci/slurm/eval-array.sh left in RUN_DIR/shards/ into
# the run folder RUN_DIR (items.jsonl, results.json, prompts/, run.json), as the
# unsharded `merilo run` would have written it. Submit it after the array:
#
#   sbatch --dependency=afterok:ARRAY_JOB_ID ci/slurm/merge.sh RUN_DIR N
#
# afterok: it starts only when every array task succeeded; merilo merge itself
# refuses missing, duplicated or unfinished shards, naming them.
#SBATCH --job-name=merilo-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=merilo-merge-%j.out
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: sbatch --dependency=afterok:JOB $0 RUN_DIR N" >&2; exit 2; }
run=$1 n=$2
merilo=${MERILO:-merilo}
shards=()
for ((i = 1; i <= n; i++)); do
	shards+=("$run/shards/$i-of-$n")
done
exec "$merilo" merge "${shards[@]}" -o "$run"
