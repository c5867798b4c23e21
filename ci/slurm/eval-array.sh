#!/bin/bash
# One shard of a merilo evaluation as one task of a Slurm job array.
#
#   sbatch --array=0-N-1 ci/slurm/eval-array.sh MODEL SUITE RUN_DIR [merilo run options...]
#
# Array task i runs shard i+1 of N (merilo run --shard auto reads
# SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN) into
# RUN_DIR/shards/<i+1>-of-<N>, with --threads from --cpus-per-task. A task that
# was cut short (time limit, preemption, node failure) and is submitted again
# resumes its shard: only the missing items are computed. ci/slurm/merge.sh
# (submitted with --dependency=afterok, see ci/slurm/submit.sh) joins the shards.
# docs/scale-out.md has the whole recipe. $MERILO names the binary (default merilo).
#SBATCH --job-name=merilo-shard
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --output=merilo-shard-%A_%a.out
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: sbatch --array=0-N-1 $0 MODEL SUITE RUN_DIR [merilo run options...]" >&2; exit 2; }
: "${SLURM_ARRAY_TASK_ID:?not set: submit with sbatch --array=0-N-1}"
: "${SLURM_ARRAY_TASK_COUNT:?not set: submit with sbatch --array=0-N-1}"
model=$1 suite=$2 run=$3
shift 3
merilo=${MERILO:-merilo}
index=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} + 1))
shard="$run/shards/$index-of-$SLURM_ARRAY_TASK_COUNT"
threads=${SLURM_CPUS_PER_TASK:-0}
mkdir -p "$run/shards"
if [ -f "$shard/run.json" ]; then
	exec "$merilo" run --resume "$shard" --shard auto --threads "$threads" --quiet "$@"
fi
exec "$merilo" run --model "$model" --suite "$suite" --shard auto --threads "$threads" --quiet --out "$shard" "$@"
