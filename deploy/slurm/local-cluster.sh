#!/usr/bin/env bash
# Starts (or stops) a single-machine SLURM cluster for trying the recipes here: munged,
# slurmctld and slurmd started by hand, no systemd. Needs root and Debian's packages
# slurm-wlm and munge (apt-get install slurm-wlm munge).
#
#   deploy/slurm/local-cluster.sh start [DIR]   # state, logs and the job-completion log in DIR
#   deploy/slurm/local-cluster.sh stop  [DIR]
#
# It overwrites /etc/slurm/slurm.conf: use it on a machine of your own, not on a real
# cluster's node. The job-completion log (JobCompType=jobcomp/filetxt, DIR/jobcomp.log) is the
# scheduler's record of every finished job: accounting storage would need a database.
set -euo pipefail
cmd=${1:-start}
dir=$(realpath -m "${2:-/tmp/selfsup-slurm}")
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

stop() {
	pkill -x slurmd 2>/dev/null || true
	pkill -x slurmctld 2>/dev/null || true
	pkill -x munged 2>/dev/null || true
}

case "$cmd" in
stop)
	stop
	echo "stopped"
	exit 0
	;;
start) ;;
*)
	echo "usage: $0 start|stop [DIR]" >&2
	exit 2
	;;
esac

for bin in munged slurmctld slurmd sbatch; do
	command -v "$bin" >/dev/null || { echo "$bin not found: apt-get install slurm-wlm munge" >&2; exit 1; }
done
stop
mkdir -p "$dir"/{state,spool,log} /etc/slurm /etc/munge /run/munge /var/lib/munge /var/log/munge
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
if [ ! -s /etc/munge/munge.key ]; then
	dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
	chown munge:munge /etc/munge/munge.key 2>/dev/null || true
	chmod 400 /etc/munge/munge.key
fi
if id munge >/dev/null 2>&1; then
	su -s /bin/sh munge -c "/usr/sbin/munged --force"
else
	/usr/sbin/munged --force
fi

cat >/etc/slurm/slurm.conf <<CONF
ClusterName=selfsup-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# No cgroup.conf: slurmd autodetects (cgroup v1 in the containers tried here).

/usr/sbin/slurmctld -i
/usr/sbin/slurmd
for _ in $(seq 60); do
	if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then
		sinfo
		echo "SLURM is up: state and logs in $dir, job-completion log $dir/jobcomp.log"
		exit 0
	fi
	sleep 1
done
echo "SLURM did not come up; see $dir/log" >&2
sinfo >&2 || true
exit 1
