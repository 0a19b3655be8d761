#!/usr/bin/env bash
# Submits the experiment grid as three SLURM jobs: pretraining, an array job of SHARDS
# shards that starts when pretraining has succeeded (--dependency=afterok), and the report
# when the array has ended (--dependency=afterany). Prints the three job ids.
#
#   SELFSUP=/shared/bin/selfsup OUT=/shared/results SHARDS=8 deploy/slurm/submit.sh [selfsup run flags]
#   e.g. ... submit.sh --data cifar10:/shared/cifar-10-binary.tar.gz --budgets 100,250,1000 --runs 3
#
# OUT must be on a file system every node mounts at the same path (else give the shards
# --data for their own path). Job logs go to LOGS (default: OUT-slurm). Extra sbatch
# options (partition, account, time, GPUs) go in SBATCH_ARGS, e.g. SBATCH_ARGS="-p gpu -t 4:00:00".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SELFSUP:?set SELFSUP to the selfsup binary (on a path every node sees)}"
: "${OUT:?set OUT to the shared results directory}"
SHARDS=${SHARDS:-4}
LOGS=${LOGS:-$OUT-slurm}
mkdir -p "$LOGS"
export SELFSUP OUT
read -r -a extra <<<"${SBATCH_ARGS:-}"
common=(--parsable --export=ALL --chdir "$LOGS" "${extra[@]}")
pre=$(sbatch "${common[@]}" --output "$LOGS/pretrain-%j.out" "$here/pretrain.sbatch" "$@")
pre=${pre%%;*}
arr=$(sbatch "${common[@]}" --output "$LOGS/shard-%A_%a.out" --array "0-$((SHARDS - 1))" \
	--dependency "afterok:$pre" --kill-on-invalid-dep=yes "$here/shard.sbatch")
arr=${arr%%;*}
rep=$(sbatch "${common[@]}" --output "$LOGS/report-%j.out" --dependency "afterany:$arr" "$here/report.sbatch")
rep=${rep%%;*}
echo "pretrain $pre"
echo "shards $arr"
echo "report $rep"
