"""Run the real workflow on config/tiny.yaml in a temporary copy of the project:
every stage's outputs exist and are valid, a second run has nothing to do, a
touched raw Landsat scene reruns only its own chain, a parameter that only
later stages read reruns nothing of the spine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from ..conftest import ROOT

pytestmark = pytest.mark.workflow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _run(
    workdir: Path, *args: str, configfile: str = "config/tiny.yaml", timeout: int = 1500
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        # --configfile takes several values: it goes last, after the targets
        [*SNAKEMAKE, *args, "--cores", "2", "--configfile", configfile],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def planned_jobs(
    workdir: Path, *targets: str, configfile: str = "config/tiny.yaml"
) -> dict[str, int]:
    """Rule -> job count of a dry run (empty when there is nothing to do)."""
    proc = _run(workdir, *targets, "--dry-run", "--quiet", "rules", configfile=configfile)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    counts = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s+(\d+)\s*$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    assert counts, f"could not parse the dry run:\n{text}"
    return counts


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tiny")
    for name in ("Snakefile", "workflow", "config", "envs", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name)
        else:
            shutil.copy2(src, work / name)
    _run(work)  # rule all: the whole pipeline and the report
    return work


def _cube_targets() -> list[str]:
    return [
        f"results/tiny/cubes/{s}.zarr"
        for s in ("landsat8", "sentinel1", "drone", "meteo", "dem", "geology")
    ]


def test_cubes_are_valid(tiny_run):
    from coexplore.io.cubes import open_cube

    cfg = yaml.safe_load((tiny_run / "config" / "tiny.yaml").read_text())["areas"]["tiny"]
    n_months = len(pd.date_range(cfg["time"]["start"], cfg["time"]["end"], freq="MS"))
    for source, bands in {
        "landsat8": ["coastal", "blue", "green", "red", "nir", "swir1", "swir2", "tir"],
        "sentinel1": ["vv", "vh"],
        "meteo": ["temperature", "relative_humidity", "wind_speed", "solar_irradiance"],
        "drone": ["red", "green", "blue", "texture"],
    }.items():
        ds = open_cube(tiny_run / f"results/tiny/cubes/{source}.zarr")
        assert ds["data"].dims == ("time", "band", "y", "x")
        assert ds.sizes["time"] == n_months and ds.sizes["y"] == 160 and ds.sizes["x"] == 160
        assert list(ds["band"].values) == bands
        assert ds.rio.crs.to_epsg() == 32650
        assert "filled" in ds and "source_scenes" in ds.attrs or source == "meteo"
        vals = ds["data"].values
        if source == "drone":
            assert np.isfinite(vals).any() and np.isnan(vals).any()  # only where flights cover
        else:
            assert np.isfinite(vals).mean() > 0.95, source
    sr = open_cube(tiny_run / "results/tiny/cubes/landsat8.zarr")["data"].sel(band="nir").values
    assert 0.0 < np.nanmedian(sr) < 0.6
    dem = open_cube(tiny_run / "results/tiny/cubes/dem.zarr")
    assert dem["data"].dims == ("band", "y", "x") and np.isfinite(dem["data"].values).all()


def test_scene_qa_table(tiny_run):
    qa = pd.read_csv(tiny_run / "results/tiny/qa/scenes.csv")
    l8 = qa[qa.source == "landsat8"]
    assert {"gcp_rmse_px", "coreg_residual_px", "cloud_fraction", "valid_fraction"} <= set(
        qa.columns
    )
    ok = l8[l8.status == "ok"]
    assert len(ok) >= 5
    # co-registration after GCP correction: residuals under half a 10 m pixel
    # for the scenes that could be measured (after correction where flagged)
    after = ok["coreg_residual_after_px"].dropna()
    assert (after < 0.5).mean() >= 0.9, after.describe()
    assert (ok["gcp_rmse_px"] < 0.5).all()


def test_downstream_outputs_exist_and_are_valid(tiny_run):
    res = tiny_run / "results" / "tiny"
    metrics = pd.read_csv(res / "models/classical/metrics.csv")
    assert set(metrics["classifier"]) == {"RF", "SVM", "KNN", "ANN", "NB"}
    assert metrics["OA"].between(0, 100).all() and (metrics["OA_random"] >= metrics["OA"] - 5).all()
    sel = pd.read_csv(res / "features/selection.csv")
    assert {"all_OA", "rf_OA", "relieff_OA", "combined_OA"} <= set(sel.columns)
    comp = pd.read_csv(res / "models/comparison.csv")
    assert set(comp.loc[comp.source == "this run", "model"]) == {
        "cnn_lstm",
        "cnn",
        "lstm",
        "transformer",
        "mdnn",
        "resnet50",
    }
    bench = pd.read_csv(res / "models/benchmark.csv")
    assert (bench["images_per_s_mean"] > 0).all()
    with rasterio.open(res / "maps/landuse_2022.tif") as src:
        assert src.crs.to_epsg() == 32650 and src.colormap(1)[5][:3] == (105, 105, 105)
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 3, 4, 5, 6}
    with rasterio.open(res / "maps/cnn_lstm_2022.tif") as src:
        assert src.read(1).max() > 0
    change = pd.read_csv(res / "products/change/metrics.csv")
    assert {"f1", "iou", "precision", "recall"} <= set(change.columns)
    assert (res / "products/conflicts.gpkg").exists() and (
        res / "products/prospectivity.tif"
    ).exists()
    html = (res / "report/report.html").read_text()
    assert "<table" in html and "data:image/png;base64," in html and "http://" not in html
    assert (tiny_run / "results/index.html").exists()


def test_second_run_has_nothing_to_do(tiny_run):
    assert planned_jobs(tiny_run) == {}


def test_later_stage_parameter_reruns_nothing_here(tiny_run, tmp_path):
    cfg = yaml.safe_load((tiny_run / "config" / "tiny.yaml").read_text())
    cfg["learn"]["epochs"] = cfg["learn"]["epochs"] + 1
    alt = tiny_run / "config" / "tiny_changed.yaml"
    alt.write_text(yaml.safe_dump(cfg, sort_keys=False))  # the user's key order
    try:
        spine = planned_jobs(
            tiny_run, "results/tiny/qa/scenes.csv", *_cube_targets(), configfile=str(alt)
        )
        everything = planned_jobs(tiny_run, configfile=str(alt))
    finally:
        alt.unlink()
    assert spine == {}
    # only the deep-learning chain and what reads it
    assert everything.get("train_model", 0) > 0
    assert not {"synthesize_study_area_tiny", "ingest_landsat8", "build_cube", "fuse_cubes"} & set(
        everything
    )


def test_touched_landsat_scene_reruns_only_its_chain(tiny_run):
    # last in this module: it leaves the downstream stages out of date
    scene_dirs = sorted((tiny_run / "results/tiny/raw/landsat8").iterdir())
    b4 = next(scene_dirs[2].glob("*_B4.TIF"))
    # a re-delivered scene: Snakemake 9 ignores a newer file whose checksum is
    # unchanged, so one pixel's DN changes (update mode keeps the sidecars)
    with rasterio.open(b4, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as src:
        px = src.read(1, window=((40, 41), (40, 41)))
        src.write(px + 1, 1, window=((40, 41), (40, 41)))
    jobs = planned_jobs(tiny_run, "results/tiny/qa/scenes.csv", *_cube_targets())
    assert jobs == {"ingest_landsat8": 1, "build_cube": 1, "collect_scene_qa": 1}
    _run(tiny_run, "results/tiny/qa/scenes.csv", *_cube_targets())
    assert planned_jobs(tiny_run, "results/tiny/qa/scenes.csv", *_cube_targets()) == {}
