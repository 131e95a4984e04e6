"""Static layers (DEM, geology at 30 m) and the ground truth (land use per year, ore zone at 10 m).

The static layers cover the study area plus the Landsat ``margin_m`` on a
30 m grid whose cells are exact 3 x 3 blocks of the 10 m state: the DEM is
the block mean of the pre-mining terrain, the lithology the block's centre
cell and the fault flag set where a fault crosses the block.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from affine import Affine

from .. import layout
from ..io.rasters import write_geotiff
from ..sensors import LandUse, Static
from .state import LandState

STATIC_FACTOR = 3
LITHOLOGY_COLOURS: dict[int, tuple[int, int, int]] = {
    1: (239, 138, 98),  # granite
    2: (237, 201, 120),  # sandstone
    3: (166, 206, 227),  # limestone
    4: (120, 120, 160),  # schist
    5: (250, 240, 200),  # alluvium
}


def static_grid(state: LandState) -> tuple[Affine, int, int, int, int]:
    """30 m grid of the static layers and its offset in the extended 10 m grid.

    Parameters
    ----------
    state
        The hidden state.

    Returns
    -------
    (transform, width, height, row0, col0)
        ``row0, col0``: upper-left 10 m cell of the first 30 m cell in the extended grid.
    """
    res = state.grid.resolution
    margin = math.ceil(state.settings.landsat8.margin_m / res) * res
    left, bottom, right, top = state.grid.bounds
    size = res * STATIC_FACTOR
    width = math.ceil((right - left + 2 * margin) / size)
    height = math.ceil((top - bottom + 2 * margin) / size)
    off = int(round((state.margin_m - margin) / res))
    transform = Affine(size, 0.0, left - margin, 0.0, -size, top + margin)
    return transform, width, height, off, off


def _blocks(state: LandState, array: np.ndarray) -> np.ndarray:
    _, width, height, row0, col0 = static_grid(state)
    k = STATIC_FACTOR
    sub = array[row0 : row0 + height * k, col0 : col0 + width * k]
    return sub.reshape(height, k, width, k)


def dem_30m(state: LandState) -> np.ndarray:
    """The DEM on the static grid.

    Parameters
    ----------
    state
        The hidden state.

    Returns
    -------
    numpy.ndarray
        float32 block-mean pre-mining elevation (metres).
    """
    return _blocks(state, state.elevation).mean(axis=(1, 3)).astype(np.float32)


def geology_30m(state: LandState) -> np.ndarray:
    """The geology on the static grid.

    Parameters
    ----------
    state
        The hidden state.

    Returns
    -------
    numpy.ndarray
        uint8 (2, rows, cols): lithology code of the block centre, fault flag 0/1.
    """
    litho = _blocks(state, state.lithology)[:, 1, :, 1]
    fault = _blocks(state, state.fault).any(axis=(1, 3))
    return np.stack([litho, fault]).astype(np.uint8)


def write_static(state: LandState, raw_dir: Path | str) -> list[Path]:
    """Write ``static/dem.tif`` and ``static/geology.tif`` (COG, atomic).

    Parameters
    ----------
    state
        The hidden state.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    list of pathlib.Path
        The two files.
    """
    transform, *_ = static_grid(state)
    crs = state.grid.crs
    dem = write_geotiff(
        layout.static_path(raw_dir, "dem"),
        dem_30m(state),
        transform=transform,
        crs=crs,
        band_names=list(Static.dem),
        units="m",
        tags={"SOURCE": "coexplore synthetic study area (pre-mining terrain)"},
    )
    geology = write_geotiff(
        layout.static_path(raw_dir, "geology"),
        geology_30m(state),
        transform=transform,
        crs=crs,
        band_names=list(Static.geology),
        colormap=LITHOLOGY_COLOURS,
        category_names=dict(Static.lithology),
        tags={"SOURCE": "coexplore synthetic study area"},
    )
    return [dem, geology]


def write_truth(state: LandState, raw_dir: Path | str) -> list[Path]:
    """Write ``truth/landuse_<year>.tif`` for every study year and ``truth/ore_zone.tif``.

    Land use: uint8 codes 1..6 (0 nodata) with the colour table and class
    names of ``sensors.LandUse``; ore zone: uint8 0/1. Both on the 10 m grid.

    Parameters
    ----------
    state
        The hidden state.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    grid = state.grid
    paths = []
    for year in state.years:
        paths.append(
            write_geotiff(
                layout.truth_landuse_path(raw_dir, year),
                state.landuse(year),
                transform=grid.transform,
                crs=grid.crs,
                nodata=LandUse.nodata,
                band_names=["landuse"],
                colormap=dict(LandUse.colours),
                category_names=dict(LandUse.codes),
                tags={"YEAR": str(year)},
            )
        )
    paths.append(
        write_geotiff(
            layout.truth_ore_path(raw_dir),
            state.ore_zone(),
            transform=grid.transform,
            crs=grid.crs,
            band_names=["ore_zone"],
            category_names={0: "background", 1: "ore"},
        )
    )
    return paths
