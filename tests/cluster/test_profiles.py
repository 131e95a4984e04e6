"""The execution profiles as Snakemake reads them, and the proof script's argument checks.

Fast: dry runs of a two-rule workflow in a temp folder and a few calls of the
script that stop at argument checking (no Slurm needed).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "workflow" / "profiles"
SCRIPT = Path(__file__).resolve().parent / "slurm_proof.sh"

SNAKEFILE = """\
rule all:
    input:
        "model.pt",


rule prepare:
    output:
        "samples.txt",
    shell:
        "echo 1 > {output}"


rule train_model:
    input:
        "samples.txt",
    output:
        "model.pt",
    threads: 2
    resources:
        gpu=1,
    shell:
        "cp {input} {output}"
"""


def _dry_run(workdir: Path, profile: str, env: dict[str, str]) -> str:
    """Dry-run SNAKEFILE in ``workdir`` with a profile; return Snakemake's output."""
    (workdir / "Snakefile").write_text(SNAKEFILE)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "COEXPLORE_"))}
    run_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", str(PROFILES / profile), "-n"],
        cwd=workdir,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _resources(output: str, rule: str) -> dict[str, str]:
    """The ``resources:`` line of ``rule`` in a dry-run log, as a name -> value mapping."""
    block = re.search(rf"^rule {rule}:\n(?:    .*\n)*?    resources: (.*)$", output, re.M)
    assert block is not None, f"no resources line for rule {rule} in:\n{output}"
    return dict(item.split("=", 1) for item in block.group(1).split(", "))


def _uncommented_keys(path: Path) -> list[str]:
    """Keys (top-level and one level down) with neither a comment line right above
    them nor their parent key (whose comment covers its first child)."""
    missing = []
    previous = ""
    for line in path.read_text().splitlines():
        match = re.match(r"^( {0,2})([A-Za-z_][\w-]*):", line)
        covered = previous.lstrip().startswith("#") or previous.rstrip().endswith(":")
        if match and not covered:
            missing.append(match.group(2))
        if line.strip():
            previous = line
    return missing


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_every_profile_key_is_commented(profile: str) -> None:
    path = PROFILES / profile / "config.yaml"
    assert yaml.safe_load(path.read_text())
    assert _uncommented_keys(path) == []


def test_slurm_profile_keys() -> None:
    config = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    assert config["executor"] == "slurm"
    assert config["rerun-incomplete"] is True
    assert config["latency-wait"] >= 30
    assert set(config["default-resources"]) == {
        "slurm_partition",
        "slurm_account",
        "mem_mb",
        "runtime",
        "cpus_per_task",
    }
    assert "software-deployment-method" not in config


def test_local_profile_keys() -> None:
    config = yaml.safe_load((PROFILES / "local" / "config.yaml").read_text())
    assert config["rerun-incomplete"] is True
    assert config["cores"] == "all"
    assert "executor" not in config
    assert "software-deployment-method" not in config


def test_slurm_profile_resources_in_snakemake(tmp_path: Path) -> None:
    """Partition and account come from the environment; the training rule gets the GPU queue."""
    pytest.importorskip(
        "snakemake_executor_plugin_slurm", reason="snakemake-executor-plugin-slurm not installed"
    )
    output = _dry_run(
        tmp_path,
        "slurm",
        {
            "COEXPLORE_SLURM_PARTITION": "cpu_q",
            "COEXPLORE_SLURM_ACCOUNT": "geo123",
            "COEXPLORE_SLURM_GPU_PARTITION": "gpu_q",
        },
    )
    prepare = _resources(output, "prepare")
    assert prepare["slurm_partition"] == "cpu_q"
    assert prepare["slurm_account"] == "geo123"
    assert prepare["mem_mb"] == "4000"
    assert prepare["runtime"] == "60"
    assert prepare["cpus_per_task"] == "1"
    train = _resources(output, "train_model")
    assert train["slurm_partition"] == "gpu_q"
    assert train["slurm_account"] == "geo123"
    assert train["gpu"] == "1"
    assert train["mem_mb"] == "16000"
    assert train["runtime"] == "240"


def test_local_profile_in_snakemake(tmp_path: Path) -> None:
    """The local profile uses the machine's cores: the 2-thread rule keeps both threads."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 CPU cores to see a 2-thread rule keep its threads")
    output = _dry_run(tmp_path, "local", {})
    assert re.search(r"^rule train_model:\n(?:    .*\n)*?    threads: 2$", output, re.M), output
    assert _resources(output, "train_model")["gpu"] == "1"


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )


def test_proof_script_help() -> None:
    proc = _script("--help")
    assert proc.returncode == 0
    assert "--workflow DIR" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], r"unknown argument --bogus"),
        (["--workflow"], r"option --workflow needs a value"),
        (["--timeout", "ten"], r"--timeout 'ten' is not a positive whole number"),
        (["--state-dir", "relative/dir"], r"--state-dir 'relative/dir' must be an absolute path"),
    ],
)
def test_proof_script_rejects_bad_arguments(args: list[str], message: str) -> None:
    proc = _script(*args)
    assert proc.returncode != 0
    assert re.search(message, proc.stderr), proc.stderr
