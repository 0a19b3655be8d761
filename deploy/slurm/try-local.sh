#!/usr/bin/env bash
# Runs the SLURM recipe for real on a single-machine cluster (local-cluster.sh; needs root
# and Debian's slurm-wlm and munge) with tiny settings on the embedded default data, runs
# the same experiment as one "selfsup run", and checks that the two reports are equal
# number for number (timings aside). Prints the scheduler's job-completion log and stops
# the cluster at the end.
#
#   deploy/slurm/try-local.sh [DIR]     # everything in DIR (default /tmp/selfsup-slurm-try)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(realpath -m "${1:-/tmp/selfsup-slurm-try}")
shards=${SHARDS:-3}
settings=(--pretrain-epochs 1 --finetune-epochs 2 --budgets 50,100 --runs 2 --limit-unlabeled 1000)
rm -rf "$dir/single" "$dir/grid" "$dir/grid-slurm"
mkdir -p "$dir"
(cd "$repo" && go build -o "$dir/selfsup" ./cmd/selfsup)

"$repo/deploy/slurm/local-cluster.sh" start "$dir/cluster"
trap '"$repo/deploy/slurm/local-cluster.sh" stop "$dir/cluster"' EXIT

ids=$(SELFSUP="$dir/selfsup" OUT="$dir/grid" SHARDS=$shards "$repo/deploy/slurm/submit.sh" "${settings[@]}")
echo "$ids"
jobs=$(awk '{print $2}' <<<"$ids" | paste -sd,)
# Meanwhile, the single process.
"$dir/selfsup" run "${settings[@]}" --out "$dir/single" --progress log --threads 1 >/dev/null 2>"$dir/single.log"
for _ in $(seq 600); do
	[ -z "$(squeue -h -j "$jobs" 2>/dev/null)" ] && break
	sleep 1
done
squeue -h -j "$jobs" 2>/dev/null | grep -q . && { echo "jobs still queued after 10 minutes" >&2; squeue >&2; exit 1; }
sleep 2 # the job-completion log is written as the jobs end
echo "job-completion log ($dir/cluster/jobcomp.log), the lines of these jobs:"
read -r pre arr rep <<<"$(awk '{printf "%s ", $2}' <<<"$ids")"
grep -E "^JobId=($pre|$rep) |ArrayJobId=$arr " "$dir/cluster/jobcomp.log"
if grep -E "^JobId=($pre|$rep) |ArrayJobId=$arr " "$dir/cluster/jobcomp.log" | grep -qv "JobState=COMPLETED"; then
	echo "FAIL: a job did not complete" >&2
	exit 1
fi

# The reports, without timings and paths.
strip='walk(if type == "object" then del(.seconds, .checkpoint) else . end)'
if cmp -s <(jq -S "$strip" "$dir/single/report.json") <(jq -S "$strip" "$dir/grid/report.json") &&
	cmp -s <(cut -d, -f1-5,7 "$dir/single/report.csv") <(cut -d, -f1-5,7 "$dir/grid/report.csv"); then
	echo "OK: the SLURM grid's report equals the single process's (report.json and report.csv, timings aside)"
	sed -n '/Test accuracy/,/Test loss/p' "$dir/grid/report.md" | sed '$d'
else
	echo "FAIL: the reports differ" >&2
	diff <(jq -S "$strip" "$dir/single/report.json") <(jq -S "$strip" "$dir/grid/report.json") >&2 || true
	exit 1
fi
