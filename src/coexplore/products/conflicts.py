"""Conflict and co-location zones between mineral and renewable-energy resources.

A cell is a *resource* cell where prospectivity is in the top
``top_prospectivity`` percent of the study area or where mining is active; it
is an *energy* cell where the solar (or wind) resource is in the top
``top_solar`` (``top_wind``) percent. Where both meet, land claims compete or
can be developed jointly: connected groups of such cells (8-connectivity,
``scipy.ndimage.label``) are the zones. Percentiles are taken over the
study area's valid cells, so the thresholds adapt to each area. Pass the
energy *resource* layers (before exclusions: ``energy_resource`` and
``power_density_resource`` of :mod:`coexplore.products.renewables`), since
active mining is itself an exclusion of the potential maps.

Zones are ranked for joint development by a score in 0..1: the zone mean of
``(resource rank + energy rank) / 2``, where the resource rank is the
percentile rank of prospectivity (1 on active mining) and the energy rank
the larger of the solar and wind percentile ranks. Ties go to the larger
zone. Each zone carries its reasons in words, where "top N%" is the share of the
study area whose value is at or above the zone's mean, e.g.
``"prospectivity 0.82 (top 10%), wind power density 310 W/m2 (top 20%), 12 ha active mining"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from scipy import ndimage

from ..errors import DataError
from ..io.vector import polygons_from_labels, write_csv, write_gpkg
from ._common import check_aligned, percentile_rank


def _top_mask(values: np.ndarray | None, top_percent: float) -> tuple[np.ndarray, float]:
    """Cells at or above the (100 - top_percent) percentile; the threshold."""
    if values is None:
        return np.zeros((0, 0), bool), float("nan")
    v = np.asarray(values, dtype=np.float64)
    fin = np.isfinite(v)
    if not fin.any():
        raise DataError("a resource layer has no finite cell; check the input maps")
    thr = float(np.percentile(v[fin], 100.0 - top_percent))
    return fin & (v >= thr), thr


def _top_percent(value: float, layer: np.ndarray) -> int:
    """Share of the study area (percent, rounded up, at least 1) at or above ``value``."""
    ref = np.asarray(layer, dtype=np.float64)
    ref = ref[np.isfinite(ref)]
    return max(1, int(np.ceil(100.0 * np.mean(ref >= value) - 1e-9)))


def _fmt_ha(v: float) -> str:
    return f"{v:.0f}" if v >= 10 else f"{v:.2g}"


def conflict_zones(
    prospectivity: np.ndarray,
    *,
    mining: np.ndarray | None = None,
    solar: np.ndarray | None = None,
    wind: np.ndarray | None = None,
    pixel_size: float,
    top_prospectivity: float = 10.0,
    top_solar: float = 20.0,
    top_wind: float = 20.0,
    min_pixels: int = 4,
    transform: Affine | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Label conflict zones and rank them with per-zone statistics and reasons.

    Parameters
    ----------
    prospectivity
        Prospectivity map (y, x) in 0..1.
    mining
        Active mining mask (y, x) (land use == mining in the latest year).
    solar
        Solar resource (y, x), e.g. annual energy in kWh/m2/yr.
    wind
        Wind resource (y, x), power density in W/m2.
    pixel_size
        Pixel edge in metres.
    top_prospectivity, top_solar, top_wind
        Percent of the study area counted as "high" for each layer.
    min_pixels
        Zones smaller than this are dropped.
    transform
        Grid transform; zone centroids are given in map coordinates when set
        (else in pixel row/column).

    Returns
    -------
    labels : numpy.ndarray
        int32 (y, x): 0 outside zones, zone id = rank (1 = best) inside.
    table : pandas.DataFrame
        One row per zone, best first: ``zone``, ``rank``, ``score``,
        ``area_ha``, ``n_pixels``, ``centroid_x``, ``centroid_y``,
        ``prospectivity_mean``, ``prospectivity_top_pct``, ``solar_mean``,
        ``solar_top_pct``, ``wind_mean``, ``wind_top_pct``, ``mining_ha``,
        ``high_prospectivity_ha``, ``high_solar_ha``, ``high_wind_ha`` and
        ``reasons``.

    Raises
    ------
    DataError
        If the layers are misaligned, neither solar nor wind is given, a
        percentage is outside (0, 100] or ``pixel_size`` is not positive.
    """
    if solar is None and wind is None:
        raise DataError("conflict analysis needs a solar or a wind resource map; pass at least one")
    for name, pct in (
        ("top_prospectivity", top_prospectivity),
        ("top_solar", top_solar),
        ("top_wind", top_wind),
    ):
        if not 0 < pct <= 100:
            raise DataError(f"{name}={pct!r} must be a percentage in (0, 100]")
    if not pixel_size > 0:
        raise DataError(f"pixel_size={pixel_size!r} must be positive")
    shape = check_aligned(prospectivity=prospectivity, mining=mining, solar=solar, wind=wind)
    p = np.asarray(prospectivity, dtype=np.float64)
    mine = np.zeros(shape, bool) if mining is None else np.asarray(mining, bool)
    high_p, _ = _top_mask(p, top_prospectivity)
    high_s, _ = (
        _top_mask(solar, top_solar) if solar is not None else (np.zeros(shape, bool), np.nan)
    )
    high_w, _ = _top_mask(wind, top_wind) if wind is not None else (np.zeros(shape, bool), np.nan)
    conflict = (high_p | mine) & (high_s | high_w)
    raw, n = ndimage.label(conflict, structure=np.ones((3, 3), dtype=int))

    r_p = np.where(mine, 1.0, np.nan_to_num(percentile_rank(p)))
    r_s = np.nan_to_num(percentile_rank(solar)) if solar is not None else np.zeros(shape)
    r_w = np.nan_to_num(percentile_rank(wind)) if wind is not None else np.zeros(shape)
    cell_score = 0.5 * (r_p + np.maximum(r_s, r_w))
    ha = pixel_size * pixel_size / 1.0e4

    rows = []
    for zid, sl in enumerate(ndimage.find_objects(raw), start=1):
        if sl is None:
            continue
        m = raw[sl] == zid
        npx = int(m.sum())
        if npx < min_pixels:
            continue
        rr, cc = np.nonzero(m)
        row_c, col_c = rr.mean() + sl[0].start + 0.5, cc.mean() + sl[1].start + 0.5
        cx, cy = (transform @ (col_c, row_c)) if transform is not None else (col_c, row_c)
        rec = {
            "_label": zid,
            "score": float(cell_score[sl][m].mean()),
            "area_ha": npx * ha,
            "n_pixels": npx,
            "centroid_x": float(cx),
            "centroid_y": float(cy),
            "mining_ha": float(mine[sl][m].sum()) * ha,
            "high_prospectivity_ha": float(high_p[sl][m].sum()) * ha,
            "high_solar_ha": float(high_s[sl][m].sum()) * ha if solar is not None else 0.0,
            "high_wind_ha": float(high_w[sl][m].sum()) * ha if wind is not None else 0.0,
        }
        reasons = []
        for key, layer, label, fmt, unit in (
            ("prospectivity", p, "prospectivity", "{:.2f}", ""),
            ("solar", solar, "solar", "{:.0f}", " kWh/m2/yr"),
            ("wind", wind, "wind power density", "{:.0f}", " W/m2"),
        ):
            if layer is None:
                rec[f"{key}_mean"] = np.nan
                rec[f"{key}_top_pct"] = np.nan
                continue
            vals = np.asarray(layer, dtype=np.float64)[sl][m]
            mean = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
            top = _top_percent(mean, layer) if np.isfinite(mean) else np.nan
            rec[f"{key}_mean"] = mean
            rec[f"{key}_top_pct"] = top
            high_key = "high_prospectivity_ha" if key == "prospectivity" else f"high_{key}_ha"
            if rec[high_key] > 0:
                reasons.append(f"{label} {fmt.format(mean)}{unit} (top {top}%)")
        if rec["mining_ha"] > 0:
            reasons.append(f"{_fmt_ha(rec['mining_ha'])} ha active mining")
        rec["reasons"] = ", ".join(reasons)
        rows.append(rec)

    cols = [
        "zone",
        "rank",
        "score",
        "area_ha",
        "n_pixels",
        "centroid_x",
        "centroid_y",
        "prospectivity_mean",
        "prospectivity_top_pct",
        "solar_mean",
        "solar_top_pct",
        "wind_mean",
        "wind_top_pct",
        "mining_ha",
        "high_prospectivity_ha",
        "high_solar_ha",
        "high_wind_ha",
        "reasons",
    ]
    labels = np.zeros(shape, np.int32)
    if not rows:
        return labels, pd.DataFrame(columns=cols)
    table = pd.DataFrame(rows).sort_values(
        ["score", "area_ha"], ascending=[False, False], kind="stable"
    )
    table["rank"] = np.arange(1, len(table) + 1)
    table["zone"] = table["rank"]
    lut = np.zeros(n + 1, np.int32)
    lut[table["_label"].to_numpy()] = table["rank"].to_numpy()
    labels = lut[raw]
    return labels, table[cols].reset_index(drop=True)


def export_conflicts(
    labels: np.ndarray,
    table: pd.DataFrame,
    *,
    transform: Affine,
    crs: str,
    csv_path: str | Path,
    gpkg_path: str | Path,
    layer: str = "conflict_zones",
) -> tuple[Path, Path]:
    """Write the ranked zone table as CSV and the zones as GeoPackage polygons.

    Parameters
    ----------
    labels, table
        Output of :func:`conflict_zones`.
    transform, crs
        Georeferencing of the grid.
    csv_path, gpkg_path
        Targets (written atomically).
    layer
        GeoPackage layer name.

    Returns
    -------
    tuple of pathlib.Path
        (csv_path, gpkg_path).

    Raises
    ------
    DataError
        If a zone of the table has no pixel in ``labels``.
    """
    polys = polygons_from_labels(labels, transform=transform, connectivity=8)
    missing = [int(z) for z in table["zone"] if int(z) not in polys]
    if missing:
        raise DataError(f"zones {missing} of the table have no pixel in the label raster")
    geoms = [polys[int(z)] for z in table["zone"]]
    return (
        write_csv(table, csv_path),
        write_gpkg(gpkg_path, geoms, table, crs=crs, layer=layer),
    )
