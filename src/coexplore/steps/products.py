"""Steps of the exploration products (issue 6): change detection, prospectivity,
solar and wind potential, conflict zones and environmental impact.

Each step reads the cubes and maps of one study area, calls
:mod:`coexplore.products`, and writes its maps (COGs with units and nodata)
and tables (CSV) atomically. Every output of a step is computed before the
first one is written, so a bad input leaves none of them behind.

The change detector needs torch; it is imported inside
:func:`step_detect_change` only, so the other steps run without it.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..config import area_years
from ..errors import ConfigError, DataError, InputError
from ..grid import Grid
from ..io.atomic import atomic_path
from ..io.cubes import open_cube
from ..io.meteo import read_stations
from ..io.rasters import read_raster, write_geotiff
from ..preprocess.meteo import quality_control
from ..products._common import MINING, annual_composites, bitemporal_pairs
from ..products.conflicts import conflict_zones, export_conflicts
from ..products.impact import annual_ndvi, impact_tables
from ..products.prospectivity import evaluate_prospectivity, prospectivity_map
from ..products.renewables import (
    DAYS_IN_MONTH,
    fit_weibull,
    grid_latitude,
    solar_potential,
    wind_potential,
)
from ..sensors import Landsat8, LandUse, Sentinel1, Static

log = logging.getLogger(__name__)

PathLike = str | Path

CLASS_CODES: dict[str, int] = {name: code for code, name in LandUse.codes.items()}
LITHOLOGY_CODES: dict[str, int] = {name: code for code, name in Static.lithology.items()}
DEFAULT_CHANGE_BANDS: dict[str, tuple[str, ...]] = {
    "landsat8": ("blue", "green", "red", "nir", "swir1", "swir2"),
    "sentinel1": Sentinel1.bands,
}
"""Bands compared by the change detectors when the config names none for a source."""

SOLAR_BANDS = ("ghi_w_m2", "energy_kwh_m2_yr", "energy_resource_kwh_m2_yr")
WIND_BANDS = ("speed_hub_m_s", "power_density_w_m2", "power_density_resource_w_m2")
CHANGE_BANDS = ("cva_magnitude", "cva_change", "net_probability", "net_change")


# --------------------------------------------------------------------------- helpers


def _write_csv(df: pd.DataFrame, path: PathLike, *, index: bool = False) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)


def _write_json(obj: Any, path: PathLike) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1, default=str))


def _codes(names: Sequence[str], table: Mapping[str, int], what: str) -> list[int]:
    """Codes of class names; an unknown name is a :class:`ConfigError`."""
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ConfigError(f"{what} {unknown} are unknown; use names from {sorted(table)}")
    return [table[n] for n in names]


def _open_on_grid(path: PathLike, grid: Grid) -> xr.Dataset:
    """Open a cube store and check that it lies on the area's grid."""
    ds = open_cube(path)
    shape = (ds.sizes.get("y"), ds.sizes.get("x"))
    if shape != grid.shape:
        raise InputError(
            path,
            f"cube grid (y, x) = {shape} differs from the area grid {grid.shape}",
            "rebuild the cube for this area's grid (build_cube)",
        )
    return ds


def _cube_bands(ds: xr.Dataset, bands: Sequence[str], path: PathLike) -> None:
    have = [str(b) for b in ds["band"].values]
    missing = [b for b in bands if b not in have]
    if missing:
        raise InputError(
            path, f"cube has no band(s) {missing} (bands: {have})", "rebuild the cube with them"
        )


def read_class_map(path: PathLike, grid: Grid) -> np.ndarray:
    """A land-use (or ore-zone) class raster on the grid, uint8.

    Parameters
    ----------
    path
        Single-band class raster (0 = nodata).
    grid
        The area's grid; a raster on another grid is resampled by nearest
        neighbour (as the ground truth of user data may be).

    Returns
    -------
    numpy.ndarray
        uint8 (height, width).

    Raises
    ------
    InputError
        If the file is missing or unreadable.
    """
    from ..preprocess.resample import reproject_to_grid

    arr, profile = read_raster(path)
    if (
        profile["crs"] == grid.rio_crs
        and profile["transform"] == grid.transform
        and arr.shape[1:] == grid.shape
    ):
        return arr[0].astype(np.uint8)
    out = reproject_to_grid(
        arr[:1].astype("float32"),
        src_transform=profile["transform"],
        src_crs=profile["crs"],
        grid=grid,
        resampling="nearest",
        src_nodata=profile.get("nodata"),
    )
    return np.nan_to_num(out[0], nan=0).astype(np.uint8)


def read_named_band(path: PathLike, band: str, grid: Grid) -> np.ndarray:
    """One band of a product GeoTIFF, found by its description, as float64 with NaN nodata.

    Parameters
    ----------
    path
        A map written by one of these steps.
    band
        Band description (e.g. ``"energy_resource_kwh_m2_yr"``).
    grid
        The area's grid; the raster must lie on it.

    Returns
    -------
    numpy.ndarray
        float64 (height, width).

    Raises
    ------
    InputError
        If the file is unreadable, lacks the band or lies on another grid.
    """
    arr, profile = read_raster(path)
    names = [str(d) for d in profile["descriptions"]]
    if band not in names:
        raise InputError(
            path, f"has no band {band!r} (bands: {names})", "rerun the rule that writes it"
        )
    if profile["transform"] != grid.transform or arr.shape[1:] != grid.shape:
        raise InputError(
            path,
            f"lies on a {arr.shape[1:]} grid with transform {tuple(profile['transform'])[:6]}, "
            f"not on the area grid {grid.shape}",
            "rerun the rule that writes it for this area",
        )
    out = arr[names.index(band)].astype(np.float64)
    nodata = profile.get("nodata")
    if nodata is not None and np.isfinite(nodata):
        out[out == nodata] = np.nan
    return out


def _geotiff(
    path: PathLike,
    layers: Sequence[np.ndarray],
    *,
    grid: Grid,
    names: Sequence[str],
    units: Sequence[str],
    tags: Mapping[str, Any],
) -> None:
    write_geotiff(
        path,
        np.stack([np.asarray(a, dtype=np.float32) for a in layers]),
        transform=grid.transform,
        crs=grid.crs,
        nodata=float("nan"),
        band_names=list(names),
        units=list(units),
        tags={k: str(v) for k, v in tags.items()},
    )


def standardise_bands(composites: xr.DataArray) -> xr.DataArray:
    """Z-score every band of (year, band, y, x) composites over all years and cells.

    Change vectors over bands of different units (reflectance 0..1, sigma0
    in dB) are only comparable once each band is scaled by its own spread;
    CVA magnitudes are then in standard deviations. A constant band is only
    centred (its spread is taken as 1).

    Parameters
    ----------
    composites
        (year, band, y, x) composites; NaN ignored.

    Returns
    -------
    xarray.DataArray
        float32, same dims and coordinates.
    """
    with warnings.catch_warnings():  # an all-NaN band has no mean
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = composites.mean(dim=("year", "y", "x"), skipna=True)
        std = composites.std(dim=("year", "y", "x"), skipna=True)
    std = xr.where(std > 0, std, 1.0)
    return ((composites - mean.fillna(0.0)) / std.fillna(1.0)).astype(np.float32)


def annual_mean_climatology(data: xr.DataArray) -> np.ndarray:
    """Day-weighted annual mean (y, x) of a (time, y, x) series of monthly means.

    Each calendar month is first averaged over the years, then the twelve
    months are averaged with weights of their number of days, so a study
    period that is not a whole number of years does not bias the mean.
    Months absent from the series (or NaN at a cell) are left out, with a
    warning when a calendar month is missing altogether.

    Parameters
    ----------
    data
        (time, y, x) with a datetime ``time`` coordinate.

    Returns
    -------
    numpy.ndarray
        float64 (y, x); NaN where no month has a value.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        monthly = data.groupby("time.month").mean("time", skipna=True).transpose("month", ...)
    months = [int(m) for m in monthly["month"].values]
    if len(months) < 12:
        log.warning(
            "the series covers calendar months %s only; the annual mean is over these", months
        )
    values = monthly.values.astype(np.float64)
    w = np.array([DAYS_IN_MONTH[m - 1] for m in months], dtype=np.float64)[:, None, None]
    ok = np.isfinite(values)
    wsum = (w * ok).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wsum > 0, (np.where(ok, values, 0.0) * w).sum(axis=0) / wsum, np.nan)


def station_weibull(
    stations: pd.DataFrame, grid: Grid, *, method: str = "mle", min_days: int = 30
) -> pd.DataFrame:
    """Weibull shape and scale of each station's daily wind speeds.

    Stations outside the grid are used, as the meteo cube's interpolation
    uses them, with a warning naming them (a station far away may not
    represent the area).

    Parameters
    ----------
    stations
        Quality-controlled daily records (``preprocess.meteo.quality_control``).
    grid
        The area's grid.
    method
        ``"mle"`` or ``"moments"`` (:func:`coexplore.products.renewables.fit_weibull`).
    min_days
        Stations with fewer positive daily speeds are not fitted.

    Returns
    -------
    pandas.DataFrame
        One row per station: ``station_id``, ``lon``, ``lat``, ``inside_grid``,
        ``n_days`` (positive speeds), ``weibull_k``, ``weibull_c`` (m/s; NaN
        if not fitted), ``used``.

    Raises
    ------
    DataError
        If no station has ``min_days`` positive daily speeds, or ``min_days < 10``.
    """
    from pyproj import Transformer

    if min_days < 10:
        raise DataError(f"min_days={min_days} must be >= 10 for a Weibull fit")
    to_grid = Transformer.from_crs("EPSG:4326", grid.rio_crs.to_wkt(), always_xy=True)
    left, bottom, right, top = grid.bounds
    rows = []
    for sid, rec in stations.groupby("station_id", sort=True):
        lon, lat = float(rec["lon"].dropna().iloc[0]), float(rec["lat"].dropna().iloc[0])
        x, y = to_grid.transform(lon, lat)
        speeds = rec["wind_speed"].to_numpy(dtype=np.float64)
        n = int(np.sum(np.isfinite(speeds) & (speeds > 0)))
        k = c = np.nan
        if n >= min_days:
            k, c = fit_weibull(speeds, method=method)
        rows.append(
            {
                "station_id": str(sid),
                "lon": lon,
                "lat": lat,
                "inside_grid": bool(left <= x <= right and bottom <= y <= top),
                "n_days": n,
                "weibull_k": k,
                "weibull_c": c,
                "used": n >= min_days,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty or not table["used"].any():
        counts = dict(zip(table.get("station_id", []), table.get("n_days", []), strict=True))
        raise DataError(
            f"no station has {min_days} positive daily wind speeds after quality control "
            f"(positive days per station: {counts}); give longer records or lower "
            "products.renewables.wind.min_station_days"
        )
    outside = table.loc[table["used"] & ~table["inside_grid"], "station_id"].tolist()
    if outside:
        log.warning(
            "station(s) %s lie outside the grid; their wind records enter the Weibull shape "
            "as they enter the meteo cube's interpolation",
            ", ".join(outside),
        )
    return table


# --------------------------------------------------------------------------- workflow targets


def product_targets(area_id: str, area: dict, products_cfg: dict) -> list[str]:
    """The product files of one study area, as the workflow's ``rule all`` requests them.

    Change detection, prospectivity and impact need the landsat8 cube; the
    renewables and the conflict zones also the meteo cube. An area with a
    single study year lists no change map, but still its change tables, so
    that ``detect_change`` runs and stops with the library's message.

    Parameters
    ----------
    area_id
        The ``{area}`` wildcard.
    area
        The study area's config block (``sources``, ``time``).
    products_cfg
        The ``products`` config block (``change.pairs``).

    Returns
    -------
    list of str
        Paths relative to the workflow's working directory.

    Raises
    ------
    ConfigError
        If ``products.change.pairs`` names a year outside the study period.
    """
    sources = area["sources"]
    base = f"results/{area_id}/products"
    if "landsat8" not in sources:
        return []
    try:
        pairs = change_pairs(area_years(area), products_cfg["change"]["pairs"])
    except DataError:
        pairs = []
    out = [f"{base}/change/metrics.csv", f"{base}/change/disturbance.csv"]
    out += [f"{base}/change/change_{a}_{b}.tif" for a, b in pairs]
    out += [f"{base}/prospectivity.tif", f"{base}/prospectivity_evaluation.json"]
    out += [f"{base}/impact_{t}.csv" for t in ("vegetation", "reclamation", "water")]
    if "meteo" in sources:
        out += [f"{base}/solar.tif", f"{base}/wind.tif", f"{base}/exclusion.tif"]
        out += [f"{base}/conflicts.csv", f"{base}/conflicts.gpkg"]
    return out


# --------------------------------------------------------------------------- change detection


def change_pairs(
    years: Sequence[int], pairs: Sequence[Sequence[int]] | None = None
) -> list[tuple[int, int]]:
    """The bitemporal pairs of change detection: configured, or consecutive plus first-to-last.

    Parameters
    ----------
    years
        Years with data (the study years).
    pairs
        ``products.change.pairs``: explicit (year_from, year_to) pairs, or
        ``None`` for :func:`coexplore.products.change.bitemporal_pairs`.

    Returns
    -------
    list of (int, int)

    Raises
    ------
    DataError
        If fewer than two years are given (without explicit pairs).
    ConfigError
        If a configured pair is not ordered or names a year outside ``years``.

    Examples
    --------
    >>> change_pairs([2019, 2020, 2021])
    [(2019, 2020), (2020, 2021), (2019, 2021)]
    >>> change_pairs([2019, 2020, 2021], [[2019, 2021]])
    [(2019, 2021)]
    """
    if not pairs:
        return bitemporal_pairs(years)
    known = sorted({int(y) for y in years})
    out = []
    for p in pairs:
        y0, y1 = (int(v) for v in p)
        if not (y0 < y1 and y0 in known and y1 in known):
            raise ConfigError(
                f"products.change.pairs entry {list(p)} must be [year_from, year_to] with "
                f"year_from < year_to, both study years {known}"
            )
        out.append((y0, y1))
    return out


def _change_composites(
    cube_paths: Mapping[str, PathLike],
    *,
    grid: Grid,
    bands: Mapping[str, Sequence[str]],
    how: str,
    years: Sequence[int],
) -> xr.DataArray:
    """Annual composites of every source, bands named ``source_band``, standardised."""
    parts = []
    for source, path in cube_paths.items():
        if source not in DEFAULT_CHANGE_BANDS:
            raise ConfigError(
                f"change detection source {source!r} is not supported; use "
                f"{sorted(DEFAULT_CHANGE_BANDS)}"
            )
        names = list(bands.get(source) or DEFAULT_CHANGE_BANDS[source])
        ds = _open_on_grid(path, grid)
        _cube_bands(ds, names, path)
        data = ds["data"].sel(band=names)
        if data.chunks is not None:  # a median over time needs whole series per chunk
            data = data.chunk({"time": -1})
        comp = annual_composites(data, bands=names, how=how)
        missing = sorted(set(years) - {int(y) for y in comp["year"].values})
        if missing:
            raise InputError(
                path,
                f"cube has no time step in year(s) {missing}",
                "extend the cube's period or change products.change.pairs",
            )
        comp = comp.sel(year=list(years)).load()
        comp = comp.assign_coords(band=[f"{source}_{b}" for b in names])
        parts.append(comp.drop_vars([c for c in comp.coords if c not in comp.dims]))
    if not parts:
        raise DataError(
            "no cube for change detection; products.change.sources must name a source of "
            "the area (landsat8 or sentinel1)"
        )
    return standardise_bands(xr.concat(parts, dim="band"))


def step_detect_change(
    cube_paths: Mapping[str, PathLike],
    truth_paths: Mapping[int, PathLike],
    map_paths: Mapping[int, PathLike],
    *,
    area: dict,
    cfg: dict,
    split_cfg: dict,
    splits_path: str | Path | None = None,
    out_maps: PathLike,
    out_metrics: PathLike,
    out_disturbance: PathLike,
    threads: int = 1,
) -> pd.DataFrame:
    """CVA + Otsu and the siamese FFT network on every bitemporal pair, with disturbance areas.

    Parameters
    ----------
    cube_paths
        Source -> cube store (``landsat8``, ``sentinel1``).
    truth_paths
        Year -> ground-truth land-use raster (labels of the network and the
        reference of the metrics).
    map_paths
        Year -> predicted land-use map (disturbed/reclaimed areas).
    area
        The study area's config block (grid, seed, time).
    cfg
        ``products.change`` (pairs, bands, composite, truth_classes,
        threshold, net).
    split_cfg
        ``block_size`` and ``split_fractions`` of the spatial split (the
        classical block).
    out_maps
        Zarr store with the (pair, y, x) layers (``cva_magnitude``,
        ``cva_change``, ``net_probability``, ``net_change``, ``truth_change``).
    out_metrics
        CSV: precision, recall, F1, IoU per pair and method on the test blocks.
    out_disturbance
        CSV: newly disturbed / reclaimed hectares per year from the
        predicted maps beside the same from the truth.
    threads
        Torch CPU threads.

    Returns
    -------
    pandas.DataFrame
        The metrics table.

    Raises
    ------
    DataError
        If fewer than two years have ground truth (the library's message).
    ConfigError
        If a configured pair is not two ordered study years, or a source
        other than landsat8/sentinel1 is given.
    InputError
        If a cube lacks a band or a year, or lies on another grid.
    """
    import torch

    from ..products.change import ChangeNetConfig, disturbance_areas, run_change_detection

    torch.set_num_threads(max(int(threads), 1))
    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    pairs = change_pairs(sorted(int(y) for y in truth_paths), cfg.get("pairs"))
    years = sorted({y for p in pairs for y in p})
    truth = {y: read_class_map(truth_paths[y], grid) for y in years}
    composites = _change_composites(
        cube_paths,
        grid=grid,
        bands=cfg.get("bands") or {},
        how=cfg.get("composite", "median"),
        years=years,
    )
    from .splits import area_splits

    split = area_splits(
        splits_path,
        grid,
        block_size=split_cfg["block_size"],
        fractions=split_cfg["split_fractions"],
        seed=seed,
    )
    classes = cfg.get("truth_classes")
    net_cfg = ChangeNetConfig(**(cfg.get("net") or {}))
    maps, metrics = run_change_detection(
        composites,
        truth,
        split=split,
        config=net_cfg,
        seed=seed,
        classes=None if classes is None else _codes(classes, CLASS_CODES, "truth_classes"),
        threshold=float(cfg.get("threshold", 0.5)),
        pairs=pairs,
    )
    predicted = {int(y): read_class_map(p, grid) for y, p in map_paths.items()}
    pixel_area = grid.resolution**2
    disturbance = disturbance_areas(predicted, pixel_area).merge(
        disturbance_areas({y: read_class_map(p, grid) for y, p in truth_paths.items()}, pixel_area),
        on=["year_from", "year"],
        suffixes=("_predicted", "_truth"),
        how="left",
    )
    metrics.insert(3, "bands", ",".join(str(b) for b in composites["band"].values))
    maps = maps.assign_coords(x=grid.x_coords(), y=grid.y_coords()).rio.write_crs(grid.crs)
    maps.attrs = {
        "pairs": json.dumps([list(map(int, p.split("-"))) for p in maps["pair"].values]),
        "bands": json.dumps([str(b) for b in composites["band"].values]),
        "net": json.dumps(net_cfg.__dict__),
        "threshold": float(cfg.get("threshold", 0.5)),
    }
    with atomic_path(out_maps) as tmp:
        maps.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)
    _write_csv(metrics, out_metrics)
    _write_csv(disturbance, out_disturbance)
    for row in metrics.itertuples():
        log.info(
            "%d-%d %s: F1 %.3f IoU %.3f (precision %.3f, recall %.3f, %d test pixels)",
            row.year_from,
            row.year_to,
            row.method,
            row.f1,
            row.iou,
            row.precision,
            row.recall,
            row.n_test,
        )
    return metrics


def step_export_change_map(
    maps_path: PathLike, *, year_from: int, year_to: int, area: dict, out: PathLike
) -> Path:
    """Write one pair of the change store as a 4-band COG.

    Bands: ``cva_magnitude`` (standard deviations), ``cva_change`` (0/1),
    ``net_probability`` (0..1), ``net_change`` (0/1); NaN where the
    composites have no data.

    Parameters
    ----------
    maps_path
        The store written by :func:`step_detect_change`.
    year_from, year_to
        The pair.
    area
        The study area's config block.
    out
        Target GeoTIFF.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        If the store is unreadable or lacks the pair.
    """
    grid = Grid.from_config(area["grid"])
    try:
        ds = xr.open_zarr(maps_path, consolidated=True)
    except Exception as exc:  # zarr raises several unrelated types for broken stores
        raise InputError(
            maps_path, f"not a readable change store ({exc})", "rerun detect_change"
        ) from exc
    label = f"{int(year_from)}-{int(year_to)}"
    pairs = [str(p) for p in ds["pair"].values]
    if label not in pairs:
        raise InputError(
            maps_path,
            f"holds pairs {pairs}, not {label}",
            "add the pair to products.change.pairs and rerun detect_change",
        )
    sel = ds.sel(pair=label).load()
    valid = np.isfinite(sel["cva_magnitude"].values)
    layers = [np.where(valid, sel[name].values.astype(np.float32), np.nan) for name in CHANGE_BANDS]
    _geotiff(
        out,
        layers,
        grid=grid,
        names=CHANGE_BANDS,
        units=("standard deviations", "1", "probability", "1"),
        tags={
            "YEAR_FROM": year_from,
            "YEAR_TO": year_to,
            "CVA_THRESHOLD": "otsu",
            "NET_THRESHOLD": ds.attrs.get("threshold", ""),
            "BANDS": ds.attrs.get("bands", ""),
        },
    )
    return Path(out)


# --------------------------------------------------------------------------- prospectivity


def step_map_prospectivity(
    landsat_path: PathLike,
    geology_path: PathLike,
    ore_path: PathLike,
    *,
    area: dict,
    cfg: dict,
    out_map: PathLike,
    out_evaluation: PathLike,
    out_success: PathLike,
) -> dict[str, float]:
    """Prospectivity map from a Landsat 8 median composite and the geology, evaluated on the ore zone.

    Parameters
    ----------
    landsat_path, geology_path
        Cube stores (landsat8; geology with bands lithology, fault).
    ore_path
        Ground-truth ore zone raster (evaluation only).
    area
        The study area's config block.
    cfg
        ``products.prospectivity`` (year, months, lithology_weights,
        evidence_weights, fault_decay_m, method, gamma, top_fraction).
    out_map
        COG: band ``prospectivity`` (0..1) then one band per evidence membership.
    out_evaluation
        JSON: ROC AUC, success-rate AUC, ore captured in the top fraction.
    out_success
        CSV: the success-rate curve.

    Returns
    -------
    dict
        The evaluation summary.

    Raises
    ------
    DataError
        If the chosen year/months hold no Landsat time step, or the ore zone
        is all ore or all background.
    ConfigError
        If a lithology weight names an unknown lithology.
    InputError
        If a cube lacks a band or lies on another grid.
    """
    grid = Grid.from_config(area["grid"])
    year = int(cfg.get("year") or area_years(area)[-1])
    months = cfg.get("months")
    ls = _open_on_grid(landsat_path, grid)
    bands = list(Landsat8.reflective)
    _cube_bands(ls, bands, landsat_path)
    data = ls["data"].sel(band=bands)
    when = data["time"].dt.year == year
    if months:
        when &= data["time"].dt.month.isin(list(months))
    if not bool(when.any()):
        raise DataError(
            f"{landsat_path}: no landsat8 time step in {year}"
            + (f" months {list(months)}" if months else "")
            + "; set products.prospectivity.year/months inside the study period"
        )
    data = data.sel(time=when)
    if data.chunks is not None:
        data = data.chunk({"time": -1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sr = data.median("time", skipna=True).load()
    geo = _open_on_grid(geology_path, grid)
    _cube_bands(geo, Static.geology, geology_path)
    lith = geo["data"].sel(band="lithology").values
    fault = geo["data"].sel(band="fault").values
    weights = cfg.get("lithology_weights") or {}
    codes = _codes(list(weights), LITHOLOGY_CODES, "lithology_weights keys")
    lith_weights = dict(zip(codes, (float(w) for w in weights.values()), strict=True))
    result = prospectivity_map(
        sr,
        lith,
        fault,
        pixel_size=grid.resolution,
        lithology_weights=lith_weights,
        fault_decay_m=float(cfg.get("fault_decay_m", 500.0)),
        evidence_weights=cfg.get("evidence_weights"),
        method=cfg.get("method", "weighted"),
        gamma=float(cfg.get("gamma", 0.9)),
    )
    ore = read_class_map(ore_path, grid)
    summary, curve = evaluate_prospectivity(
        result["prospectivity"].values, ore, top_fraction=float(cfg.get("top_fraction", 0.1))
    )
    summary = {
        **summary,
        "year": year,
        "months": list(months) if months else "all",
        "method": result.attrs["method"],
        "n_pixels": int(np.isfinite(result["prospectivity"].values).sum()),
        "n_ore_pixels": int((ore > 0).sum()),
    }
    names = ["prospectivity", *[n for n in result.data_vars if n != "prospectivity"]]
    _geotiff(
        out_map,
        [result[n].values for n in names],
        grid=grid,
        names=names,
        units=["1"] * len(names),
        tags={"YEAR": year, "MONTHS": summary["months"], **result.attrs},
    )
    _write_json(summary, out_evaluation)
    _write_csv(curve, out_success)
    log.info(
        "prospectivity (%s): ROC AUC %.3f, ore captured in the top %.0f%%: %.3f",
        summary["method"],
        summary["roc_auc"],
        100 * summary["top_fraction"],
        summary["ore_captured_top"],
    )
    return summary


# --------------------------------------------------------------------------- renewables


def step_map_renewables(
    meteo_path: PathLike,
    landsat_path: PathLike,
    landuse_path: PathLike,
    stations_path: PathLike,
    *,
    dem_path: PathLike | None,
    area: dict,
    cfg: dict,
    out_solar: PathLike,
    out_wind: PathLike,
    out_exclusion: PathLike,
    out_stations: PathLike,
) -> dict[str, float]:
    """Solar and wind resource maps in physical units, with exclusions.

    Parameters
    ----------
    meteo_path
        Meteo cube (solar_irradiance, wind_speed, temperature).
    landsat_path
        Landsat 8 cube; ``1 - clear_fraction`` is the cloud frequency.
    landuse_path
        Predicted land use of the last study year (exclusions, roughness).
    stations_path
        ``raw/meteo/stations.csv``: daily records for the Weibull shape.
    dem_path
        DEM cube; ``None`` falls back to flat terrain at sea level (a
        ``FlatTerrainWarning``: no slope/aspect correction, no slope
        exclusion, sea-level air density).
    area
        The study area's config block.
    cfg
        ``products.renewables`` (excluded_classes, solar, wind).
    out_solar
        COG: ``ghi_w_m2`` (irradiance on the surface, masked),
        ``energy_kwh_m2_yr`` (masked), ``energy_resource_kwh_m2_yr`` (unmasked).
    out_wind
        COG: ``speed_hub_m_s``, ``power_density_w_m2`` (masked),
        ``power_density_resource_w_m2`` (unmasked).
    out_exclusion
        COG uint8: ``solar_excluded``, ``wind_excluded`` (1 = excluded).
    out_stations
        CSV: the per-station Weibull fits.

    Returns
    -------
    dict
        Area means of the energy, power density and the Weibull k used.

    Raises
    ------
    InputError
        If a cube lacks a band or ``clear_fraction``, or lies on another grid.
    DataError
        If no station has enough daily wind speeds, or a layer is empty.
    ConfigError
        If an excluded class name is unknown.
    """
    grid = Grid.from_config(area["grid"])
    solar_cfg, wind_cfg = cfg.get("solar") or {}, cfg.get("wind") or {}
    excluded = _codes(
        cfg.get("excluded_classes", ["water", "built_up", "mining"]),
        CLASS_CODES,
        "excluded_classes",
    )
    meteo = _open_on_grid(meteo_path, grid)
    _cube_bands(meteo, ["solar_irradiance", "wind_speed", "temperature"], meteo_path)
    ghi = annual_mean_climatology(meteo["data"].sel(band="solar_irradiance"))
    wind10 = annual_mean_climatology(meteo["data"].sel(band="wind_speed"))
    temperature = annual_mean_climatology(meteo["data"].sel(band="temperature"))
    ls = _open_on_grid(landsat_path, grid)
    if "clear_fraction" not in ls:
        raise InputError(
            landsat_path,
            "cube has no clear_fraction (share of clear acquisitions)",
            "rebuild the landsat8 cube with the current build_cube",
        )
    cloud = 1.0 - ls["clear_fraction"].values.astype(np.float64)
    elevation = None
    if dem_path is not None:
        dem = _open_on_grid(dem_path, grid)
        _cube_bands(dem, ["elevation"], dem_path)
        elevation = dem["data"].sel(band="elevation").values.astype(np.float64)
    landuse = read_class_map(landuse_path, grid)
    clean, _ = quality_control(read_stations(stations_path))
    fits = station_weibull(
        clean,
        grid,
        method=wind_cfg.get("weibull_method", "mle"),
        min_days=int(wind_cfg.get("min_station_days", 30)),
    )
    k = float(fits.loc[fits["used"], "weibull_k"].median())
    solar = solar_potential(
        ghi,
        pixel_size=grid.resolution,
        latitude_deg=grid_latitude(grid),
        cloud_frequency=cloud,
        elevation=elevation,
        landuse=landuse,
        albedo=float(solar_cfg.get("albedo", 0.2)),
        max_slope_deg=float(solar_cfg.get("max_slope_deg", 30.0)),
        excluded_classes=excluded,
    )
    wind = wind_potential(
        wind10,
        landuse=landuse,
        temperature_c=temperature,
        pixel_size=grid.resolution,
        elevation=elevation,
        hub_height=float(wind_cfg.get("hub_height", 100.0)),
        ref_height=float(wind_cfg.get("ref_height", 10.0)),
        profile=wind_cfg.get("profile", "log"),
        alpha=float(wind_cfg.get("alpha", 1.0 / 7.0)),
        weibull_k=k,
        max_slope_deg=float(wind_cfg.get("max_slope_deg", 20.0)),
        excluded_classes=excluded,
    )
    tags = {"LANDUSE": Path(landuse_path).name}  # the attrs add flat_terrain_fallback
    _geotiff(
        out_solar,
        [solar["irradiance_surface"], solar["energy"], solar["energy_resource"]],
        grid=grid,
        names=SOLAR_BANDS,
        units=("W m-2", "kWh m-2 yr-1", "kWh m-2 yr-1"),
        tags={**tags, **solar.attrs},
    )
    _geotiff(
        out_wind,
        [wind["speed_hub"], wind["power_density"], wind["power_density_resource"]],
        grid=grid,
        names=WIND_BANDS,
        units=("m s-1", "W m-2", "W m-2"),
        tags={**tags, **wind.attrs, "WEIBULL_K": f"{k:.4f}"},
    )
    write_geotiff(
        out_exclusion,
        np.stack([solar["excluded"].values, wind["excluded"].values]).astype(np.uint8),
        transform=grid.transform,
        crs=grid.crs,
        nodata=255,
        band_names=["solar_excluded", "wind_excluded"],
        units=["1", "1"],
        tags={**{k_: str(v) for k_, v in tags.items()}, "EXCLUDED_CLASSES": str(excluded)},
    )
    _write_csv(fits, out_stations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = {
            "energy_kwh_m2_yr_mean": float(np.nanmean(solar["energy"].values)),
            "power_density_w_m2_mean": float(np.nanmean(wind["power_density"].values)),
            "weibull_k": k,
        }
    log.info(
        "solar %.0f kWh/m2/yr, wind %.0f W/m2 at %.0f m (Weibull k %.2f from %d station(s))",
        summary["energy_kwh_m2_yr_mean"],
        summary["power_density_w_m2_mean"],
        wind.attrs["hub_height_m"],
        k,
        int(fits["used"].sum()),
    )
    return summary


# --------------------------------------------------------------------------- conflicts


def step_find_conflicts(
    prospectivity_path: PathLike,
    landuse_path: PathLike,
    solar_path: PathLike | None,
    wind_path: PathLike | None,
    *,
    area: dict,
    cfg: dict,
    out_csv: PathLike,
    out_gpkg: PathLike,
) -> pd.DataFrame:
    """Ranked conflict / co-location zones of mineral and renewable resources.

    Parameters
    ----------
    prospectivity_path
        ``prospectivity.tif`` (band ``prospectivity``).
    landuse_path
        Predicted land use of the last study year (active mining).
    solar_path, wind_path
        ``solar.tif`` / ``wind.tif``; their unmasked resource bands are
        used; either may be ``None`` (not both).
    area
        The study area's config block.
    cfg
        ``products.conflicts`` (top_prospectivity, top_solar, top_wind,
        min_pixels, resources).
    out_csv, out_gpkg
        The ranked table and the zones as GeoPackage polygons.

    Returns
    -------
    pandas.DataFrame
        The zone table, best first.

    Raises
    ------
    InputError
        If a map lacks its band or lies on another grid.
    DataError
        If neither a solar nor a wind map is given.
    """
    grid = Grid.from_config(area["grid"])
    resources = cfg.get("resources", ["solar", "wind"])
    prospectivity = read_named_band(prospectivity_path, "prospectivity", grid)
    mining = read_class_map(landuse_path, grid) == MINING
    solar = (
        read_named_band(solar_path, "energy_resource_kwh_m2_yr", grid)
        if solar_path is not None and "solar" in resources
        else None
    )
    wind = (
        read_named_band(wind_path, "power_density_resource_w_m2", grid)
        if wind_path is not None and "wind" in resources
        else None
    )
    labels, table = conflict_zones(
        prospectivity,
        mining=mining,
        solar=solar,
        wind=wind,
        pixel_size=grid.resolution,
        top_prospectivity=float(cfg.get("top_prospectivity", 10.0)),
        top_solar=float(cfg.get("top_solar", 20.0)),
        top_wind=float(cfg.get("top_wind", 20.0)),
        min_pixels=int(cfg.get("min_pixels", 4)),
        transform=grid.transform,
    )
    export_conflicts(
        labels, table, transform=grid.transform, crs=grid.crs, csv_path=out_csv, gpkg_path=out_gpkg
    )
    log.info(
        "%d conflict zone(s); best: %s", len(table), table["reasons"].iloc[0] if len(table) else "-"
    )
    return table


# --------------------------------------------------------------------------- impact


def step_assess_impact(
    landsat_path: PathLike,
    map_paths: Mapping[int, PathLike],
    *,
    area: dict,
    cfg: dict,
    out_vegetation: PathLike,
    out_reclamation: PathLike,
    out_water: PathLike,
) -> dict[str, pd.DataFrame]:
    """Vegetation loss and NDVI trend per ring, reclamation progress and water near mines.

    Parameters
    ----------
    landsat_path
        Landsat 8 cube (annual median NDVI from red and nir).
    map_paths
        Year -> predicted land-use map.
    area
        The study area's config block.
    cfg
        ``products.impact`` (rings, water_buffer_m).
    out_vegetation, out_reclamation, out_water
        The three CSV tables.

    Returns
    -------
    dict
        ``vegetation``, ``reclamation`` and ``water`` tables.

    Raises
    ------
    DataError
        If fewer than two years have both a map and NDVI, or the rings are invalid.
    InputError
        If the cube lacks red/nir or lies on another grid.
    """
    grid = Grid.from_config(area["grid"])
    ls = _open_on_grid(landsat_path, grid)
    _cube_bands(ls, ["red", "nir"], landsat_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ndvi = annual_ndvi(ls["data"].sel(band=["red", "nir"])).load()
    landuse = {int(y): read_class_map(p, grid) for y, p in map_paths.items()}
    rings = [
        tuple(float(v) for v in r) for r in cfg.get("rings", [[0, 250], [250, 500], [500, 1000]])
    ]
    tables = impact_tables(
        landuse,
        ndvi.transpose("year", "y", "x"),
        pixel_size=grid.resolution,
        rings=rings,
        water_buffer_m=float(cfg.get("water_buffer_m", 500.0)),
    )
    _write_csv(tables["vegetation"], out_vegetation)
    _write_csv(tables["reclamation"], out_reclamation)
    _write_csv(tables["water"], out_water)
    return tables


__all__ = [
    "CHANGE_BANDS",
    "SOLAR_BANDS",
    "WIND_BANDS",
    "annual_mean_climatology",
    "change_pairs",
    "product_targets",
    "read_class_map",
    "read_named_band",
    "standardise_bands",
    "station_weibull",
    "step_assess_impact",
    "step_detect_change",
    "step_export_change_map",
    "step_find_conflicts",
    "step_map_prospectivity",
    "step_map_renewables",
]
