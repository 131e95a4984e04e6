import numpy as np
import pandas as pd
import pytest

from coexplore.cube import composite, fill_cube_tiles, fill_gaps, fill_time_linear, nan_gaussian
from coexplore.errors import DataError, InputError
from coexplore.grid import Grid
from coexplore.io.atomic import atomic_path
from coexplore.io.cubes import open_cube, to_dataset, write_cube


def test_fill_time_linear_known_answer():
    s = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    out, was = fill_time_linear(s[:, None], edge_limit=2)
    expect = [1, 1, 2, 3, 4, 4, 4, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(out[:, 0], expect)
    assert was[:, 0].tolist() == [True, False, True, True, False, True, True, False, False, False]


def test_fill_time_linear_matches_np_interp_per_pixel():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 5, 7)).astype("float32")
    a[rng.random(a.shape) < 0.4] = np.nan
    a[0] = 1.0
    a[-1] = 2.0
    out, _ = fill_time_linear(a, edge_limit=0)
    t = np.arange(30)
    for i in range(5):
        for j in range(7):
            v = np.isfinite(a[:, i, j])
            np.testing.assert_allclose(out[:, i, j], np.interp(t, t[v], a[v, i, j]), atol=1e-5)


def _tiles_filled(a: np.ndarray, tile: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    vals, was = np.full(a.shape, -99.0, dtype="float32"), np.zeros(a.shape, dtype=bool)
    fill_cube_tiles(a, vals, was, tile=tile, **kw)
    return vals, was


def test_gap_fill_tile_by_tile_equals_whole_cube():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(12, 2, 40, 40)).astype("float32")
    a[rng.random(a.shape) < 0.3] = np.nan
    ref_v, ref_m = fill_gaps(a.copy(), smooth_sigma=1.5, edge_limit=3)
    for tile in (40, 13, 9):
        chk_v, chk_m = _tiles_filled(a, tile, smooth_sigma=1.5, edge_limit=3)
        np.testing.assert_allclose(chk_v, ref_v, rtol=1e-6, atol=1e-6, equal_nan=True)
        assert (chk_m == ref_m).all()
    # observed values are never changed, filled ones are smoothed
    obs = np.isfinite(a)
    np.testing.assert_array_equal(ref_v[obs], a[obs])
    assert ref_m[~obs].mean() > 0.9
    # without filling the values are copied
    plain_v, plain_m = _tiles_filled(a, 13, fill=False)
    np.testing.assert_array_equal(plain_v, a)
    assert not plain_m.any()


def test_nan_gaussian_constant_field_with_holes():
    f = np.full((20, 20), 3.0)
    f[5:8, 5:8] = np.nan
    g = nan_gaussian(f, 2.0)
    np.testing.assert_allclose(g, 3.0)


def test_composite_median_and_errors():
    st = np.array([[[1.0]], [[np.nan]], [[5.0]], [[3.0]]])
    assert composite(st, "median")[0, 0] == 3.0
    assert composite(st, "mean")[0, 0] == 3.0
    with pytest.raises(DataError, match="unknown composite"):
        composite(st, "max")


def test_cube_roundtrip_with_crs(tmp_path):
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500200, 4400100), 10)
    times = pd.date_range("2021-01-01", periods=3, freq="MS")
    data = np.arange(3 * 2 * 10 * 20, dtype="float32").reshape(3, 2, 10, 20)
    ds = to_dataset(
        data, grid=grid, bands=["a", "b"], times=times, attrs={"source": "x", "scenes": [1, 2]}
    )
    write_cube(ds, tmp_path / "c.zarr", chunks=16)
    back = open_cube(tmp_path / "c.zarr")
    np.testing.assert_array_equal(back["data"].values, data)
    assert back.rio.crs.to_epsg() == 32650
    assert back.rio.transform() == grid.transform
    assert list(back["band"].values) == ["a", "b"]


def test_open_cube_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_cube(tmp_path / "missing.zarr")
    (tmp_path / "broken.zarr").mkdir()
    with pytest.raises(InputError, match="broken.zarr"):
        open_cube(tmp_path / "broken.zarr")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.zarr"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "part").write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "ok").write_text("done")
    assert (target / "ok").read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]


@pytest.mark.parametrize("n", [1, 2, 3, 6])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_composite_median_equals_nanmedian(n, dtype):
    rng = np.random.default_rng(n)
    st = rng.normal(size=(n, 30, 20)).astype(dtype)
    st[rng.random(st.shape) < 0.4] = np.nan
    st[:, 0, 0] = np.nan  # never observed
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmedian(st, axis=0)
    got = composite(st, "median")
    assert got.dtype == st.dtype
    np.testing.assert_array_equal(got, expected)
