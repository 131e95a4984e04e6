"""Cube building from ingested scene files: co-registration check on a
bounded window, compositing per time step, gap filling tile by tile into
the store."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

import coexplore.cube as cube_mod
from coexplore.cube import build_cube, coregistration_check, fill_gaps, load_scene_refs
from coexplore.grid import Grid
from coexplore.io.cubes import write_scene

GRID = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500400, 4400480), 10)  # 48 x 40
TIMES = pd.date_range("2021-01-01", periods=4, freq="MS")
BANDS = ["nir", "red"]
SHIFTED = "S2"  # scene written 1.6 px down and 0.8 px left of the others
SHIFT = (1.6, -0.8)


def _field(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=(GRID.height, GRID.width)), 2.0) * 0.1 + 0.3


@pytest.fixture()
def scenes(tmp_path):
    """Six scenes, two a month in January to March (April has none), with
    cloud holes; scene S2, the cloudiest, is misregistered by SHIFT."""
    base = np.stack([_field(1), _field(2)])
    rng = np.random.default_rng(3)
    dates = pd.to_datetime(
        ["2021-01-05", "2021-01-20", "2021-02-04", "2021-02-19", "2021-03-06", "2021-03-21"]
    )
    tifs, qas = [], []
    for k, t in enumerate(dates):
        sid = f"S{k}"
        arr = base + rng.normal(0, 0.003, base.shape)
        if sid == SHIFTED:
            arr = np.stack([ndimage.shift(b, SHIFT, order=3, mode="nearest") for b in arr])
        y0 = 4 + 6 * k
        arr[:, y0 : y0 + 8, 10 : 22 if sid != SHIFTED else 30] = np.nan  # a cloud
        valid = float(np.isfinite(arr[0]).mean())
        tif, qa = tmp_path / f"{sid}.tif", tmp_path / f"{sid}.qa.json"
        qa_rec = {"scene_id": sid, "time": t.isoformat(), "status": "ok", "valid_fraction": valid}
        write_scene(tif, qa, arr, qa_rec, grid=GRID, bands=BANDS)
        tifs.append(tif)
        qas.append(qa)
    return load_scene_refs(tifs, qas)


@pytest.mark.parametrize("window", [512, 32])
def test_coregistration_check_finds_the_shifted_scene(scenes, monkeypatch, window):
    # 32 < the grid's 48 x 40: the shift is measured on a centred 32 x 32 window
    monkeypatch.setattr(cube_mod, "COREG_WINDOW", window)
    table = coregistration_check(
        scenes, band="nir", max_residual_px=0.5, upsample_factor=20, reference_scenes=5
    ).set_index("scene_id")
    assert table["coreg_flagged"].tolist() == [sid == SHIFTED for sid in table.index]
    # the correction moves the scene back: minus the injected shift (on a
    # grid this small, with a cloud over a sixth of it, to within 0.3 px)
    assert table.loc[SHIFTED, "shift_dy_px"] == pytest.approx(-SHIFT[0], abs=0.3)
    assert table.loc[SHIFTED, "shift_dx_px"] == pytest.approx(-SHIFT[1], abs=0.3)
    assert table.loc[SHIFTED, "coreg_residual_after_px"] < 0.3
    assert table.drop(SHIFTED)["coreg_residual_px"].max() < 0.15


def test_build_cube_composites_fills_and_counts_clear_looks(scenes, tmp_path, monkeypatch):
    monkeypatch.setattr(cube_mod, "FILL_TILE_MIN", 16)  # 16 x 16 tiles of 8 x 8 chunks
    with dask.config.set(scheduler="threads", num_workers=2):
        ds = build_cube(
            scenes,
            grid=GRID,
            times=TIMES,
            source="landsat8",
            bands=BANDS,
            out_path=tmp_path / "cube.zarr",
            smooth_sigma=1.0,
            edge_limit=1,
            chunks=8,
            extra_looks=2,
        )
    assert not (tmp_path / ".cube.zarr.composite").exists()
    assert ds["data"].encoding["chunks"] == (1, 1, 8, 8)
    # reference: per-month median of the member scenes, then the whole-cube gap fill
    stack = np.full((len(TIMES), len(BANDS), GRID.height, GRID.width), np.nan, dtype="float32")
    arrays = {r.scene_id: cube_mod.read_scene(r.tif)[0] for r in scenes}
    for ti, t in enumerate(TIMES):
        members = [arrays[r.scene_id] for r in scenes if r.time.month == t.month]
        if members:
            stack[ti] = cube_mod.composite(np.stack(members), "median")
    expected, was = fill_gaps(stack, smooth_sigma=1.0, edge_limit=1)
    np.testing.assert_allclose(ds["data"].values, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ds["filled"].values, was)
    assert ds["filled"].values[3].mean() > 0.95  # April (no scene) is filled from March
    assert ds.attrs["observations_per_step"] == "[2, 2, 2, 0]"
    clear = np.sum([np.isfinite(a).any(axis=0) for a in arrays.values()], axis=0) / 8
    np.testing.assert_allclose(ds["clear_fraction"].values, clear)
    assert ds.rio.crs.to_epsg() == 32650
