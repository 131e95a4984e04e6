#!/usr/bin/env bash
# Proof that workflow/profiles/slurm runs a Snakemake workflow on a real Slurm
# cluster: a private single-node cluster on this machine (munged, slurmctld and
# slurmd from Debian's packages, configured in a scratch folder that is deleted
# afterwards, with only a temporary link at /etc/slurm/slurm.conf) runs the
# workflow through sbatch; the same workflow is run with `--cores` through
# workflow/profiles/local; both runs must produce the same bytes.
# See tests/cluster/README.md. Run as root; exit status 0 means proven.
set -Eeuo pipefail

usage() {
    cat <<'EOF'
Usage: tests/cluster/slurm_proof.sh [options] [-- extra snakemake arguments]

Options (all optional):
  --workflow DIR        workflow folder to run (its Snakefile or workflow/Snakefile);
                        default: a throwaway 3-rule workflow written to a temp folder
  --configfile FILE     config file, relative to DIR or absolute; default for the
                        throwaway workflow: its config.yaml; none otherwise
  --venv DIR            project virtual environment with snakemake and
                        snakemake-executor-plugin-slurm; default: <repo>/.venv
  --slurm-profile DIR   default: <repo>/workflow/profiles/slurm
  --local-profile DIR   default: <repo>/workflow/profiles/local
  --exclude GLOB        output path (relative to the run folder) left out of the
                        byte comparison; repeatable; always left out: .snakemake/*,
                        logs/*, benchmarks/*, */logs/*, */benchmarks/*, *.log
  --timeout SECONDS     limit for each of the two Snakemake runs (default 1800)
  --state-dir DIR       scratch folder of the cluster (default /tmp/coexplore-slurm-proof);
                        deleted at the end
  --keep                keep the scratch folder (configs, daemon logs, both runs)
  -h, --help            this text

Environment: COEXPLORE_SLURM_PROOF_PORT (slurmctld port, default 16817; slurmd uses
the next one).
Example (the real tiny workflow):
  tests/cluster/slurm_proof.sh --workflow . --configfile config/tiny.yaml
EOF
}

log() { printf '[slurm-proof %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() {
    printf '[slurm-proof] FAILED: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- arguments
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
WORKFLOW_DIR=""
CONFIGFILE=""
VENV="$REPO/.venv"
SLURM_PROFILE="$REPO/workflow/profiles/slurm"
LOCAL_PROFILE="$REPO/workflow/profiles/local"
RUN_TIMEOUT=1800
STATE_DIR=/tmp/coexplore-slurm-proof
KEEP=0
EXCLUDES=('.snakemake/*' 'logs/*' 'benchmarks/*' '*/logs/*' '*/benchmarks/*' '*.log')
EXTRA_ARGS=()

need_value() { [[ $# -ge 2 && -n "$2" ]] || {
    usage >&2
    printf '[slurm-proof] FAILED: option %s needs a value\n' "$1" >&2
    exit 2
}; }
while [[ $# -gt 0 ]]; do
    case "$1" in
    --workflow) need_value "$@"; WORKFLOW_DIR=$2; shift 2 ;;
    --configfile) need_value "$@"; CONFIGFILE=$2; shift 2 ;;
    --venv) need_value "$@"; VENV=$2; shift 2 ;;
    --slurm-profile) need_value "$@"; SLURM_PROFILE=$2; shift 2 ;;
    --local-profile) need_value "$@"; LOCAL_PROFILE=$2; shift 2 ;;
    --exclude) need_value "$@"; EXCLUDES+=("$2"); shift 2 ;;
    --timeout) need_value "$@"; RUN_TIMEOUT=$2; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; EXTRA_ARGS=("$@"); break ;;
    *)
        usage >&2
        printf '[slurm-proof] FAILED: unknown argument %q; see the options above\n' "$1" >&2
        exit 2
        ;;
    esac
done

[[ $RUN_TIMEOUT =~ ^[1-9][0-9]*$ ]] ||
    die "--timeout '$RUN_TIMEOUT' is not a positive whole number of seconds"
[[ $STATE_DIR == /* && $STATE_DIR != / ]] ||
    die "--state-dir '$STATE_DIR' must be an absolute path other than /"
[[ $(id -u) -eq 0 ]] ||
    die "must run as root (it installs Slurm and starts its daemons); rerun with sudo"
[[ -d $VENV ]] ||
    die "virtual environment '$VENV' does not exist; create it with 'make install' or pass --venv"
VENV=$(cd "$VENV" && pwd)
[[ -x $VENV/bin/snakemake ]] ||
    die "$VENV/bin/snakemake not found; install the project with 'make install' or pass --venv"
"$VENV/bin/python" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null ||
    die "snakemake-executor-plugin-slurm is not installed in $VENV;" \
        "run: $VENV/bin/pip install 'snakemake-executor-plugin-slurm==2.8.0'"
for profile in "$SLURM_PROFILE" "$LOCAL_PROFILE"; do
    [[ -f $profile/config.yaml ]] || die "profile folder '$profile' has no config.yaml"
done
SLURM_PROFILE=$(cd "$SLURM_PROFILE" && pwd)
LOCAL_PROFILE=$(cd "$LOCAL_PROFILE" && pwd)
if [[ -n $WORKFLOW_DIR ]]; then
    [[ -d $WORKFLOW_DIR ]] || die "workflow folder '$WORKFLOW_DIR' does not exist"
    WORKFLOW_DIR=$(cd "$WORKFLOW_DIR" && pwd)
    [[ -f $WORKFLOW_DIR/Snakefile || -f $WORKFLOW_DIR/workflow/Snakefile ]] ||
        die "workflow folder '$WORKFLOW_DIR' has neither Snakefile nor workflow/Snakefile"
    if [[ -n $CONFIGFILE && $CONFIGFILE != /* && ! -f $WORKFLOW_DIR/$CONFIGFILE ]]; then
        die "config file '$CONFIGFILE' not found in $WORKFLOW_DIR"
    fi
    if [[ $CONFIGFILE == /* && ! -f $CONFIGFILE ]]; then
        die "config file '$CONFIGFILE' not found"
    fi
fi

CTLD_PORT=${COEXPLORE_SLURM_PROOF_PORT:-16817}
[[ $CTLD_PORT =~ ^[0-9]+$ && $CTLD_PORT -ge 1024 && $CTLD_PORT -le 65534 ]] ||
    die "COEXPLORE_SLURM_PROOF_PORT='$CTLD_PORT' is not a port number in 1024..65534"
SLURMD_PORT=$((CTLD_PORT + 1))
SYSTEM_CONF=/etc/slurm/slurm.conf
PARTITION=proof
NODE=localhost
NCPUS=$(nproc)
START_SECONDS=$SECONDS

# ---------------------------------------------------------------- one run at a time
# A second proof on the same machine waits for this one (same ports, same state folder).
# The daemons and Snakemake are started with fd 9 closed, so that ones left
# behind by a killed run do not hold the lock.
LOCK_FILE="${STATE_DIR%/}.lock"
exec 9>"$LOCK_FILE"
flock -w 900 9 || die "another slurm_proof.sh holds $LOCK_FILE for more than 15 minutes"

# ---------------------------------------------------------------- daemon control
# Each daemon runs in the foreground of a background job of this script, so its
# pid is known exactly; pid files in the state folder let a later run stop
# daemons left behind by a run that was killed with SIGKILL.
ours() { # ours PIDFILE COMMAND: the pid in PIDFILE, if that process is COMMAND
    local pid
    [[ -f $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
    printf '%s' "$pid"
}

stop_pidfile() { # stop_pidfile PIDFILE COMMAND [SECONDS [SIGNAL]]: SIGNAL (TERM), KILL after SECONDS (10)
    local pid i
    if pid=$(ours "$1" "$2"); then
        kill "-${4:-TERM}" "$pid" 2>/dev/null || true
        for ((i = 0; i < ${3:-10} * 5; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

remove_conf_link() { # the /etc/slurm/slurm.conf link of this proof, if it is there
    if [[ -L $SYSTEM_CONF && "$(readlink "$SYSTEM_CONF")" == "$STATE_DIR/slurm.conf" ]]; then
        rm -f "$SYSTEM_CONF"
    fi
}

stop_cluster() {
    local conf=$STATE_DIR/slurm.conf i
    if ours "$STATE_DIR/slurmctld.pid.self" slurmctld >/dev/null && [[ -f $conf ]]; then
        # cancel whatever is still queued or running on this private cluster, so
        # that slurmd stops the job steps before it stops itself
        SLURM_CONF=$conf timeout 20 scancel "--partition=$PARTITION" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            [[ -z "$(SLURM_CONF=$conf timeout 10 squeue -h -t PD,R,CG -o %i 2>/dev/null)" ]] && break
            sleep 1
        done
    fi
    stop_pidfile "$STATE_DIR/slurmd.pid.self" slurmd
    stop_pidfile "$STATE_DIR/slurmctld.pid.self" slurmctld
    stop_pidfile "$STATE_DIR/munged.pid.self" munged
    remove_conf_link
}

PROOF_OK=0
on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    # a Snakemake run still going (the script was interrupted): timeout passes
    # INT on, and Snakemake cancels its Slurm jobs (on TERM it would wait for them)
    stop_pidfile "$STATE_DIR/snakemake.pid.self" timeout 60 INT
    if [[ $PROOF_OK -ne 1 && -d $STATE_DIR ]]; then
        local f
        for f in "$STATE_DIR"/slurm.snakemake.out "$STATE_DIR"/local.snakemake.out \
            "$STATE_DIR"/slurmctld.out "$STATE_DIR"/slurmd.out "$STATE_DIR"/munged.out; do
            [[ -s $f ]] || continue
            printf '\n----- last lines of %s -----\n' "$f" >&2
            tail -n 40 "$f" >&2
        done
    fi
    stop_cluster
    if [[ $KEEP -eq 1 ]]; then
        log "kept $STATE_DIR"
    else
        rm -rf "$STATE_DIR"
    fi
    if [[ $PROOF_OK -ne 1 ]]; then
        printf '[slurm-proof] FAILED (exit status %s); daemons stopped\n' "$((rc == 0 ? 1 : rc))" >&2
        exit $((rc == 0 ? 1 : rc))
    fi
}
trap on_exit EXIT
trap 'printf "[slurm-proof] FAILED: line %s: %s exited with status %s\n" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- install Slurm
install_slurm() {
    local missing=() bin
    for bin in munged slurmctld slurmd sbatch squeue scontrol sinfo scancel; do
        command -v "$bin" >/dev/null || missing+=("$bin")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null ||
        die "Slurm is missing (${missing[*]}) and there is no apt-get; install slurmctld, slurmd, slurm-client and munge"
    log "installing Slurm and munge from the Debian archive (missing: ${missing[*]})"
    # Keep the packages' services from starting with the system-wide
    # configuration: this proof starts its own daemons with its own files.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    local rc=0
    {
        timeout 300 apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
                --no-install-recommends slurmctld slurmd slurm-client munge
    } >"$STATE_DIR/apt.out" 2>&1 || rc=$?
    [[ $own_policy -eq 1 ]] && rm -f "$policy"
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$STATE_DIR/apt.out" >&2
        die "apt-get could not install slurmctld slurmd slurm-client munge (exit $rc)"
    fi
}

# ---------------------------------------------------------------- start the cluster
start_cluster() {
    local s=$STATE_DIR
    mkdir -p "$s/ctld" "$s/spool"
    head -c 1024 /dev/urandom >"$s/munge.key"
    chmod 600 "$s/munge.key"

    # The node as slurmd sees this machine (CPUs, sockets, cores, memory), so the
    # node registers without being drained for "low memory" or "low CPUs".
    local hw
    hw=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+ //') ||
        die "'slurmd -C' could not describe this machine"
    [[ $hw == *CPUs=* && $hw == *RealMemory=* ]] || die "unexpected 'slurmd -C' output: $hw"

    cat >"$s/slurm.conf" <<EOF
# Single-node cluster for tests/cluster/slurm_proof.sh (generated; deleted afterwards).
ClusterName=coexplore-proof
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$s/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$s/ctld
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd.log
MailProg=/bin/true
MpiDefault=none
# no cgroups: processes are tracked through /proc, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd, so sacct has no data: the proof uses --slurm-status-command squeue,
# and finished jobs are recorded in a plain text file (JobCompLoc) instead
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$s/jobcomp.txt
# squeue keeps finished jobs visible this long (the plugin needs >= 3 status intervals)
MinJobAge=600
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# one GPU (see gres.conf), so rules with resources gpu=1 (--gpus=1) can be scheduled
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 $hw Gres=gpu:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    # Slurm drops a GPU without a device file; /dev/null stands in where the
    # machine has no NVIDIA device (jobs then see CUDA_VISIBLE_DEVICES=0 and no GPU).
    local gpu_file=/dev/null
    [[ -c /dev/nvidia0 ]] && gpu_file=/dev/nvidia0
    printf 'NodeName=%s Name=gpu File=%s\n' "$NODE" "$gpu_file" >"$s/gres.conf"
    export SLURM_CONF=$s/slurm.conf
    # Clients find the configuration through SLURM_CONF, except the srun that
    # snakemake-executor-plugin-slurm-jobstep starts inside each job: it drops
    # all SLURM_* variables and so reads the default /etc/slurm/slurm.conf, as on
    # a real cluster. A link there is made for the proof and removed afterwards;
    # an existing file (a machine with its own Slurm) is never touched.
    if [[ -e $SYSTEM_CONF || -L $SYSTEM_CONF ]]; then
        die "$SYSTEM_CONF exists: this machine has its own Slurm configuration;" \
            "run the proof on a machine without one"
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -s "$s/slurm.conf" "$SYSTEM_CONF"

    log "starting munged, slurmctld and slurmd (ports $CTLD_PORT, $SLURMD_PORT)"
    munged -F --socket="$s/munge.socket" --key-file="$s/munge.key" \
        --pid-file="$s/munged.pid" --seed-file="$s/munged.seed" \
        --log-file="$s/munged.log" >"$s/munged.out" 2>&1 9>&- &
    echo $! >"$s/munged.pid.self"
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -S $s/munge.socket ]] && break
        sleep 0.2
    done
    [[ -S $s/munge.socket ]] || die "munged did not create its socket $s/munge.socket"

    slurmctld -D -i -f "$s/slurm.conf" >"$s/slurmctld.out" 2>&1 9>&- &
    echo $! >"$s/slurmctld.pid.self"
    slurmd -D -N "$NODE" -f "$s/slurm.conf" >"$s/slurmd.out" 2>&1 9>&- &
    echo $! >"$s/slurmd.pid.self"

    local state=""
    for ((i = 0; i < 60; i++)); do
        state=$(timeout 10 sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)
        [[ $state == idle ]] && break
        kill -0 "$(<"$s/slurmctld.pid.self")" 2>/dev/null || die "slurmctld exited; see above"
        kill -0 "$(<"$s/slurmd.pid.self")" 2>/dev/null || die "slurmd exited; see above"
        sleep 1
    done
    [[ $state == idle ]] || die "node $NODE is '${state:-not reported}' after 60 s, not idle"
    log "cluster up: $(sinfo -h -o '%P %a %D %T %N %G')"
}

# ---------------------------------------------------------------- workflows
write_throwaway_workflow() { # write_throwaway_workflow DIR
    local d=$1
    mkdir -p "$d"
    cat >"$d/config.yaml" <<'EOF'
parts: [north, south]
seed: 42
EOF
    # Three rules: two parallel make_part jobs and one combine job that depends
    # on both. The outputs record which Python ran them (must be the project
    # venv, passed to Slurm jobs through PATH) and the threads and GPUs the
    # jobs were given, so a difference between Slurm and --cores shows up as
    # different bytes.
    cat >"$d/Snakefile" <<'EOF'
localrules:
    all,


rule all:
    input:
        "results/combined.txt",


rule make_part:
    output:
        "results/part_{part}.txt",
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "python -c 'import hashlib, sys; "
        "print(sys.argv[1], hashlib.sha256((sys.argv[1] + sys.argv[2]).encode()).hexdigest(), sys.prefix)'"
        " {wildcards.part} {config[seed]} > {output}"


rule combine:
    input:
        expand("results/part_{part}.txt", part=config["parts"]),
    output:
        "results/combined.txt",
    log:
        "logs/combine.log",
    threads: 2
    resources:
        mem_mb=300,
        runtime=5,
        gpu=1,
    shell:
        "cat {input} > {output} && echo threads={threads} gpu={resources.gpu} >> {output}"
        " && echo SLURM_GPUS_ON_NODE=${{SLURM_GPUS_ON_NODE:-none}} > {log}"
EOF
}

copy_workflow() { # copy_workflow SRC DEST: the sources only (git-tracked and untracked, not ignored)
    local src=$1 dest=$2
    mkdir -p "$dest"
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z --cached --others --exclude-standard |
            tar --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null) |
            tar -xf - -C "$dest"
    else
        (cd "$src" && tar --exclude=./.snakemake -cf - .) | tar -xf - -C "$dest"
    fi
}

# Runs Snakemake in $STATE_DIR/work, a copy of the workflow, then moves the
# folder to $STATE_DIR/run-NAME: both runs happen at the same path, so outputs
# that record absolute paths still compare equal.
run_snakemake() { # run_snakemake NAME COMMAND...
    local name=$1 rc=0 t0=$SECONDS pid
    shift
    copy_workflow "$SOURCE" "$STATE_DIR/work"
    log "  in $STATE_DIR/work: $*"
    # at the time limit INT, on which Snakemake cancels its running Slurm jobs
    (cd "$STATE_DIR/work" && exec timeout -s INT -k 60 "$RUN_TIMEOUT" "$@") \
        >"$STATE_DIR/$name.snakemake.out" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$STATE_DIR/snakemake.pid.self"
    wait "$pid" || rc=$?
    rm -f "$STATE_DIR/snakemake.pid.self"
    mv "$STATE_DIR/work" "$STATE_DIR/run-$name"
    local label=${name/slurm/Slurm}
    [[ $rc -eq 124 ]] && die "the $label run took longer than ${RUN_TIMEOUT}s (--timeout)"
    [[ $rc -eq 0 ]] || die "the $label run failed (snakemake exit $rc)"
    log "  done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- the proof
mkdir -p "$(dirname "$STATE_DIR")"
# stop what an earlier run left behind when it was killed before its trap ran
stop_pidfile "$STATE_DIR/snakemake.pid.self" timeout 60 INT
stop_cluster
rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"

install_slurm
start_cluster

SOURCE=$WORKFLOW_DIR
THROWAWAY=0
if [[ -z $SOURCE ]]; then
    SOURCE=$STATE_DIR/throwaway
    write_throwaway_workflow "$SOURCE"
    CONFIGFILE=${CONFIGFILE:-config.yaml}
    THROWAWAY=1
fi
log "workflow: $SOURCE${CONFIGFILE:+ (configfile $CONFIGFILE)}"
# One snapshot of the sources feeds both runs, so that edits made to the
# workflow folder meanwhile cannot make them differ. Its files are not outputs.
copy_workflow "$SOURCE" "$STATE_DIR/snapshot"
SOURCE=$STATE_DIR/snapshot
(cd "$SOURCE" && find . \( -type f -o -type l \) -printf '%P\n' | sort) >"$STATE_DIR/sources.txt"

# The library is not in the snapshot: jobs import it from the venv (an
# editable install reads the working tree's src/). Its fingerprint before the
# first and after the second run tells whether it changed meanwhile, which
# would make the runs differ for a reason that is not Slurm's.
library_fingerprint() {
    "$VENV/bin/python" - <<'PY'
import hashlib, importlib.util, pathlib
spec = importlib.util.find_spec("coexplore")
if spec is None or not spec.submodule_search_locations:
    print("no coexplore package in this venv")
else:
    root = pathlib.Path(next(iter(spec.submodule_search_locations)))
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    print(f"{root} sha256 {h.hexdigest()}")
PY
}
LIBRARY_BEFORE=$(library_fingerprint)

# one "=" argument: a spaced --configfile would also swallow the targets that
# may follow among the extra arguments (it takes several files)
CONFIG_ARGS=()
[[ -n $CONFIGFILE ]] && CONFIG_ARGS=("--configfile=$CONFIGFILE")

# Jobs must find the project environment: sbatch --export=ALL hands them this PATH.
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV=$VENV
export COEXPLORE_SLURM_PARTITION=$PARTITION COEXPLORE_SLURM_GPU_PARTITION=$PARTITION
# no slurmdbd, hence no associations: any account name is accepted
export COEXPLORE_SLURM_ACCOUNT=proof

# No retries: every job has to succeed at its first submission. squeue answers
# the status queries (sacct has no data without slurmdbd); short first check.
log "run 1/2: through Slurm with the profile $SLURM_PROFILE (timeout ${RUN_TIMEOUT}s)"
run_snakemake slurm snakemake --profile "$SLURM_PROFILE" "${CONFIG_ARGS[@]}" --retries 0 \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 5 \
    --max-threads "$NCPUS" "${EXTRA_ARGS[@]}"

log "run 2/2: on this machine with the profile $LOCAL_PROFILE (timeout ${RUN_TIMEOUT}s)"
run_snakemake local snakemake --profile "$LOCAL_PROFILE" --cores "$NCPUS" \
    "${CONFIG_ARGS[@]}" "${EXTRA_ARGS[@]}"

LIBRARY_AFTER=$(library_fingerprint)
[[ $LIBRARY_AFTER == "$LIBRARY_BEFORE" ]] ||
    die "the coexplore library changed during the proof ($LIBRARY_BEFORE -> $LIBRARY_AFTER):" \
        "the runs used different code; rerun without editing src/ meanwhile"
log "library: $LIBRARY_AFTER (unchanged during both runs)"

# ---- 1. the jobs went through sbatch and Slurm ran them to completion
mapfile -t JOBIDS < <(grep -oE 'submitted with SLURM jobid [0-9]+' "$STATE_DIR/slurm.snakemake.out" |
    awk '{print $NF}' | sort -n -u)
[[ ${#JOBIDS[@]} -gt 0 ]] ||
    die "no 'submitted with SLURM jobid' line in the Slurm run's log: nothing went through sbatch"
local_jobs=$(grep -cE '^(localrule|rule) ' "$STATE_DIR/local.snakemake.out" || true)
slurm_local_jobs=$(grep -cE '^localrule ' "$STATE_DIR/slurm.snakemake.out" || true)
[[ $((${#JOBIDS[@]} + slurm_local_jobs)) -eq $local_jobs ]] ||
    die "the Slurm run submitted ${#JOBIDS[@]} jobs and ran $slurm_local_jobs local rules," \
        "but the local run ran $local_jobs jobs"
for id in "${JOBIDS[@]}"; do
    grep -qE "^JobId=$id .*JobState=COMPLETED .*ExitCode=0:0" "$STATE_DIR/jobcomp.txt" ||
        die "Slurm job $id is not recorded as COMPLETED with exit code 0 in $STATE_DIR/jobcomp.txt"
done
log "Slurm ran ${#JOBIDS[@]} jobs (ids ${JOBIDS[*]}), all COMPLETED; $slurm_local_jobs local rule(s)"
if [[ $THROWAWAY -eq 1 ]]; then
    [[ ${#JOBIDS[@]} -eq 3 ]] || die "expected 3 Slurm jobs for the throwaway workflow, got ${#JOBIDS[@]}"
    # Without slurmdbd jobcomp does not list GPUs; slurmctld still knows the
    # jobs (MinJobAge) and shows the GPU request, and the job step saw its GPU.
    gpu_jobs=0
    for id in "${JOBIDS[@]}"; do
        scontrol show job -o "$id" | tee -a "$STATE_DIR/scontrol-jobs.txt" |
            grep -qE '(^| )TresPerJob=gres:gpu:1( |$)' && gpu_jobs=$((gpu_jobs + 1))
    done
    [[ $gpu_jobs -eq 1 ]] ||
        die "expected 1 Slurm job asking for a GPU (rule combine, resources gpu=1)," \
            "found $gpu_jobs; see $STATE_DIR/scontrol-jobs.txt"
    grep -qx 'SLURM_GPUS_ON_NODE=1' "$STATE_DIR/run-slurm/logs/combine.log" ||
        die "the combine job step did not see the GPU Slurm allocated" \
            "($STATE_DIR/run-slurm/logs/combine.log: $(tr '\n' ' ' <"$STATE_DIR/run-slurm/logs/combine.log"))"
    # the parts ran on the node in the project venv (sys.prefix in their output)
    for part in north south; do
        grep -qE " ${VENV}\$" "$STATE_DIR/run-slurm/results/part_$part.txt" ||
            die "results/part_$part.txt was not made by $VENV/bin/python"
    done
fi

# ---- 2. both runs produced the same files with the same bytes
list_outputs() { # list_outputs RUN_DIR: output files, minus sources and excluded paths
    (cd "$1" && find . \( -type f -o -type l \) -printf '%P\n') | sort |
        comm -23 - "$STATE_DIR/sources.txt" | while IFS= read -r rel; do
        local pattern skip=0
        for pattern in "${EXCLUDES[@]}"; do
            # shellcheck disable=SC2254  # the pattern is meant to glob
            case "$rel" in $pattern) skip=1 && break ;; esac
        done
        if [[ $skip -eq 0 ]]; then printf '%s\n' "$rel"; fi
    done
}
list_outputs "$STATE_DIR/run-slurm" >"$STATE_DIR/outputs-slurm.txt"
list_outputs "$STATE_DIR/run-local" >"$STATE_DIR/outputs-local.txt"
if ! diff -u "$STATE_DIR/outputs-local.txt" "$STATE_DIR/outputs-slurm.txt" >"$STATE_DIR/outputs.diff"; then
    cat "$STATE_DIR/outputs.diff" >&2
    die "the two runs produced different sets of files (above: - local, + Slurm)"
fi
n_outputs=$(wc -l <"$STATE_DIR/outputs-slurm.txt")
[[ $n_outputs -gt 0 ]] || die "the runs produced no output files to compare"
differing=()
while IFS= read -r rel; do
    cmp -s "$STATE_DIR/run-slurm/$rel" "$STATE_DIR/run-local/$rel" || differing+=("$rel")
done <"$STATE_DIR/outputs-slurm.txt"
[[ ${#differing[@]} -eq 0 ]] ||
    die "${#differing[@]} of $n_outputs output files differ between the Slurm and the local run:" \
        "${differing[*]:0:20}"
log "the Slurm and the local run produced the same $n_outputs output files, byte for byte"

PROOF_OK=1
log "PROOF PASSED in $((SECONDS - START_SECONDS)) s"
