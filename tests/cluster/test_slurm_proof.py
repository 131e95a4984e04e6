"""Runs tests/cluster/slurm_proof.sh: the Slurm profile on a real single-node cluster.

The proof installs Slurm with apt-get and starts daemons as root, so it runs only
when ``COEXPLORE_SLURM_PROOF=1``. ``COEXPLORE_SLURM_PROOF_ARGS`` passes arguments
to the script, e.g. ``--workflow . --configfile config/tiny.yaml`` for the real
tiny workflow (default: a throwaway 3-rule workflow).
"""

import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "slurm_proof.sh"
REPO = Path(__file__).resolve().parents[2]

# Hard stop for the whole script (two Snakemake runs of at most 1800 s each by
# default, plus installing and starting Slurm); the script bounds itself, this
# only guards against a hang outside its own time limits.
PROOF_TIMEOUT_S = 2 * 1800 + 900


@pytest.mark.cluster
def test_slurm_proof() -> None:
    """The workflow runs through sbatch and gives the same bytes as a --cores run."""
    if os.environ.get("COEXPLORE_SLURM_PROOF") != "1":
        pytest.skip(
            "Slurm proof not requested: set COEXPLORE_SLURM_PROOF=1 (needs root and "
            "apt-get; builds a single-node Slurm cluster and runs a workflow on it)"
        )
    args = shlex.split(os.environ.get("COEXPLORE_SLURM_PROOF_ARGS", ""))
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = proc.communicate(timeout=PROOF_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the script's trap cancel the jobs and stop the daemons
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=180)
        pytest.fail(f"slurm_proof.sh ran longer than {PROOF_TIMEOUT_S} s:\n{output[-6000:]}")
    assert proc.returncode == 0, f"slurm_proof.sh exited {proc.returncode}:\n{output[-6000:]}"
    assert "PROOF PASSED" in output, output[-6000:]
