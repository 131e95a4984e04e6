"""Chunked processing gives the unchunked result across chunk edges: the
bicubic warp onto the grid computed tile by tile (by hand and lazily with
dask, from cropped sources, with an affine or a GCP georeferencing), the
masks counted and the Gaussian denoising done tile by tile, a lazy scene
written block by block, the compositing of
co-registration-shifted scenes tile by tile, the gap filling (time
interpolation, then a Gaussian) tile by tile with a halo (see also
test_cube.py), and the feature stack
(GLCM texture, Horn terrain, seasonal composites) and fusion (noise
estimate, weighted average) computed tile by tile."""

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
import zarr
from affine import Affine
from rasterio.control import GroundControlPoint

from coexplore.chunked import nanmedian
from coexplore.cube import SceneRef, composite, composite_tiles, fill_cube_tiles, fill_gaps
from coexplore.errors import DataError
from coexplore.features.stack import build_feature_stack, quiet_nan_reductions
from coexplore.features.terrain import terrain_features
from coexplore.features.texture import glcm_texture
from coexplore.fusion import estimate_noise_variance, weighted_average
from coexplore.grid import Grid
from coexplore.io.cubes import (
    open_cube,
    read_scene,
    to_dataset,
    write_by_regions,
    write_cube,
    write_scene,
)
from coexplore.preprocess.denoise import gaussian_denoise, gaussian_denoise_tiles
from coexplore.preprocess.geometry import apply_subpixel_shift
from coexplore.preprocess.resample import (
    count_on_grid,
    reproject_mask,
    reproject_to_grid,
    warp_tiles,
)
from coexplore.sensors import Landsat8, Meteo
from coexplore.steps.classical import open_features, step_build_features


def _tiles(grid: Grid, tile: int):
    for r0 in range(0, grid.height, tile):
        for c0 in range(0, grid.width, tile):
            h, w = min(tile, grid.height - r0), min(tile, grid.width - c0)
            sub = Grid(grid.crs, grid.transform @ Affine.translation(c0, r0), w, h)
            yield r0, c0, sub


def test_bicubic_warp_tile_by_tile_equals_whole_grid():
    rng = np.random.default_rng(3)
    # a 30 m source, slightly rotated (as after a GCP fit), with a cloud hole
    src = rng.normal(0.2, 0.05, size=(2, 60, 60)).astype("float32")
    src[:, 20:26, 30:40] = np.nan
    src_tf = Affine(30.0, 0.4, 499900.0, 0.3, -30.0, 4401700.0)
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400200, 501500, 4401600), 10)
    whole = reproject_to_grid(
        src, src_transform=src_tf, src_crs=grid.crs, grid=grid, resampling="cubic"
    )
    tiled = np.full_like(whole, np.nan)
    for r0, c0, sub in _tiles(grid, 37):  # tiles not aligned with the source pixels
        part = reproject_to_grid(
            src, src_transform=src_tf, src_crs=grid.crs, grid=sub, resampling="cubic"
        )
        tiled[:, r0 : r0 + sub.height, c0 : c0 + sub.width] = part
    np.testing.assert_allclose(tiled, whole, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert np.isfinite(whole).mean() > 0.8


def _gcps_10m(shape: tuple[int, int]) -> list[GroundControlPoint]:
    """GCPs of a slightly rotated 10 m image (as a Sentinel-1 GRD's grid)."""
    rows, cols = shape
    return [
        GroundControlPoint(
            row=r, col=c, x=499850 + 9.8 * c + 0.7 * r, y=4401700 - 9.9 * r + 0.5 * c
        )
        for r in np.linspace(0, rows, 5)
        for c in np.linspace(0, cols, 5)
    ]


@pytest.mark.parametrize("georef", ["affine_30m", "gcps_10m"])
def test_warp_tiles_from_cropped_sources_equals_whole_grid(georef):
    rng = np.random.default_rng(8)
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400200, 501500, 4401600), 10)  # 150 x 140
    if georef == "affine_30m":
        src = rng.normal(0.2, 0.05, size=(2, 60, 60)).astype("float32")
        kw = {"src_transform": Affine(30.0, 0.4, 499900.0, 0.3, -30.0, 4401700.0)}
    else:
        src = rng.normal(0.2, 0.05, size=(2, 170, 170)).astype("float32")
        kw = {"gcps": _gcps_10m(src.shape[1:])}
    src[:, 20:26, 30:40] = np.nan
    whole = reproject_to_grid(src, src_crs=grid.crs, grid=grid, **kw)
    with dask.config.set(scheduler="threads", num_workers=2):
        lazy = warp_tiles(src, src_crs=grid.crs, grid=grid, tile=37, **kw)
        assert lazy.chunks[1][:2] == (37, 37) and lazy.chunks[0] == (2,)
        tiled = lazy.compute()
        # the sources are cropped per tile; with GCPs, GDAL refits them, and
        # its warp scale is fixed by the georeferencing (10 m onto 10 m
        # differed by 8e-4 between tile and whole when GDAL took it from
        # each extent)
        np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5, equal_nan=True)
        np.testing.assert_array_equal(np.isnan(tiled), np.isnan(whole))
        assert 0.5 < np.isfinite(whole).mean() < 1.0
        # the validity masks counted tile by tile
        valid = np.isfinite(src[0])
        n = count_on_grid(valid, src_crs=grid.crs, grid=grid, tile=37, **kw)
    assert n == reproject_mask(valid, src_crs=grid.crs, grid=grid, **kw).sum() > 0


def test_gaussian_denoise_tiles_equals_whole_array():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(2, 90, 70)).astype("float32")
    a[:, 30:41, 10:60] = np.nan
    whole = gaussian_denoise(a, 1.5)
    # chunks narrower than the 6-pixel halo too
    for chunk in (32, 5):
        tiled = gaussian_denoise_tiles(da.from_array(a, chunks=(2, chunk, chunk)), 1.5).compute()
        np.testing.assert_array_equal(tiled, whole)
    with pytest.raises(DataError, match="negative"):
        gaussian_denoise_tiles(da.from_array(a), -1.0)


def test_lazy_scene_written_block_by_block_equals_in_memory(tmp_path):
    rng = np.random.default_rng(10)
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400000, 505200, 4403000), 10)  # 300 x 520
    a = rng.normal(size=(2, 300, 520)).astype("float32")
    a[0, :40] = np.nan  # band a only: valid in any band, not in all
    a[:, 100:110] = np.nan
    record = {"status": "ok", "scene_id": "x"}
    n_mem = write_scene(tmp_path / "m.tif", tmp_path / "m.json", a, record, grid=grid, bands="ab")
    lazy = da.from_array(a, chunks=(1, 256, 256))  # band chunks are merged for the counts
    n_lazy = write_scene(tmp_path / "l.tif", None, lazy, record, grid=grid, bands="ab")
    assert n_mem == n_lazy == ((300 - 50) * 520, (300 - 10) * 520)
    with rasterio.open(tmp_path / "m.tif") as m, rasterio.open(tmp_path / "l.tif") as lz:
        np.testing.assert_array_equal(m.read(), lz.read())
        assert lz.descriptions == ("a", "b") and lz.tags()["STATUS"] == "ok"
        assert lz.transform == grid.transform
    assert not (tmp_path / "l.json").exists()


@pytest.mark.parametrize("method", ["median", "mean"])
def test_composite_tiles_with_shifts_equals_whole_grid(tmp_path, monkeypatch, method):
    rng = np.random.default_rng(5)
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500900, 4400700), 10)  # 90 x 70
    bands = ["a", "b"]
    yy, xx = np.mgrid[0 : grid.height, 0 : grid.width]
    refs, shifts = [], {}
    for i in range(5):
        arr = np.stack(
            [np.sin(yy / 7.0 + i) + np.cos(xx / 5.0), np.cos(yy / 4.0) * xx / 90.0]
        ).astype("float32")
        arr += rng.normal(0, 0.05, arr.shape).astype("float32")
        hole = rng.random(grid.shape) < 0.15  # speckled and block gaps
        hole[10 + 8 * i : 30 + 8 * i, 20:50] = True
        arr[:, hole] = np.nan
        tif = tmp_path / f"s{i}.tif"
        write_scene(tif, tmp_path / f"s{i}.json", arr, {"status": "ok"}, grid=grid, bands=bands)
        refs.append(SceneRef(f"s{i}", pd.Timestamp("2021-01-01"), tif, {}))
        if i % 2:
            shifts[f"s{i}"] = (0.6 * i, -1.3)  # up to 2.4 px, as a flagged scene gets
    members = [refs[:3], [], refs[3:]]
    whole = np.full((3, 2) + grid.shape, np.nan, dtype="float32")
    count = np.zeros(grid.shape, dtype=np.int32)
    for ti, step in enumerate(members):
        if not step:
            continue
        stack = []
        for r in step:
            arr = read_scene(r.tif)[0]
            dy, dx = shifts.get(r.scene_id, (0.0, 0.0))
            if dy or dx:
                arr = np.stack([apply_subpixel_shift(b, dy, dx) for b in arr])
            count += np.isfinite(arr).any(axis=0)
            stack.append(arr)
        whole[ti] = composite(np.stack(stack), method)
    # tiles of two 16-pixel chunks, shifts crossing the tile edges
    group = zarr.open_group(tmp_path / "c.zarr", mode="w", zarr_format=2)
    out = group.create_array(
        "data", shape=whole.shape, chunks=(1, 1, 16, 16), dtype="float32", fill_value=np.nan
    )
    tiled_count = np.zeros(grid.shape, dtype=np.int32)
    with dask.config.set(scheduler="threads", num_workers=2):
        n = composite_tiles(
            members, out, tiled_count, bands=bands, shift_map=shifts, method=method, tile=32
        )
    assert n == 9
    np.testing.assert_allclose(out[:], whole, rtol=1e-5, atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(out[:]), np.isnan(whole))
    np.testing.assert_array_equal(tiled_count, count)
    assert np.isfinite(whole[0]).mean() > 0.9 and np.isnan(whole[1]).all()
    # without the halo the tile edges differ: the comparison sees the shift
    monkeypatch.setattr("coexplore.cube.shift_halo", lambda shifts: 0)
    composite_tiles(
        members, out, tiled_count, bands=bands, shift_map=shifts, method=method, tile=32
    )
    assert np.nanmax(np.abs(out[:] - whole)) > 1e-3
    # a scene with other bands is refused
    with pytest.raises(DataError, match="differ from the cube"):
        composite_tiles(
            members, out, tiled_count, bands=["a", "c"], shift_map={}, method=method, tile=32
        )


def test_gap_fill_tiles_into_zarr_match_whole_cube_on_larger_sigma(tmp_path):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 1, 64, 64)).astype("float32")
    a[rng.random(a.shape) < 0.5] = np.nan
    whole, whole_was = fill_gaps(a.copy(), smooth_sigma=3.0, edge_limit=2)
    # tiles of two 8-pixel store chunks; the halo (12 px) spans more than a tile
    group = zarr.open_group(tmp_path / "c.zarr", mode="w", zarr_format=2)
    data = group.create_array("data", shape=a.shape, chunks=(1, 1, 8, 8), dtype="float32")
    filled = group.create_array("filled", shape=a.shape, chunks=(1, 1, 8, 8), dtype=bool)
    with dask.config.set(scheduler="threads", num_workers=2):
        n = fill_cube_tiles(a, data, filled, tile=16, smooth_sigma=3.0, edge_limit=2)
    assert n == 16
    np.testing.assert_allclose(data[:], whole, rtol=1e-6, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(filled[:], whole_was)


# --- feature computation and fusion, chunk by chunk --------------------------

TIMES = pd.date_range("2020-12-01", "2021-12-01", freq="MS")
GRID = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500360, 4400400), 10)  # 40 x 36


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Spatially correlated noise: texture and terrain see real structure."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(rng.normal(size=shape), sigma=(0,) * (len(shape) - 2) + (2.0, 2.0))


def _source_cube(bands: list[str], seed: int, *, offset: float, scale: float) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    shape = (len(TIMES), len(bands), GRID.height, GRID.width)
    season = np.cos(2 * np.pi * TIMES.month.to_numpy() / 12)[:, None, None, None]
    data = offset + scale * (1 + 0.2 * season) * (1.0 + _smooth_field(rng, shape))
    data[rng.random(shape) < 0.05] = np.nan  # leftover gaps
    return to_dataset(data.astype("float32"), grid=GRID, bands=bands, times=TIMES)


def _study_cubes() -> tuple[dict[str, xr.Dataset], dict[str, xr.Dataset]]:
    drone = _source_cube(["red", "green", "blue", "texture"], 3, offset=1.0, scale=0.5)
    drone["data"][:, :, :, GRID.width // 2 :] = np.nan  # flights covered the west only
    cubes = {
        "landsat8": _source_cube(list(Landsat8.bands), 1, offset=0.2, scale=0.1),
        "sentinel1": _source_cube(["vv", "vh"], 2, offset=-12.0, scale=2.0),
        "drone": drone,
        "meteo": _source_cube(list(Meteo.variables), 4, offset=10.0, scale=3.0),
    }
    rng = np.random.default_rng(5)
    dem = 500.0 + 40.0 * _smooth_field(rng, (1, GRID.height, GRID.width))
    return cubes, {"dem": to_dataset(dem.astype("float32"), grid=GRID, bands=["elevation"])}


def test_glcm_texture_in_tiles_equals_whole_image():
    rng = np.random.default_rng(6)
    img = _smooth_field(rng, (1, 45, 38))[0]
    img[10:14, 20:30] = np.nan
    whole_da = xr.DataArray(img, dims=("y", "x"), coords={"y": np.arange(45), "x": np.arange(38)})
    for window, distances in ((7, (1,)), (5, (1, 2))):
        whole = glcm_texture(whole_da, window=window, distances=distances)
        # tiles of 4 x 7 cells are narrower than the window's half-size + 1:
        # the halo then reaches across more than one neighbouring tile
        tiled = glcm_texture(whole_da.chunk({"y": 4, "x": 7}), window=window, distances=distances)
        assert tiled.chunks is not None
        np.testing.assert_allclose(tiled.values, whole.values, rtol=1e-6, atol=1e-9)
        assert np.isfinite(whole.values).mean() > 0.9


def test_glcm_texture_in_tiles_rejects_bad_options_before_computing():
    img = xr.DataArray(np.ones((9, 9)), dims=("y", "x")).chunk(4)
    with pytest.raises(DataError, match="window=4"):
        glcm_texture(img, window=4)
    with pytest.raises(DataError, match="no finite pixel"):
        glcm_texture(img * np.nan)


@pytest.mark.parametrize("north_up", [True, False])
def test_terrain_in_tiles_equals_whole_dem(north_up):
    _, static = _study_cubes()
    dem = static["dem"]["data"].rio.write_crs("EPSG:32650")
    if not north_up:
        dem = dem.isel(y=slice(None, None, -1))
    whole = terrain_features(dem)
    tiled = terrain_features(dem.chunk({"y": 6, "x": 5}))
    assert tiled.chunks is not None
    np.testing.assert_allclose(tiled.values, whole.values, rtol=1e-5, atol=1e-4, equal_nan=True)


def test_nanmedian_in_chunks_is_exact():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 1000, 5001):
        a = rng.normal(size=n)
        a[rng.random(n) < 0.3] = np.nan
        a[0] = 0.25  # at least one finite value
        expected = np.median(a[np.isfinite(a)])
        # few bins and a small gather limit force several narrowing passes
        got = nanmedian(da.from_array(a, chunks=97), bins=4, max_gather=3)
        assert got == expected, n
    ties = np.round(rng.normal(size=(30, 20, 10)), 1)
    assert nanmedian(da.from_array(ties, chunks=(7, 6, 5)), bins=4) == np.median(ties)
    assert np.isnan(nanmedian(np.full((3, 3), np.nan)))
    assert nanmedian(np.array([[np.inf, 1.0], [3.0, -np.inf]])) == 2.0


@pytest.mark.parametrize("robust", [True, False])
def test_noise_variance_in_chunks_equals_whole_cube(robust):
    cube = _study_cubes()[0]["landsat8"]["data"]
    whole = estimate_noise_variance(cube, robust=robust)
    tiled = estimate_noise_variance(cube.chunk({"time": 4, "y": 15, "x": 13}), robust=robust)
    np.testing.assert_allclose(tiled.values, whole.values, rtol=1e-10)


def test_weighted_average_in_chunks_equals_whole_cube():
    cubes, _ = _study_cubes()
    pair = {s: cubes[s]["data"].sel(band=["red", "green", "blue"]) for s in ("landsat8", "drone")}
    whole, w_whole = weighted_average(pair)
    tiled, w_tiled = weighted_average({s: c.chunk({"y": 11, "x": 8}) for s, c in pair.items()})
    assert tiled.chunks is not None
    pd.testing.assert_frame_equal(w_tiled, w_whole, rtol=1e-9)
    np.testing.assert_allclose(tiled.values, whole.values, rtol=1e-5, atol=1e-6)


def test_feature_stack_in_tiles_equals_whole_stack():
    cubes, static = _study_cubes()
    whole = build_feature_stack(cubes, year=2021, static=static)
    tiled = build_feature_stack(
        {s: c.chunk({"time": -1, "band": 1, "y": 15, "x": 13}) for s, c in cubes.items()},
        year=2021,
        static={s: c.chunk({"y": 15, "x": 13}) for s, c in static.items()},
    )
    assert tiled.chunks is not None, "a dask-backed input must give a lazy stack"
    assert list(tiled["feature"].values) == list(whole["feature"].values)
    with quiet_nan_reductions():
        values = tiled.values
    np.testing.assert_allclose(values, whole.values, rtol=1e-5, atol=1e-5, equal_nan=True)
    assert {"texture", "terrain"} <= set(whole["group"].values)


def test_build_features_step_writes_tiles_equal_to_whole_stack(tmp_path, monkeypatch):
    import coexplore.io.cubes as cubes_io

    cubes, static = _study_cubes()
    paths = {}
    for name, ds in {**cubes, **static}.items():
        paths[name] = write_cube(ds, tmp_path / f"{name}.zarr", chunks=10)
    import coexplore.steps.classical as classical

    monkeypatch.setattr(cubes_io, "TILE_MIN", 15)  # 20 x 20 tiles: two stored chunks a side
    monkeypatch.setattr(classical, "FEATURE_TILE", 20)  # four regions written one by one
    tiles = open_cube(paths["landsat8"], chunks="tiles")["data"]
    assert tiles.chunks[:3] == ((len(TIMES),), (1,) * len(Landsat8.bands), (20, 20))
    with dask.config.set(scheduler="threads", num_workers=2):
        step_build_features(
            {s: paths[s] for s in cubes},
            {"dem": paths["dem"]},
            year=2021,
            cfg={},
            out=tmp_path / "stack.zarr",
        )
    written = open_features(tmp_path / "stack.zarr")
    whole = build_feature_stack(cubes, year=2021, static=static)
    np.testing.assert_allclose(written.values, whole.values, rtol=1e-5, atol=1e-5, equal_nan=True)
    for coord in ("feature", "group"):
        np.testing.assert_array_equal(written[coord].values, whole[coord].values)
    assert written.rio.crs.to_epsg() == 32650


def test_write_by_regions_equals_one_write(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(3, 50, 70)).astype("float32")
    ds = xr.Dataset(
        {"data": (("feature", "y", "x"), data), "name": ("feature", ["a", "b", "c"])},
        coords={"y": np.arange(50.0), "x": np.arange(70.0)},
        attrs={"year": 2021},
    ).chunk({"feature": 1, "y": 16, "x": 16})
    n = write_by_regions(ds, tmp_path / "regions.zarr", tile=32)
    assert n == 2 * 3  # 50 rows and 70 columns in 32-cell regions, edges partial
    ds.to_zarr(tmp_path / "one.zarr", mode="w", consolidated=True, zarr_format=2)
    got = xr.open_zarr(tmp_path / "regions.zarr", consolidated=True)
    want = xr.open_zarr(tmp_path / "one.zarr", consolidated=True)
    xr.testing.assert_identical(got.load(), want.load())


def test_write_cube_in_regions_equals_one_write(tmp_path):
    cubes, _ = _study_cubes()
    ds = cubes["landsat8"]
    write_cube(ds, tmp_path / "one.zarr", chunks=10)
    write_cube(ds, tmp_path / "regions.zarr", chunks=10, region=20)
    got, want = open_cube(tmp_path / "regions.zarr"), open_cube(tmp_path / "one.zarr")
    xr.testing.assert_identical(got.load(), want.load())
    assert got["data"].encoding["chunks"] == want["data"].encoding["chunks"]
    with pytest.raises(ValueError, match="multiple of chunks=10"):
        write_cube(ds, tmp_path / "bad.zarr", chunks=10, region=15)
    assert not (tmp_path / "bad.zarr").exists()
