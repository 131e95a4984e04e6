"""Chunked processing gives the unchunked result across chunk edges: the
bicubic warp onto the grid computed tile by tile, and the Gaussian gap-fill
smoothing with a dask halo (see also test_cube.py)."""

import dask.array as da
import numpy as np
from affine import Affine

from coexplore.cube import gap_fill
from coexplore.grid import Grid
from coexplore.preprocess.resample import reproject_to_grid


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


def test_gap_fill_halo_matches_single_chunk_on_larger_sigma():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 1, 64, 64)).astype("float32")
    a[rng.random(a.shape) < 0.5] = np.nan
    one, _ = gap_fill(da.from_array(a, chunks=(-1, 1, 64, 64)), smooth_sigma=3.0, edge_limit=2)
    many, _ = gap_fill(da.from_array(a, chunks=(-1, 1, 10, 17)), smooth_sigma=3.0, edge_limit=2)
    np.testing.assert_allclose(many.compute(), one.compute(), rtol=1e-6, atol=1e-6)
