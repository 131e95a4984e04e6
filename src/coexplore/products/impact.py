"""Environmental impact of mining: vegetation loss and NDVI trends in rings
around the mines, reclamation progress and water bodies within reach.

Rings are distance bands around the mined footprint (cells mined in any
year), from ``scipy.ndimage.distance_transform_edt`` in metres: the footprint
itself (``"mine"``), then e.g. 0-250, 250-500 and 500-1000 m (a cell at
distance d belongs to the ring lo < d <= hi), and everything farther as the
undisturbed reference (``"beyond"``). The NDVI trend per cell is the
Theil-Sen slope (median of pairwise slopes) of the annual NDVI, vectorised
over cells; it agrees with ``scipy.stats.theilslopes`` cell by cell.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from ..errors import DataError
from ._common import MINING, NODATA, RECLAIMED, VEGETATION, WATER, LanduseByYear, stack_years

DEFAULT_RINGS_M: tuple[tuple[float, float], ...] = ((0.0, 250.0), (250.0, 500.0), (500.0, 1000.0))


def ndvi(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """Normalised difference vegetation index ``(nir - red) / (nir + red)``.

    NaN where ``nir + red`` is not positive.
    """
    r = np.asarray(red, dtype=np.float64)
    n = np.asarray(nir, dtype=np.float64)
    den = n + r
    out = np.full(np.broadcast_shapes(r.shape, n.shape), np.nan)
    np.divide(n - r, den, out=out, where=np.isfinite(den) & (den > 0))
    return out


def annual_ndvi(landsat: xr.DataArray) -> xr.DataArray:
    """Annual median NDVI (year, y, x) of a landsat8 cube ``data`` variable (time, band, y, x).

    Works on numpy- and dask-backed cubes (a dask result stays lazy).

    Raises
    ------
    DataError
        If the red or nir band is missing.
    """
    bands = [str(b) for b in landsat["band"].values]
    if "red" not in bands or "nir" not in bands:
        raise DataError(f"NDVI needs the red and nir bands; the cube has {bands}")
    v = xr.apply_ufunc(
        ndvi,
        landsat.sel(band="red"),
        landsat.sel(band="nir"),
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    if v.chunks is not None:  # the median over time needs whole time series per chunk
        v = v.chunk({"time": -1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return v.groupby("time.year").median("time", skipna=True).astype(np.float32)


def theil_sen_slope(
    series: np.ndarray,
    t: Sequence[float] | np.ndarray,
    *,
    min_obs: int = 3,
    max_pairs_cells: int = 5_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell Theil-Sen slope and intercept of a (time, ...) stack.

    The slope is the median of ``(y_j - y_i) / (t_j - t_i)`` over all pairs
    i < j with both values finite; the intercept follows
    ``scipy.stats.theilslopes``: ``median(y) - slope * median(t)`` over the
    cell's finite observations.

    Parameters
    ----------
    series
        Values (time, ...) (NaN allowed).
    t
        Strictly increasing times, e.g. years.
    min_obs
        Cells with fewer finite observations get NaN.
    max_pairs_cells
        Cap on pairs x cells held in memory at once (cells are processed in chunks).

    Returns
    -------
    slope, intercept : numpy.ndarray
        Arrays of ``series.shape[1:]``.

    Raises
    ------
    DataError
        If ``t`` does not match the time axis or is not strictly increasing.
    """
    y = np.asarray(series, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    if tt.ndim != 1 or tt.size != y.shape[0]:
        raise DataError(
            f"{tt.size} times for a series of {y.shape[0]} steps; give one time per step"
        )
    if np.any(np.diff(tt) <= 0):
        raise DataError(f"times {tt.tolist()} must be strictly increasing")
    cells = y.reshape(y.shape[0], -1)
    n_cells = cells.shape[1]
    i, j = np.triu_indices(tt.size, k=1)
    dt = (tt[j] - tt[i])[:, None]
    slope = np.full(n_cells, np.nan)
    intercept = np.full(n_cells, np.nan)
    chunk = max(1, max_pairs_cells // max(i.size, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in range(0, n_cells, chunk):
            c = cells[:, start : start + chunk]
            pair_slopes = (c[j] - c[i]) / dt
            s = np.nanmedian(pair_slopes, axis=0)
            fin = np.isfinite(c)
            t_med = np.nanmedian(np.where(fin, tt[:, None], np.nan), axis=0)
            b = np.nanmedian(c, axis=0) - s * t_med
            enough = fin.sum(axis=0) >= max(min_obs, 2)
            slope[start : start + chunk] = np.where(enough, s, np.nan)
            intercept[start : start + chunk] = np.where(enough, b, np.nan)
    return slope.reshape(y.shape[1:]), intercept.reshape(y.shape[1:])


def distance_rings(
    footprint: np.ndarray,
    *,
    pixel_size: float,
    rings: Sequence[tuple[float, float]] = DEFAULT_RINGS_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Ring index of every cell around a footprint.

    Parameters
    ----------
    footprint
        Boolean map of the mined cells.
    pixel_size
        Pixel edge in metres.
    rings
        (lo, hi] distance bands in metres, ascending and non-overlapping.

    Returns
    -------
    ring : numpy.ndarray
        int16: 0 on the footprint, k (1-based) in ring k, ``len(rings) + 1``
        beyond the last ring.
    distance : numpy.ndarray
        Distance (m) to the nearest footprint cell (inf if there is none).

    Raises
    ------
    DataError
        If the rings are not ascending, or ``pixel_size`` is not positive.
    """
    if not pixel_size > 0:
        raise DataError(f"pixel_size={pixel_size!r} must be positive")
    edges = np.asarray(rings, dtype=np.float64)
    if (
        edges.ndim != 2
        or edges.shape[1] != 2
        or np.any(edges[:, 1] <= edges[:, 0])
        or np.any(edges[1:, 0] < edges[:-1, 1])
    ):
        raise DataError(f"rings {rings!r} must be ascending (lo, hi) pairs with lo < hi")
    fp = np.asarray(footprint, bool)
    if fp.any():
        dist = ndimage.distance_transform_edt(~fp, sampling=pixel_size)
    else:
        dist = np.full(fp.shape, np.inf)
    ring = np.full(fp.shape, len(edges) + 1, dtype=np.int16)
    for k, (lo, hi) in enumerate(edges, start=1):
        ring[(dist > lo) & (dist <= hi)] = k
    ring[fp] = 0
    return ring, dist


def _ring_names(rings: Sequence[tuple[float, float]]) -> list[str]:
    return ["mine", *(f"{lo:g}-{hi:g} m" for lo, hi in rings), "beyond"]


def _common_years(
    landuse_by_year: LanduseByYear, ndvi_by_year: LanduseByYear
) -> tuple[list[int], np.ndarray, np.ndarray]:
    ly, lu = stack_years(landuse_by_year, what="land-use maps")
    ny, nd = stack_years(ndvi_by_year, what="NDVI maps")
    common = sorted(set(ly) & set(ny))
    if len(common) < 2:
        raise DataError(
            f"impact analysis needs at least 2 years with both land use and NDVI; land use has "
            f"{ly}, NDVI has {ny}"
        )
    if lu.shape[1:] != nd.shape[1:]:
        raise DataError(
            f"land-use grid {lu.shape[1:]} and NDVI grid {nd.shape[1:]} differ; "
            "use maps on the common grid"
        )
    return (
        common,
        lu[[ly.index(y) for y in common]],
        nd[[ny.index(y) for y in common]].astype(np.float64),
    )


def vegetation_impact(
    landuse_by_year: LanduseByYear,
    ndvi_by_year: LanduseByYear,
    *,
    pixel_size: float,
    rings: Sequence[tuple[float, float]] = DEFAULT_RINGS_M,
) -> pd.DataFrame:
    """Vegetation loss and NDVI trend per distance ring around the mined footprint.

    Parameters
    ----------
    landuse_by_year, ndvi_by_year
        Per-year maps (mapping or DataArray (year, y, x)); years common to
        both are used.
    pixel_size
        Pixel edge in metres.
    rings
        Distance bands in metres.

    Returns
    -------
    pandas.DataFrame
        One row per ring (``mine``, the bands, ``beyond``): ``ring``,
        ``area_ha``, ``vegetation_first_ha``, ``vegetation_last_ha``,
        ``vegetation_loss_ha`` (vegetation in the first year, other class in
        the last), ``vegetation_loss_pct`` (of the first-year vegetation),
        ``ndvi_first_mean``, ``ndvi_last_mean``, ``ndvi_trend_median``
        (Theil-Sen slope, NDVI per year) and ``browning_share`` (share of
        cells with a negative trend), with ``year_first``/``year_last``.

    Raises
    ------
    DataError
        If fewer than 2 common years exist or the grids differ.
    """
    years, lu, nd = _common_years(landuse_by_year, ndvi_by_year)
    footprint = np.any(lu == MINING, axis=0)
    ring, _ = distance_rings(footprint, pixel_size=pixel_size, rings=rings)
    slope, _ = theil_sen_slope(nd, years)
    ha = pixel_size * pixel_size / 1.0e4
    valid = np.all(lu != NODATA, axis=0)
    veg0, veg1 = lu[0] == VEGETATION, lu[-1] == VEGETATION
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, name in enumerate(_ring_names(rings)):
            m = (ring == k) & valid
            v0 = float((veg0 & m).sum()) * ha
            loss = float((veg0 & ~veg1 & m).sum()) * ha
            s = slope[m]
            s = s[np.isfinite(s)]
            rows.append(
                {
                    "ring": name,
                    "year_first": years[0],
                    "year_last": years[-1],
                    "area_ha": float(m.sum()) * ha,
                    "vegetation_first_ha": v0,
                    "vegetation_last_ha": float((veg1 & m).sum()) * ha,
                    "vegetation_loss_ha": loss,
                    "vegetation_loss_pct": 100.0 * loss / v0 if v0 > 0 else np.nan,
                    "ndvi_first_mean": float(np.nanmean(nd[0][m])) if m.any() else np.nan,
                    "ndvi_last_mean": float(np.nanmean(nd[-1][m])) if m.any() else np.nan,
                    "ndvi_trend_median": float(np.median(s)) if s.size else np.nan,
                    "browning_share": float(np.mean(s < 0)) if s.size else np.nan,
                }
            )
    return pd.DataFrame(rows)


def reclamation_progress(
    landuse_by_year: LanduseByYear, ndvi_by_year: LanduseByYear, *, pixel_size: float
) -> pd.DataFrame:
    """Reclaimed area and NDVI recovery per year.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``year``, ``mining_ha``, ``reclaimed_ha`` (total),
        ``new_reclaimed_ha`` (became reclaimed since the previous year; NaN
        in the first year), ``reclaimed_ndvi_mean``, ``reference_ndvi_mean``
        (cells vegetated in every year: the undisturbed reference) and
        ``recovery_ratio`` = reclaimed / reference NDVI.

    Raises
    ------
    DataError
        If fewer than 2 common years exist or the grids differ.
    """
    years, lu, nd = _common_years(landuse_by_year, ndvi_by_year)
    ha = pixel_size * pixel_size / 1.0e4
    reference = np.all(lu == VEGETATION, axis=0)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, year in enumerate(years):
            rec = lu[i] == RECLAIMED
            new = (
                float((rec & (lu[i - 1] != RECLAIMED) & (lu[i - 1] != NODATA)).sum()) * ha
                if i
                else np.nan
            )
            r_ndvi = float(np.nanmean(nd[i][rec])) if rec.any() else np.nan
            ref_ndvi = float(np.nanmean(nd[i][reference])) if reference.any() else np.nan
            rows.append(
                {
                    "year": year,
                    "mining_ha": float((lu[i] == MINING).sum()) * ha,
                    "reclaimed_ha": float(rec.sum()) * ha,
                    "new_reclaimed_ha": new,
                    "reclaimed_ndvi_mean": r_ndvi,
                    "reference_ndvi_mean": ref_ndvi,
                    "recovery_ratio": r_ndvi / ref_ndvi
                    if np.isfinite(r_ndvi) and np.isfinite(ref_ndvi) and ref_ndvi != 0
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def water_affected(
    landuse_by_year: LanduseByYear, *, pixel_size: float, buffer_m: float = 500.0
) -> pd.DataFrame:
    """Water bodies within a buffer of active mining, per year.

    Parameters
    ----------
    landuse_by_year
        Per-year land-use maps.
    pixel_size
        Pixel edge in metres.
    buffer_m
        Buffer distance around the mining cells of the same year.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``year``, ``water_ha``, ``water_in_buffer_ha``,
        ``water_bodies`` (8-connected water bodies), ``water_bodies_affected``
        (bodies with a cell within the buffer) and ``water_lost_in_buffer_ha``
        (water in the previous year, another class now, within the buffer;
        NaN in the first year).

    Raises
    ------
    DataError
        If no map is given or ``buffer_m`` is negative.
    """
    if buffer_m < 0:
        raise DataError(f"buffer_m={buffer_m!r} must be >= 0")
    years, lu = stack_years(landuse_by_year)
    if not years:
        raise DataError("no land-use map given; pass at least one year")
    ha = pixel_size * pixel_size / 1.0e4
    rows = []
    for i, year in enumerate(years):
        mining = lu[i] == MINING
        if mining.any():
            near = ndimage.distance_transform_edt(~mining, sampling=pixel_size) <= buffer_m
        else:
            near = np.zeros(mining.shape, bool)
        water = lu[i] == WATER
        bodies, n_bodies = ndimage.label(water, structure=np.ones((3, 3), dtype=int))
        affected = np.unique(bodies[water & near]).size
        lost = (
            float(((lu[i - 1] == WATER) & ~water & (lu[i] != NODATA) & near).sum()) * ha
            if i
            else np.nan
        )
        rows.append(
            {
                "year": year,
                "water_ha": float(water.sum()) * ha,
                "water_in_buffer_ha": float((water & near).sum()) * ha,
                "water_bodies": int(n_bodies),
                "water_bodies_affected": int(affected),
                "water_lost_in_buffer_ha": lost,
            }
        )
    return pd.DataFrame(rows)


def impact_tables(
    landuse_by_year: LanduseByYear,
    ndvi_by_year: LanduseByYear,
    *,
    pixel_size: float,
    rings: Sequence[tuple[float, float]] = DEFAULT_RINGS_M,
    water_buffer_m: float = 500.0,
) -> dict[str, pd.DataFrame]:
    """All impact tables: ``vegetation`` (per ring), ``reclamation`` and ``water`` (per year).

    Raises
    ------
    DataError
        As the individual functions.
    """
    return {
        "vegetation": vegetation_impact(
            landuse_by_year, ndvi_by_year, pixel_size=pixel_size, rings=rings
        ),
        "reclamation": reclamation_progress(landuse_by_year, ndvi_by_year, pixel_size=pixel_size),
        "water": water_affected(landuse_by_year, pixel_size=pixel_size, buffer_m=water_buffer_m),
    }
