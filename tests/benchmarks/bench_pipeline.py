"""Benchmark of the pipeline spine: wall time and peak memory per stage, and
our per-scene Landsat alignment against a bare rasterio/GDAL warp of the same
scene.

Usage (from the project root, after a run of the area)::

    .venv/bin/python tests/benchmarks/bench_pipeline.py --config config/tiny.yaml
    .venv/bin/python tests/benchmarks/bench_pipeline.py --config config/config.yaml --run

``--run`` first runs the workflow up to the cubes (Snakemake writes the
per-job benchmark files this script reads). Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.warp import Resampling, reproject

from coexplore.config import load_config
from coexplore.grid import Grid
from coexplore.ingest.landsat8 import ingest_landsat8
from coexplore.layout import discover_landsat, landsat_band_path, landsat_gcp_path
from coexplore.sensors import Landsat8

ROOT = Path(__file__).resolve().parents[2]
STAGES = {
    "synthesize_study_area": "synthesize_study_area.tsv",
    "ingest_landsat8": "ingest_landsat8/*.tsv",
    "ingest_sentinel1": "ingest_sentinel1/*.tsv",
    "ingest_drone": "ingest_drone/*.tsv",
    "ingest_static": "ingest_static/*.tsv",
    "build_cube": "build_cube/*.tsv",
    "build_meteo_cube": "build_meteo_cube.tsv",
    "fuse_cubes": "fuse_cubes.tsv",
    "build_features": "build_features/*.tsv",
    "select_features": "select_features.tsv",
    "train_classical": "train_classical.tsv",
}


def stage_table(bench_dir: Path, stages: Mapping[str, str] = STAGES) -> pd.DataFrame:
    """Wall time (sum over jobs) and peak RSS (max over jobs) per stage.

    ``stages`` maps a stage name to the glob of its benchmark files in
    ``bench_dir``; stages without a file are left out.
    """
    rows = []
    for stage, pattern in stages.items():
        files = sorted(bench_dir.glob(pattern))
        if not files:
            continue
        frames = pd.concat([pd.read_csv(f, sep="\t") for f in files])
        rows.append(
            {
                "stage": stage,
                "jobs": len(files),
                "wall_s_total": frames["s"].sum(),
                "wall_s_per_job": frames["s"].mean(),
                "peak_rss_mb": pd.to_numeric(frames["max_rss"], errors="coerce").max(),
            }
        )
    return pd.DataFrame(rows)


def bare_warp(scene_dir: Path, scene_id: str, grid: Grid) -> np.ndarray:
    """The same scene's 8 bands warped bicubic onto the grid by GDAL, nothing else."""
    out = np.empty((len(Landsat8.bands), grid.height, grid.width), dtype="float32")
    for i, n in enumerate(Landsat8.bands.values()):
        with rasterio.open(landsat_band_path(scene_dir.parent.parent, scene_id, f"B{n}")) as src:
            reproject(
                source=rasterio.band(src, 1),
                destination=out[i],
                dst_transform=grid.transform,
                dst_crs=grid.crs,
                resampling=Resampling.cubic,
                dst_nodata=np.nan,
            )
    return out


def alignment_table(raw: Path, grid: Grid, *, n_scenes: int, repeats: int) -> pd.DataFrame:
    rows = []
    for scene_id in discover_landsat(raw)[:n_scenes]:
        scene_dir = raw / "landsat8" / scene_id
        gcp = landsat_gcp_path(raw, scene_id)
        ours, bare = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                ingest_landsat8(scene_dir, grid, gcp_path=gcp if gcp.exists() else None)
            except Exception as exc:  # a skipped (all-cloud) scene is not timed
                print(f"  {scene_id}: {exc}", file=sys.stderr)
                break
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            bare_warp(scene_dir, scene_id, grid)
            bare.append(time.perf_counter() - t0)
        if ours:
            rows.append(
                {
                    "scene_id": scene_id,
                    "ours_s": float(np.median(ours)),
                    "bare_gdal_warp_s": float(np.median(bare)),
                    "ratio": float(np.median(ours) / np.median(bare)),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", default="config/tiny.yaml")
    ap.add_argument("--run", action="store_true", help="run the workflow up to the cubes first")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--scenes", type=int, default=5, help="Landsat scenes timed for alignment")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cfg = load_config(ROOT / args.config, ROOT / "workflow/schemas/config.schema.yaml")
    for area_id, area in cfg["areas"].items():
        if args.run:
            targets = [f"results/{area_id}/qa/scenes.csv"] + [
                f"results/{area_id}/cubes/{s}.zarr" for s in (*area["sources"], "dem", "geology")
            ]
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "snakemake",
                    *targets,
                    "--cores",
                    str(args.cores),
                    "--configfile",
                    args.config,
                ],
                cwd=ROOT,
                check=True,
            )
            print(f"\n[{area_id}] workflow up to the cubes: {time.perf_counter() - t0:.1f} s wall")
        bench = ROOT / "results" / area_id / "benchmarks"
        print(f"\n[{area_id}] per stage (Snakemake benchmark files in {bench.relative_to(ROOT)}):")
        print(stage_table(bench).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        raw = Path(area["raw_dir"]) if area["raw_dir"] else ROOT / "results" / area_id / "raw"
        grid = Grid.from_config(area["grid"])
        table = alignment_table(raw, grid, n_scenes=args.scenes, repeats=args.repeats)
        print(
            f"\n[{area_id}] per-scene alignment, our ingest vs a bare GDAL bicubic warp ({grid.shape}):"
        )
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if len(table):
            print(
                f"median ratio ours / bare warp: {table['ratio'].median():.2f} (goal: within 1.5)"
            )


if __name__ == "__main__":
    main()
