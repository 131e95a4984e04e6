"""Seasonal composites of a monthly time cube.

Meteorological seasons of the northern hemisphere: spring MAM, summer JJA,
autumn SON, winter DJF. The winter of ``year`` is December of ``year - 1``
with January and February of ``year`` (the WMO convention of naming a
winter by the year of its January), so all four seasons of a year are
complete before the next year's spring.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError

SEASON_MONTHS: dict[str, tuple[int, ...]] = {
    "spring": (3, 4, 5),
    "summer": (6, 7, 8),
    "autumn": (9, 10, 11),
    "winter": (12, 1, 2),
}
"""Months of each season; December belongs to the following year's winter."""

SEASONS: tuple[str, ...] = tuple(SEASON_MONTHS)


def season_mask(times: Sequence | pd.DatetimeIndex, *, season: str, year: int) -> np.ndarray:
    """Which time steps fall in ``season`` of ``year``.

    Parameters
    ----------
    times
        Time stamps.
    season
        One of :data:`SEASONS`.
    year
        The season's year (for winter: the year of its January).

    Returns
    -------
    numpy.ndarray
        Boolean mask over ``times``.

    Raises
    ------
    DataError
        If ``season`` is unknown.
    """
    if season not in SEASON_MONTHS:
        raise DataError(f"unknown season {season!r}; choose among {list(SEASONS)}")
    t = pd.DatetimeIndex(times)
    months = SEASON_MONTHS[season]
    # December counts towards the next year's winter
    season_year = np.where(t.month == 12, t.year + 1, t.year) if season == "winter" else t.year
    return np.isin(t.month, months) & (season_year == year)


def seasonal_composites(
    da: xr.DataArray,
    *,
    year: int,
    seasons: Sequence[str] = SEASONS,
    statistic: str = "median",
    source: str = "cube",
) -> xr.DataArray:
    """Per-season composites (median by default) of a (time, ...) cube for one year.

    Parameters
    ----------
    da
        Cube with a ``time`` dimension, e.g. (time, band, y, x); NumPy or dask backed.
    year
        The year.
    seasons
        Seasons to composite, from :data:`SEASONS`.
    statistic
        ``"median"`` or ``"mean"``; NaN (gaps, no flight) are skipped.
    source
        Name of the cube, used in error messages.

    Returns
    -------
    xarray.DataArray
        ``da``'s dims with ``time`` replaced by ``season`` (first), float32.
        A pixel NaN in every time step of a season stays NaN.

    Raises
    ------
    DataError
        If a season has no time step in ``da`` or the statistic is unknown.
    """
    if statistic not in ("median", "mean"):
        raise DataError(f"unknown composite statistic {statistic!r}; use 'median' or 'mean'")
    times = da["time"].values
    parts = []
    for season in seasons:
        mask = season_mask(times, season=season, year=year)
        if not mask.any():
            t = pd.DatetimeIndex(times)
            span = f"{t.min():%Y-%m} to {t.max():%Y-%m}" if len(t) else "no time steps"
            raise DataError(
                f"cube {source!r} has no time step in {season} {year} (it covers {span}); "
                f"build the cube over {year} or choose another year"
            )
        sub = da.isel(time=np.flatnonzero(mask))
        if sub.chunks is not None:
            sub = sub.chunk({"time": -1})
        comp = sub.median("time", skipna=True) if statistic == "median" else sub.mean("time")
        parts.append(comp)
    out = xr.concat(parts, dim="season").assign_coords(season=list(seasons))
    return out.astype(np.float32)
