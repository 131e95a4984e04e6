"""Drone orthomosaic -> the common 10 m grid.

A flight at ~0.1 m is aggregated by area: every 10 m cell gets the mean of
each colour over the valid mosaic pixels inside it and a texture value, the
standard deviation of brightness ``(red + green + blue) / 3`` within the cell.
Both come from GDAL's area-weighted ``average`` resampling
(:func:`rasterio.warp.reproject`) of five planes, ``m R``, ``m G``, ``m B``,
``m L^2`` and ``m`` (``m`` the validity mask, ``L`` the brightness), so that

* coverage ``c = <m>`` is the valid share of the cell,
* the colour means are ``<m R> / c`` (only valid pixels count),
* ``var(L) = <m L^2> / c - (<L>)^2`` with ``<L>`` the mean of the colour means.

Cells with coverage below ``min_coverage`` (50 % by default) are NaN.

Only the part of the grid around the flight is aggregated; the scene on the
whole grid is a lazy array that is NaN elsewhere, so a 100 m flight costs
the same on a 1 km and on a 100 km grid.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from ..errors import ConfigError, InputError, SceneSkipped
from ..grid import Grid
from ..io.drone import Ortho, read_orthomosaic
from ..preprocess.resample import embed_lazily
from ..sensors import Drone
from . import INGEST_TILE, IngestResult

SOURCE = "drone"


def _cell_planes(ortho: Ortho, grid: Grid) -> tuple[np.ndarray, Affine]:
    """The five planes to average, cropped to the grid and padded with zeros.

    The pad matters: GDAL averages only over source pixels that exist, so a
    grid cell hanging over the mosaic's edge would look fully covered. With a
    border of ``m = 0`` pixels wider than one grid cell the missing part
    counts as uncovered and ``<m>`` is the true coverage.
    """
    height, width = ortho.shape
    src_res = min(abs(ortho.transform.a), abs(ortho.transform.e))
    pad = math.ceil(1.5 * grid.resolution / src_res) + 2
    # The grid's extent in mosaic pixel coordinates bounds the part worth warping.
    gl, gb, gr, gt = transform_bounds(grid.rio_crs, ortho.crs, *grid.bounds, densify_pts=21)
    inv = ~ortho.transform
    cols, rows = zip(*(inv @ (x, y) for x in (gl, gr) for y in (gb, gt)), strict=True)
    r0 = max(math.floor(min(rows)) - pad, -pad)
    r1 = min(math.ceil(max(rows)) + pad, height + pad)
    c0 = max(math.floor(min(cols)) - pad, -pad)
    c1 = min(math.ceil(max(cols)) + pad, width + pad)
    ir0, ir1 = max(r0, 0), min(r1, height)
    ic0, ic1 = max(c0, 0), min(c1, width)
    planes = np.zeros((5, r1 - r0, c1 - c0), dtype=np.float32)
    if ir1 > ir0 and ic1 > ic0:
        rgb = ortho.rgb[:, ir0:ir1, ic0:ic1]  # already 0 outside the footprint
        inner = (slice(ir0 - r0, ir1 - r0), slice(ic0 - c0, ic1 - c0))
        planes[(slice(0, 3), *inner)] = rgb
        brightness = rgb.sum(axis=0) / np.float32(3.0)
        planes[(3, *inner)] = brightness * brightness
        planes[(4, *inner)] = ortho.valid[ir0:ir1, ic0:ic1]
    return planes, ortho.transform @ Affine.translation(c0, r0)


def aggregate_ortho(
    ortho: Ortho, grid: Grid, *, min_coverage: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted colour means and brightness texture of a mosaic on a grid.

    Parameters
    ----------
    ortho
        The mosaic (any projected CRS; reprojected to the grid's if different).
    grid
        Target grid.
    min_coverage
        Cells whose valid share is below this are NaN (0 < min_coverage <= 1).

    Returns
    -------
    data : numpy.ndarray
        float32 (4, height, width): red, green, blue means (0..1) and the
        brightness standard deviation, NaN where coverage is too low.
    coverage : numpy.ndarray
        float32 (height, width) valid share of each cell (0..1).

    Raises
    ------
    ConfigError
        If ``min_coverage`` is not in (0, 1].
    """
    if not 0.0 < min_coverage <= 1.0:
        raise ConfigError(
            f"drone min_coverage {min_coverage!r} must be in (0, 1]; use e.g. 0.5 (half a cell)"
        )
    planes, src_transform = _cell_planes(ortho, grid)
    # float64 destination: GDAL accumulates in the wider type, which keeps
    # <L^2> - <L>^2 accurate for smooth cells.
    means = np.zeros((5, grid.height, grid.width), dtype=np.float64)
    reproject(
        source=planes,
        destination=means,
        src_transform=src_transform,
        src_crs=ortho.crs,
        dst_transform=grid.transform,
        dst_crs=grid.rio_crs,
        src_nodata=None,
        dst_nodata=None,
        resampling=Resampling.average,
    )
    coverage = np.clip(means[4], 0.0, 1.0)
    ok = coverage >= min_coverage - 1e-9
    out = np.full((4, grid.height, grid.width), np.nan, dtype=np.float64)
    safe = np.where(ok, coverage, 1.0)
    colour = means[:3] / safe
    mean_brightness = colour.mean(axis=0)
    variance = np.maximum(means[3] / safe - mean_brightness**2, 0.0)
    out[:3] = np.where(ok, colour, np.nan)
    out[3] = np.where(ok, np.sqrt(variance), np.nan)
    return out.astype(np.float32), coverage.astype(np.float32)


def _flight_date(ortho: Ortho, date: dt.date | str | None) -> dt.date:
    if date is not None:
        try:
            return dt.date.fromisoformat(date) if isinstance(date, str) else date
        except ValueError as exc:
            raise ConfigError(
                f"drone date {date!r} is not an ISO date; give it as YYYY-MM-DD"
            ) from exc
    if ortho.date is None:
        raise InputError(
            ortho.path,
            "no acquisition date in the file name or tags",
            "name the file <flight>_YYYYMMDD.tif (e.g. UAV_20230320.tif) or set an "
            "ACQUISITION_DATE=YYYY-MM-DD tag",
        )
    return ortho.date


def _flight_subgrid(
    flight_bounds: tuple[float, float, float, float], grid: Grid
) -> tuple[int, int, Grid]:
    """The grid cells under the flight's extent plus two on each side, as
    (row, col, subgrid): cells beyond have no flight pixel, hence coverage 0."""
    left, bottom, right, top = flight_bounds
    inv = ~grid.transform
    cols, rows = zip(*(inv @ (x, y) for x in (left, right) for y in (bottom, top)), strict=True)
    r0 = max(math.floor(min(rows)) - 2, 0)
    c0 = max(math.floor(min(cols)) - 2, 0)
    r1 = min(math.ceil(max(rows)) + 2, grid.height)
    c1 = min(math.ceil(max(cols)) + 2, grid.width)
    return r0, c0, grid.subgrid(r0, c0, r1 - r0, c1 - c0)


def ingest_drone(
    path: str | Path,
    grid: Grid,
    *,
    date: dt.date | str | None = None,
    min_coverage: float = 0.5,
) -> IngestResult:
    """Aggregate one drone orthomosaic onto the grid.

    Parameters
    ----------
    path
        ``raw/drone/<flight_id>.tif`` (see :func:`coexplore.io.drone.read_orthomosaic`).
    grid
        The common grid; the mosaic is reprojected to its CRS if needed.
    date
        Acquisition date overriding the one in the file name or tags.
    min_coverage
        Minimum valid share of a cell (default half a cell).

    Returns
    -------
    IngestResult
        ``data`` (band, y, x) float32 with bands ``sensors.Drone.bands``
        (red, green, blue in 0..1; texture = brightness standard deviation),
        NaN outside the flight, lazy (dask) away from it; ``qa`` with
        coverage figures.

    Raises
    ------
    InputError
        If the file is unreadable, malformed (see ``read_orthomosaic``) or
        has no date and none is given.
    SceneSkipped
        If the flight does not overlap the grid or covers no cell by at
        least ``min_coverage``.
    ConfigError
        If ``min_coverage`` or ``date`` is invalid.
    """
    ortho = read_orthomosaic(path)
    when = _flight_date(ortho, date)
    flight_bounds = transform_bounds(ortho.crs, grid.rio_crs, *ortho.bounds, densify_pts=21)
    if not grid.contains(flight_bounds):
        raise SceneSkipped(
            path,
            f"flight extent {tuple(round(v, 1) for v in flight_bounds)} does not overlap the "
            f"grid {grid.bounds} ({grid.crs})",
        )
    row, col, part = _flight_subgrid(flight_bounds, grid)
    data, coverage = aggregate_ortho(ortho, part, min_coverage=min_coverage)
    valid = np.isfinite(data[0])
    if not valid.any():
        raise SceneSkipped(
            path, f"no grid cell is covered by at least {min_coverage:.0%} of valid flight pixels"
        )
    time = when.isoformat()
    attrs = {"source": SOURCE, "scene_id": ortho.flight_id, "time": time}
    on_grid = embed_lazily(data, row=row, col=col, grid=grid, tile=INGEST_TILE)
    arr = xr.DataArray(
        on_grid,
        dims=("band", "y", "x"),
        coords={"band": list(Drone.bands), "y": grid.y_coords(), "x": grid.x_coords()},
        attrs=attrs,
    ).rio.write_crs(grid.crs)
    qa = {
        **attrs,
        "status": "ok",
        "valid_fraction": float(valid.sum() / (grid.width * grid.height)),
        "valid_cells": int(valid.sum()),
        "partial_cells": int(((coverage > 0) & ~valid).sum()),
        "flight_valid_fraction": float(ortho.valid.mean()),
        "flight_resolution_m": float(abs(ortho.transform.a)),
        "reprojected": bool(ortho.crs != grid.rio_crs),
        "min_coverage": float(min_coverage),
    }
    return IngestResult(data=arr, qa=qa)
