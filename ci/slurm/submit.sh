#!/bin/bash
# Submit a sharded merilo evaluation to Slurm: an array of N shard jobs and a
# merge job that waits for all of them (afterok).
#
#   ci/slurm/submit.sh N MODEL SUITE RUN_DIR [merilo run options...]
#
# Extra sbatch options for the shard jobs (a partition, GPUs, time) go in
# $SBATCH_SHARD_OPTS, e.g. SBATCH_SHARD_OPTS="--partition=gpu --gpus-per-task=1
# --time=04:00:00"; pass --backend cuda among the run options to use the GPU.
# Prints the two job ids. docs/scale-out.md has the recipe.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 N MODEL SUITE RUN_DIR [merilo run options...]" >&2; exit 2; }
n=$1 model=$2 suite=$3 run=$4
shift 4
case $n in ''|*[!0-9]*|0) echo "$0: N must be a positive integer, not '$n'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2086 # SBATCH_SHARD_OPTS is a list of options
array=$(sbatch --parsable ${SBATCH_SHARD_OPTS:-} --array=0-$((n - 1)) "$here/eval-array.sh" "$model" "$suite" "$run" "$@")
array=${array%%;*} # --parsable prints "id" or "id;cluster"
merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/merge.sh" "$run" "$n")
echo "shards: job $array (array 0-$((n - 1))); merge: job ${merge%%;*} (after all shards succeed)"
