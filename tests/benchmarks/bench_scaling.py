"""Scaling benchmark: build the cubes of areas 1x, 4x and 16x the tiny one and
print wall time and peak memory for each.

Goal: time grows no worse than linearly with area, peak memory stays roughly
flat (compositing works one time step at a time, gap filling chunk by chunk).

Usage (from the project root)::

    .venv/bin/python tests/benchmarks/bench_scaling.py [--factors 1 4 16] [--cores 2]

The runs happen in a temporary copy of the workflow; nothing is written under
results/. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]


def scaled_config(factor: int) -> tuple[str, dict]:
    cfg = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    ((area_id, area),) = cfg["areas"].items()
    side = math.sqrt(factor)
    left, bottom, right, top = area["grid"]["extent"]
    w, h = (right - left) * side, (top - bottom) * side
    area = {**area, "grid": {**area["grid"], "extent": [left, bottom, left + w, bottom + h]}}
    new_id = f"scale{factor}x"
    return new_id, {**cfg, "areas": {new_id: area}}


def run(factor: int, work: Path, cores: int) -> dict:
    area_id, cfg = scaled_config(factor)
    cfg_path = work / "config" / f"{area_id}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    area = cfg["areas"][area_id]
    targets = [f"results/{area_id}/cubes/{s}.zarr" for s in (*area["sources"], "dem", "geology")]
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            *targets,
            "--cores",
            str(cores),
            f"--configfile={cfg_path}",
            "--quiet",
        ],
        cwd=work,
        check=True,
    )
    wall = time.perf_counter() - t0
    bench = work / "results" / area_id / "benchmarks"
    frames = [
        pd.read_csv(f, sep="\t").assign(rule=f.parent.name if f.parent != bench else f.stem)
        for f in bench.rglob("*.tsv")
    ]
    b = pd.concat(frames)
    b["max_rss"] = pd.to_numeric(b["max_rss"], errors="coerce")
    left, bottom, right, top = area["grid"]["extent"]
    cube = b[b.rule == "build_cube"]
    return {
        "area": area_id,
        "factor": factor,
        "pixels": int(round((right - left) / 10) * round((top - bottom) / 10)),
        "wall_s": wall,
        "job_s_total": b["s"].sum(),
        "build_cube_s": cube["s"].sum(),
        "peak_rss_mb_any_job": b["max_rss"].max(),
        "peak_rss_mb_build_cube": cube["max_rss"].max(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="coexplore-scaling-") as tmp:
        work = Path(tmp)
        for name in ("Snakefile", "workflow", "config", "envs", "pyproject.toml"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
        rows = [run(f, work, args.cores) for f in args.factors]
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    table["time_per_pixel_vs_1x"] = (table["job_s_total"] / table["pixels"]) / (
        base["job_s_total"] / base["pixels"]
    )
    table["peak_mem_vs_1x"] = table["peak_rss_mb_build_cube"] / base["peak_rss_mb_build_cube"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
