"""Slope and aspect from a DEM with Horn's (1981) third-order finite differences.

With the 3x3 neighbourhood ::

    a b c
    d e f
    g h i

of a north-up grid (row index increasing southwards) and cell sizes
``dx``, ``dy`` (metres)::

    dz/dx (east)  = ((c + 2f + i) - (a + 2d + g)) / (8 dx)
    dz/dy (north) = ((a + 2b + c) - (g + 2h + i)) / (8 dy)
    slope  = atan(sqrt(dz/dx^2 + dz/dy^2))                     (degrees)
    aspect = atan2(-dz/dx, -dz/dy) mod 360                     (degrees)

Aspect is the compass direction the slope faces (the downslope direction),
clockwise from north: 0 north, 90 east, 180 south, 270 west; NaN on flat
cells. Horn, B. K. P. (1981), "Hill shading and the reflectance map",
Proc. IEEE 69(1):14-47 (the estimator GDAL's ``gdaldem`` uses by default).

Edge cells are computed after padding the DEM by odd reflection (linear
extrapolation ``2 z_edge - z_inside``), which reproduces a plane exactly, so
edges get a slope instead of nodata. SciPy's ``ndimage`` boundary modes
offer no odd reflection, hence the explicit ``np.pad`` and slicing.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ..chunked import map_overlap_bands
from ..errors import DataError


def horn_gradient(z: np.ndarray, *, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """East and north elevation gradients of a north-up DEM (Horn 1981).

    Parameters
    ----------
    z
        Elevation (rows from north to south), 2-D.
    dx, dy
        Cell width and height in the elevation unit (metres), positive.

    Returns
    -------
    tuple of numpy.ndarray
        ``(dz/dx_east, dz/dy_north)``, float64, shape of ``z``; NaN next to a NaN cell.

    Raises
    ------
    DataError
        If ``z`` is not 2-D, is smaller than 2x2, or a cell size is not positive.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 2:
        raise DataError(f"DEM of shape {z.shape} is not a 2-D grid of at least 2x2 cells")
    if not (dx > 0 and dy > 0):
        raise DataError(f"cell size (dx={dx!r}, dy={dy!r}) must be positive metres")
    p = np.pad(z, 1, mode="reflect", reflect_type="odd")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8.0 * dy)
    return dzdx, dzdy


def slope_aspect(z: np.ndarray, *, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect in degrees of a north-up DEM.

    Parameters
    ----------
    z
        Elevation (rows from north to south).
    dx, dy
        Cell width and height in metres.

    Returns
    -------
    tuple of numpy.ndarray
        ``(slope, aspect)`` in degrees; aspect clockwise from north, NaN where flat.

    Raises
    ------
    DataError
        As :func:`horn_gradient`.

    Examples
    --------
    >>> z = np.tile(np.arange(5.0), (5, 1))  # rises 1 m per 1 m cell eastwards
    >>> s, a = slope_aspect(z, dx=1.0, dy=1.0)
    >>> float(s[2, 2]), float(a[2, 2])
    (45.0, 270.0)
    """
    dzdx, dzdy = horn_gradient(z, dx=dx, dy=dy)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    aspect = np.mod(np.degrees(np.arctan2(-dzdx, -dzdy)), 360.0)
    flat = (dzdx == 0) & (dzdy == 0)
    aspect = np.where(flat, np.nan, aspect)
    return slope, aspect


def terrain_features(
    dem: xr.DataArray,
    *,
    cellsize: float | tuple[float, float] | None = None,
) -> xr.DataArray:
    """Elevation, slope and aspect of a DEM DataArray.

    Parameters
    ----------
    dem
        Elevation, dims (y, x) or (band, y, x) with a single band.
    cellsize
        Cell size in metres, ``d`` or ``(dx, dy)``. By default it is taken
        from the x/y coordinate spacing, which must then be in metres
        (a projected CRS).

    Returns
    -------
    xarray.DataArray
        dims (band, y, x), band = ``["elevation", "slope", "aspect"]`` (m, deg, deg),
        float32, with ``dem``'s coordinates.

    Raises
    ------
    DataError
        If the DEM has more than one band, or its CRS is geographic (degrees)
        and no ``cellsize`` is given.
    """
    if "band" in dem.dims:
        if dem.sizes["band"] != 1:
            raise DataError(
                f"DEM has {dem.sizes['band']} bands {list(dem['band'].values)}; pass one elevation band"
            )
        dem = dem.isel(band=0, drop=True)
    dem = dem.transpose("y", "x")
    north_up = True
    if dem.sizes["y"] > 1:
        north_up = bool(dem["y"].values[1] < dem["y"].values[0])
    if cellsize is None:
        crs = dem.rio.crs
        if crs is not None and crs.is_geographic:
            raise DataError(
                f"DEM CRS {crs.to_string()} is geographic (degrees); pass cellsize in metres "
                "or reproject the DEM to the projected study-area grid"
            )
        dx = float(abs(dem["x"].values[1] - dem["x"].values[0]))
        dy = float(abs(dem["y"].values[1] - dem["y"].values[0]))
    elif isinstance(cellsize, tuple):
        dx, dy = (float(v) for v in cellsize)
    else:
        dx = dy = float(cellsize)
    if not (dx > 0 and dy > 0) or min(dem.shape) < 2:
        # checked here too, not only in horn_gradient: a chunked DEM runs that lazily
        raise DataError(
            f"DEM of shape {dem.shape} with cell size (dx={dx!r}, dy={dy!r}) is not a grid "
            "of at least 2x2 cells with positive metres"
        )

    def elevation_slope_aspect(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        flip = (lambda a: a[::-1]) if not north_up else (lambda a: a)
        slope, aspect = slope_aspect(flip(z), dx=dx, dy=dy)
        return np.stack([z, flip(slope), flip(aspect)]).astype(np.float32)

    if dem.chunks is not None:
        # tile by tile with a one-cell halo (Horn's 3x3 neighbourhood); the
        # odd-reflection padding applies at the DEM's own edges only
        data = map_overlap_bands(elevation_slope_aspect, dem.data, depth=1, n_out=3)
    else:
        data = elevation_slope_aspect(dem.values)
    out = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={"band": ["elevation", "slope", "aspect"], "y": dem["y"], "x": dem["x"]},
        attrs={"units": "m, degrees, degrees clockwise from north", "method": "Horn 1981"},
    )
    crs = dem.rio.crs
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out
