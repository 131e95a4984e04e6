"""Reprojection onto the common grid (GDAL bicubic) with separate mask resampling."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.warp import transform as warp_transform

from coexplore.errors import DataError, GeometryError
from coexplore.grid import Grid
from coexplore.preprocess.resample import (
    footprint_bounds,
    grid_dataarray,
    grid_window,
    reproject_mask,
    reproject_to_grid,
)

GRID = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500300, 4400300), 10)
SRC = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4400300.0)


def source_pixel(grid: Grid, transform: Affine) -> tuple[np.ndarray, np.ndarray]:
    """Fractional source (col, row) of every grid pixel centre (pixel-centre convention)."""
    xs, ys = np.meshgrid(grid.x_coords(), grid.y_coords())
    inv = ~transform
    col = inv.a * xs + inv.b * ys + inv.c - 0.5
    row = inv.d * xs + inv.e * ys + inv.f - 0.5
    return col, row


def test_cubic_reproduces_a_linear_field():
    yy, xx = np.mgrid[0:10, 0:10]
    field = (3.0 * xx + 2.0 * yy + 7.0).astype(np.float32)
    out = reproject_to_grid(field, src_transform=SRC, src_crs="EPSG:32650", grid=GRID)
    col, row = source_pixel(GRID, SRC)
    expected = 3.0 * col + 2.0 * row + 7.0
    inner = (slice(3, -3), slice(3, -3))
    np.testing.assert_allclose(out[inner], expected[inner], atol=1e-4)
    assert out.dtype == np.float32 and out.shape == GRID.shape


def test_rotated_source_transform():
    rotated = SRC @ Affine.rotation(0.3) @ Affine.translation(0.4, -0.2)
    yy, xx = np.mgrid[0:12, 0:12]
    field = (1.5 * xx - 0.5 * yy).astype(np.float32)
    out = reproject_to_grid(
        field[None], src_transform=rotated, src_crs="EPSG:32650", grid=GRID, resampling="bilinear"
    )
    col, row = source_pixel(GRID, rotated)
    # between source pixel centres (GDAL clamps, not extrapolates, at the edges)
    inside = (col >= 0) & (col <= 11) & (row >= 0) & (row <= 11)
    assert inside.mean() > 0.5 and np.isfinite(out[0][inside]).all()
    np.testing.assert_allclose(out[0][inside], (1.5 * col - 0.5 * row)[inside], atol=1e-3)


def test_cloud_values_do_not_leak_into_clear_pixels():
    data = np.full((2, 10, 10), 0.1, dtype=np.float32)
    data[:, 3:6, 3:6] = np.nan  # cloud
    data[1, 8, 8] = np.nan  # an extra gap only in band 1
    out = reproject_to_grid(data, src_transform=SRC, src_crs="EPSG:32650", grid=GRID)
    # the cloud keeps exactly its footprint (3x3 source pixels = 9x9 grid pixels)
    assert np.isnan(out[0]).sum() == 81
    assert np.isnan(out[1]).sum() == 81 + 9
    np.testing.assert_allclose(out[np.isfinite(out)], 0.1, rtol=1e-6)


def test_src_nodata_and_average_mask():
    data = np.full((10, 10), 5.0, dtype=np.float32)
    data[0, :] = -9999
    out = reproject_to_grid(
        data, src_transform=SRC, src_crs="EPSG:32650", grid=GRID, src_nodata=-9999
    )
    assert np.isnan(out[:3]).all() and np.isfinite(out[3:]).all()
    coarse = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500300, 4400300), 60)
    valid = np.ones((10, 10), bool)
    valid[:, :1] = False  # 1 of each 2 source columns in the first coarse column
    frac = reproject_mask(
        valid,
        src_transform=SRC,
        src_crs="EPSG:32650",
        grid=coarse,
        resampling="average",
        threshold=0.6,
    )
    assert not frac[:, 0].any() and frac[:, 1:].all()


def test_gcp_georeferencing_matches_the_transform():
    yy, xx = np.mgrid[0:10, 0:10]
    field = (xx + 10.0 * yy).astype(np.float32)
    gcps = []
    for r in (0, 5, 10):
        for c in (0, 5, 10):
            x, y = SRC @ (c, r)
            lon, lat = warp_transform("EPSG:32650", "EPSG:4326", [x], [y])
            gcps.append(GroundControlPoint(row=r, col=c, x=lon[0], y=lat[0]))
    by_gcp = reproject_to_grid(field, src_crs="EPSG:4326", gcps=gcps, grid=GRID)
    by_tf = reproject_to_grid(field, src_transform=SRC, src_crs="EPSG:32650", grid=GRID)
    ok = np.isfinite(by_gcp) & np.isfinite(by_tf)
    assert ok[2:-2, 2:-2].all()
    np.testing.assert_allclose(by_gcp[ok], by_tf[ok], atol=0.05)


def test_outside_source_is_nan_and_footprint_bounds():
    far = Affine(30.0, 0.0, 600000.0, 0.0, -30.0, 4400300.0)
    out = reproject_to_grid(np.ones((1, 5, 5)), src_transform=far, src_crs="EPSG:32650", grid=GRID)
    assert np.isnan(out).all()
    b = footprint_bounds((5, 5), src_crs="EPSG:32650", dst_crs="EPSG:32650", src_transform=far)
    assert b == pytest.approx((600000.0, 4400150.0, 600150.0, 4400300.0))
    assert not GRID.contains(b)


def test_grid_window_known_answers():
    # a 30 m image whose pixel (0, 0) sits 300 m west and 300 m north of the grid
    src = Affine(30.0, 0.0, 499700.0, 0.0, -30.0, 4400600.0)
    w = grid_window(GRID, (40, 40), src_crs="EPSG:32650", src_transform=src)
    assert (w.col_off, w.row_off, w.width, w.height) == (10, 10, 10, 10)
    w = grid_window(GRID, (40, 40), src_crs="EPSG:32650", src_transform=src, margin=3)
    assert (w.col_off, w.row_off, w.width, w.height) == (7, 7, 16, 16)
    # clipped to the image
    w = grid_window(GRID, (15, 15), src_crs="EPSG:32650", src_transform=src, margin=3)
    assert (w.col_off, w.row_off, w.width, w.height) == (7, 7, 8, 8)
    far = Affine(30.0, 0.0, 600000.0, 0.0, -30.0, 4400600.0)
    assert grid_window(GRID, (40, 40), src_crs="EPSG:32650", src_transform=far) is None
    # the same image georeferenced by GCPs in lon/lat
    gcps = []
    for r in (0, 20, 40):
        for c in (0, 20, 40):
            x, y = src @ (c, r)
            lon, lat = warp_transform("EPSG:32650", "EPSG:4326", [x], [y])
            gcps.append(GroundControlPoint(row=r, col=c, x=lon[0], y=lat[0]))
    w = grid_window(GRID, (40, 40), src_crs="EPSG:4326", gcps=gcps)
    # the GCP polynomial is not exactly affine in lon/lat: within one pixel
    assert 9 <= w.col_off <= 10 and 9 <= w.row_off <= 10
    assert 20 <= w.col_off + w.width <= 21 and 20 <= w.row_off + w.height <= 21


def test_errors():
    with pytest.raises(GeometryError, match="give exactly one of src_transform and gcps"):
        reproject_to_grid(np.ones((4, 4)), src_crs="EPSG:32650", grid=GRID)
    with pytest.raises(DataError, match="unknown resampling 'bicubic'"):
        reproject_to_grid(
            np.ones((4, 4)),
            src_transform=SRC,
            src_crs="EPSG:32650",
            grid=GRID,
            resampling="bicubic",
        )
    with pytest.raises(DataError, match=r"got shape \(4,\)"):
        reproject_to_grid(np.ones(4), src_transform=SRC, src_crs="EPSG:32650", grid=GRID)
    with pytest.raises(DataError, match="mask resampling 'mode' unknown"):
        reproject_mask(
            np.ones((4, 4), bool),
            src_transform=SRC,
            src_crs="EPSG:32650",
            grid=GRID,
            resampling="mode",
        )


def test_grid_dataarray():
    da = grid_dataarray(np.zeros((2, *GRID.shape)), GRID, ["a", "b"], attrs={"source": "s"})
    assert da.dims == ("band", "y", "x") and list(da.band.values) == ["a", "b"]
    np.testing.assert_allclose(da.x.values, GRID.x_coords())
    assert da.rio.crs.to_epsg() == 32650 and da.attrs["source"] == "s"
    assert da.dtype == np.float32
    with pytest.raises(DataError, match="does not match"):
        grid_dataarray(np.zeros((3, *GRID.shape)), GRID, ["a", "b"])
