"""Workflow steps of the spine: a skipped scene is recorded with a warning and
complete (nodata) outputs; a broken input fails with a specific error and
leaves no output."""

import json
import logging

import numpy as np
import pytest
import rasterio

from coexplore.errors import InputError, MetadataError
from coexplore.grid import Grid
from coexplore.steps.spine import step_collect_scene_qa, step_ingest_landsat8

from .test_ingest_landsat8 import CRS, GRID, SCENE_ID, make_scene


def _grid_cfg(grid: Grid) -> dict:
    left, bottom, right, top = grid.bounds
    return {"crs": grid.crs, "resolution": grid.resolution, "extent": [left, bottom, right, top]}


def test_ingest_step_writes_scene_and_qa(tmp_path):
    scene = make_scene(tmp_path / "raw" / "landsat8")
    tif, qa = tmp_path / "out" / f"{SCENE_ID}.tif", tmp_path / "out" / f"{SCENE_ID}.qa.json"
    rec = step_ingest_landsat8(scene.folder, _grid_cfg(GRID), {}, tif, qa)
    assert rec["status"] == "ok" and rec["gcp_rmse_px"] < 0.5
    with rasterio.open(tif) as src:
        assert src.count == 8 and src.descriptions[4] == "nir"
        assert src.tags()["STATUS"] == "ok"
    assert json.loads(qa.read_text())["scene_id"] == SCENE_ID


@pytest.mark.parametrize("case", ["all_cloud", "outside"])
def test_skipped_scene_is_recorded_with_warning(tmp_path, caplog, case):
    scene = make_scene(
        tmp_path / "raw" / "landsat8", cloud="all" if case == "all_cloud" else "block"
    )
    grid = (
        GRID
        if case == "all_cloud"
        else Grid.from_bounds(CRS, (600000, 4400000, 600600, 4400600), 10)
    )
    tif, qa = tmp_path / "s.tif", tmp_path / "s.qa.json"
    with caplog.at_level(logging.WARNING):
        rec = step_ingest_landsat8(scene.folder, _grid_cfg(grid), {}, tif, qa)
    assert rec["status"] == "skipped"
    assert "skipped" in caplog.text and SCENE_ID in caplog.text
    record = json.loads(qa.read_text())
    assert record["status"] == "skipped" and record["reason"]
    with rasterio.open(tif) as src:
        assert src.tags()["STATUS"] == "skipped"
        assert np.isnan(src.read()).all()


def test_broken_scene_fails_and_leaves_no_output(tmp_path):
    scene = make_scene(tmp_path / "raw" / "landsat8")
    b4 = next(scene.folder.glob("*_B4.TIF"))
    data = b4.read_bytes()
    b4.unlink()
    b4.write_bytes(data[: len(data) // 3])  # truncated download
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"_B4\.TIF"):
        step_ingest_landsat8(scene.folder, _grid_cfg(GRID), {}, out / "s.tif", out / "s.qa.json")
    assert not out.exists() or list(out.iterdir()) == []


def test_mtl_missing_key_fails_and_leaves_no_output(tmp_path):
    scene = make_scene(tmp_path / "raw" / "landsat8")
    mtl = next(scene.folder.glob("*_MTL.txt"))
    mtl.write_text(
        "\n".join(ln for ln in mtl.read_text().splitlines() if "SUN_ELEVATION" not in ln)
    )
    out = tmp_path / "out"
    with pytest.raises(MetadataError, match="SUN_ELEVATION"):
        step_ingest_landsat8(scene.folder, _grid_cfg(GRID), {}, out / "s.tif", out / "s.qa.json")
    assert not out.exists() or list(out.iterdir()) == []


def test_collect_scene_qa(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("source,scene_id,status\nlandsat8,x,ok\n")
    b.write_text("source,scene_id,status,reason\nsentinel1,y,skipped,outside\n")
    table = step_collect_scene_qa([a, b], tmp_path / "qa" / "scenes.csv")
    assert list(table.scene_id) == ["x", "y"] and (tmp_path / "qa" / "scenes.csv").exists()


def test_lazy_ingest_counted_while_written_and_empty_grid_skipped(tmp_path, caplog):
    import dask.array as da

    from coexplore.ingest import IngestResult
    from coexplore.preprocess.resample import grid_dataarray
    from coexplore.steps.spine import _write_result_or_skip

    def lazy(values: np.ndarray) -> IngestResult:
        data = grid_dataarray(da.from_array(values, chunks=(2, 16, 16)), GRID, ("vv", "vh"))
        return IngestResult(data=data.assign_attrs(scene_id="S1X"), qa={"time": "2021-01-01"})

    half = np.ones((2, *GRID.shape), dtype="float32")
    half[:, : GRID.height // 2] = np.nan
    tif, qa = tmp_path / "a.tif", tmp_path / "a.qa.json"
    kw = dict(source="sentinel1", scene_id="S1X", grid=GRID, tif=tif, qa=qa)
    rec = _write_result_or_skip(lambda: lazy(half), **kw)
    assert rec["status"] == "ok" and rec["valid_fraction"] == 0.5
    assert json.loads(qa.read_text())["valid_fraction"] == 0.5
    with rasterio.open(tif) as src:
        np.testing.assert_array_equal(src.read(), half)
    # a grid with no valid pixel is a skipped scene, not an empty "ok" one
    empty = np.full_like(half, np.nan)
    with caplog.at_level(logging.WARNING):
        rec = _write_result_or_skip(lambda: lazy(empty), **kw)
    assert rec["status"] == "skipped" and "no image data" in rec["reason"]
    assert json.loads(qa.read_text())["status"] == "skipped"
    with rasterio.open(tif) as src:
        assert src.tags()["STATUS"] == "skipped" and np.isnan(src.read()).all()
