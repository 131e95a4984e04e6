"""Helpers shared by the product modules: land-use class codes, stacking of
per-year maps, alignment checks, percentile ranks and the bitemporal pairs of
change detection (here, free of torch, so the workflow can list the change
maps without importing the network)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ..errors import DataError
from ..sensors import LandUse

_CODE = {name: code for code, name in LandUse.codes.items()}
VEGETATION = _CODE["vegetation"]
WATER = _CODE["water"]
BUILT_UP = _CODE["built_up"]
BARE = _CODE["bare_land"]
MINING = _CODE["mining"]
RECLAIMED = _CODE["reclaimed"]
NODATA = LandUse.nodata

LanduseByYear = Mapping[int, np.ndarray] | xr.DataArray


def stack_years(
    landuse_by_year: LanduseByYear, *, what: str = "land-use maps"
) -> tuple[list[int], np.ndarray]:
    """Per-year 2-D maps as sorted years and a (year, y, x) array.

    Parameters
    ----------
    landuse_by_year
        Mapping year -> 2-D array, or a DataArray with dims (year, y, x).
    what
        Name used in error messages.

    Returns
    -------
    years : list of int
        Sorted years.
    stack : numpy.ndarray
        (n_years, y, x) array in year order.

    Raises
    ------
    DataError
        If a map is not 2-D or the maps differ in shape.
    """
    if isinstance(landuse_by_year, xr.DataArray):
        if "year" not in landuse_by_year.dims:
            raise DataError(
                f"{what}: DataArray has dims {landuse_by_year.dims}, expected (year, y, x)"
            )
        da = landuse_by_year.sortby("year")
        items = [(int(y), da.sel(year=y).values) for y in da["year"].values]
    else:
        items = sorted((int(y), np.asarray(a)) for y, a in landuse_by_year.items())
    if not items:
        return [], np.empty((0, 0, 0))
    shape = items[0][1].shape
    for year, arr in items:
        if arr.ndim != 2 or arr.shape != shape:
            raise DataError(
                f"{what}: year {year} has shape {arr.shape}, year {items[0][0]} has {shape}; "
                "all maps must be 2-D on the same grid"
            )
    return [y for y, _ in items], np.stack([a for _, a in items])


def check_aligned(**arrays: np.ndarray | None) -> tuple[int, ...]:
    """Check that the given arrays (None skipped) share their trailing (y, x) shape.

    Returns
    -------
    tuple of int
        The common (y, x) shape.

    Raises
    ------
    DataError
        Naming the two inputs whose grids differ.
    """
    ref_name, ref_shape = None, None
    for name, arr in arrays.items():
        if arr is None:
            continue
        shape = np.shape(arr)[-2:]
        if len(shape) < 2:
            raise DataError(f"{name} has shape {np.shape(arr)}; expected a (y, x) grid")
        if ref_shape is None:
            ref_name, ref_shape = name, shape
        elif shape != ref_shape:
            raise DataError(
                f"{name} has grid shape {shape} but {ref_name} has {ref_shape}; the inputs are "
                "misaligned: resample them all onto the common grid of the cubes first"
            )
    if ref_shape is None:
        raise DataError("no input array given")
    return tuple(ref_shape)


def percentile_rank(values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Empirical percentile rank in [0, 1] of every cell among the valid finite cells.

    The rank of a value v is the fraction of valid cells with a value <= v
    (ties share the highest rank); invalid cells get NaN.
    """
    arr = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(arr) if valid is None else (np.asarray(valid, bool) & np.isfinite(arr))
    out = np.full(arr.shape, np.nan)
    ref = np.sort(arr[ok])
    if ref.size:
        out[ok] = np.searchsorted(ref, arr[ok], side="right") / ref.size
    return out


def annual_composites(
    data: xr.DataArray, *, bands: list[str] | tuple[str, ...] | None = None, how: str = "median"
) -> xr.DataArray:
    """Annual composites of a (time, band, y, x) cube variable.

    Parameters
    ----------
    data
        The cube's ``data`` variable with a datetime ``time`` coordinate.
    bands
        Bands to keep (all if ``None``).
    how
        ``"median"`` or ``"mean"``, over the valid (non-NaN) months of each year.

    Returns
    -------
    xarray.DataArray
        (year, band, y, x) float32.

    Raises
    ------
    DataError
        If a band is missing or ``how`` is unknown.
    """
    if how not in ("median", "mean"):
        raise DataError(f"composite {how!r} is not supported; use 'median' or 'mean'")
    if bands is not None:
        missing = [b for b in bands if b not in data["band"].values.tolist()]
        if missing:
            raise DataError(
                f"bands {missing} are not in the cube (bands: {data['band'].values.tolist()})"
            )
        data = data.sel(band=list(bands))
    grouped = data.groupby("time.year")
    comp = (
        grouped.median("time", skipna=True)
        if how == "median"
        else grouped.mean("time", skipna=True)
    )
    return comp.astype(np.float32).transpose("year", "band", ...)


def bitemporal_pairs(years: Sequence[int]) -> list[tuple[int, int]]:
    """Every consecutive pair of years, then first-to-last (if not already listed).

    Parameters
    ----------
    years
        Years with data (any order; duplicates ignored).

    Returns
    -------
    list of (int, int)

    Raises
    ------
    DataError
        If fewer than two distinct years are given.

    Examples
    --------
    >>> bitemporal_pairs([2021, 2019, 2020])
    [(2019, 2020), (2020, 2021), (2019, 2021)]
    """
    ys = sorted({int(y) for y in years})
    if len(ys) < 2:
        raise DataError(
            f"change detection needs at least 2 years, got {ys}; "
            "extend the study period or add land-use maps for more years"
        )
    pairs = list(zip(ys[:-1], ys[1:], strict=True))
    if (ys[0], ys[-1]) not in pairs:
        pairs.append((ys[0], ys[-1]))
    return pairs
