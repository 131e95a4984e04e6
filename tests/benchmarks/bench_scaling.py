"""Scaling benchmark: run the chunked stages (cube building, fusion, the
feature stack of one year) and the per-scene ingest before them on areas
1x, 4x and 16x the tiny one and print wall time and peak memory per stage.

Goal: time grows no worse than linearly with area (seconds per megapixel do
not rise) and peak memory stays roughly flat: the co-registration check
matches a bounded window; ingest (warp, denoising, writing), compositing,
gap filling, fusion and the features work tile by tile.

Usage (from the project root)::

    .venv/bin/python tests/benchmarks/bench_scaling.py [--factors 1 4 16] [--cores 2]

The runs happen in a temporary copy of the workflow (``--keep DIR`` keeps it);
nothing is written under results/. Per-job wall time and peak RSS come from
Snakemake's benchmark files (``s`` summed over a stage's jobs, ``max_rss``
the largest job's). Figures are printed, never asserted.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import stage_table  # noqa: E402  (a sibling script, not a package)

#: stage -> benchmark files, relative to results/{area}/benchmarks
STAGES = {
    # per-scene jobs: each warps one scene onto the grid tile by tile
    "ingest_landsat8": "ingest_landsat8/*.tsv",
    "ingest_sentinel1": "ingest_sentinel1/*.tsv",
    "ingest_drone": "ingest_drone/*.tsv",
    "build_cube": "build_cube/*.tsv",
    "build_meteo_cube": "build_meteo_cube.tsv",
    "fuse_cubes": "fuse_cubes.tsv",
    "build_features": "build_features/*.tsv",
}


def scaled_config(factor: int) -> tuple[str, dict]:
    """The tiny config with its area's extent grown ``factor`` times (same origin)."""
    cfg = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    ((_, area),) = cfg["areas"].items()
    side = math.sqrt(factor)
    left, bottom, right, top = area["grid"]["extent"]
    w, h = (right - left) * side, (top - bottom) * side
    area = {**area, "grid": {**area["grid"], "extent": [left, bottom, left + w, bottom + h]}}
    new_id = f"scale{factor}x"
    return new_id, {**cfg, "areas": {new_id: area}}


def run(factor: int, work: Path, cores: int) -> pd.DataFrame:
    area_id, cfg = scaled_config(factor)
    cfg_path = work / "config" / f"{area_id}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    area = cfg["areas"][area_id]
    year = int(str(area["time"]["end"])[:4])
    targets = [f"results/{area_id}/cubes/{s}.zarr" for s in (*area["sources"], "dem", "geology")]
    targets += [
        f"results/{area_id}/cubes/fused.zarr",
        f"results/{area_id}/features/stack_{year}.zarr",
    ]
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
    left, bottom, right, top = area["grid"]["extent"]
    res = area["grid"]["resolution"]
    pixels = round((right - left) / res) * round((top - bottom) / res)
    table = stage_table(bench, STAGES).rename(columns={"wall_s_total": "seconds"})
    return table.assign(factor=factor, pixels=pixels, run_wall_s=wall)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (for profiling)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="coexplore-scaling-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in ("Snakefile", "workflow", "config", "envs", "pyproject.toml"):
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, dirs_exist_ok=True)
            else:
                shutil.copy2(src, work / name)
        table = pd.concat([run(f, work, args.cores) for f in args.factors], ignore_index=True)
    table["s_per_mpx"] = table["seconds"] / (table["pixels"] / 1e6)
    base = table[table["factor"] == table["factor"].min()].set_index("stage")
    table["time_per_px_vs_1x"] = table["s_per_mpx"] / table["stage"].map(base["s_per_mpx"])
    table["peak_vs_1x"] = table["peak_rss_mb"] / table["stage"].map(base["peak_rss_mb"])
    order = {stage: i for i, stage in enumerate(STAGES)}
    table = table.sort_values(
        ["stage", "factor"], key=lambda c: c.map(order) if c.name == "stage" else c
    )
    cols = ["stage", "factor", "pixels", "jobs", "seconds", "s_per_mpx", "time_per_px_vs_1x"]
    cols += ["peak_rss_mb", "peak_vs_1x"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    walls = table.drop_duplicates("factor")[["factor", "pixels", "run_wall_s"]]
    print("\nwhole run (synthesis and ingest included):")
    print(walls.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
