#!/usr/bin/env bash
# Runs the three stages in order on the current kubectl context: the claim, pretraining,
# then the Indexed Job of shards once pretraining has completed, then the report once
# every shard has. Kubernetes has no dependencies between Jobs, so this script waits.
#
#   deploy/k8s/run.sh            # TIMEOUT (default 24h) bounds each wait
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
timeout=${TIMEOUT:-24h}
kubectl apply -f "$here/pvc.yaml"
kubectl apply -f "$here/pretrain-job.yaml"
kubectl wait --for=condition=complete --timeout="$timeout" job/selfsup-pretrain
kubectl apply -f "$here/shards-job.yaml"
kubectl wait --for=condition=complete --timeout="$timeout" job/selfsup-shards || echo "some shards failed; the report lists their runs as missing" >&2
kubectl apply -f "$here/report-job.yaml"
kubectl wait --for=condition=complete --timeout=1h job/selfsup-report || true
kubectl logs job/selfsup-report
