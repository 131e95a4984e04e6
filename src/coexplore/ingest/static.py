"""Ingest a static layer (DEM, geology) onto the common grid."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import ConfigError, InputError
from ..grid import Grid
from ..io.rasters import read_raster
from ..preprocess.resample import footprint_bounds, grid_dataarray, reproject_to_grid
from ..sensors import STATIC_LAYERS, Static

log = logging.getLogger(__name__)

#: GDAL kernel per layer: bicubic for the continuous DEM, nearest for the
#: categorical lithology codes and the fault flag (no invented classes).
RESAMPLING: dict[str, str] = {"dem": "cubic", "geology": "nearest"}
UNITS: dict[str, str] = {"dem": "m", "geology": "class code"}


def ingest_static(path: str | Path, grid: Grid, *, layer: str) -> xr.DataArray:
    """Resample a static raster onto the grid.

    Parameters
    ----------
    path
        GeoTIFF with one band (``dem``: elevation) or two (``geology``:
        lithology code, fault flag); any CRS GDAL knows (compound CRSs such as
        EPSG:9707 are reduced to their horizontal part).
    grid
        The common grid.
    layer
        ``"dem"`` or ``"geology"``.

    Returns
    -------
    xarray.DataArray
        (band, y, x) float32, band names ``sensors.Static.<layer>``, NaN outside
        the source and at its nodata; attrs ``source``, ``units``, ``resampling``.

    Raises
    ------
    ConfigError
        On an unknown layer.
    InputError
        If the file is missing, unreadable, has no CRS, the wrong band count,
        or does not overlap the grid.
    """
    if layer not in STATIC_LAYERS:
        raise ConfigError(f"static layer {layer!r} unknown; use one of {STATIC_LAYERS}")
    names: tuple[str, ...] = getattr(Static, layer)
    data, profile = read_raster(path)
    if profile["count"] != len(names):
        raise InputError(
            path,
            f"{layer} raster has {profile['count']} band(s), expected {len(names)} ({', '.join(names)})",
            f"write the {layer} layer with bands {', '.join(names)}",
        )
    if profile["crs"] is None:
        raise InputError(path, "raster has no CRS", "assign the CRS (e.g. gdal_edit.py -a_srs)")
    bounds = footprint_bounds(
        data.shape[1:],
        src_crs=profile["crs"],
        dst_crs=grid.crs,
        src_transform=profile["transform"],
    )
    if not grid.contains(bounds):
        raise InputError(
            path,
            f"{layer} footprint {bounds} does not overlap the grid {grid.bounds}",
            "provide a layer covering the study area",
        )
    out = reproject_to_grid(
        data.astype(np.float32),
        src_transform=profile["transform"],
        src_crs=profile["crs"],
        grid=grid,
        resampling=RESAMPLING[layer],
        src_nodata=profile["nodata"],
    )
    coverage = float(np.isfinite(out).all(axis=0).mean())
    if coverage < 1.0:
        log.warning("%s: %s covers %.1f%% of the grid", path, layer, 100 * coverage)
    return grid_dataarray(
        out,
        grid,
        names,
        attrs={"source": layer, "units": UNITS[layer], "resampling": RESAMPLING[layer]},
    )
