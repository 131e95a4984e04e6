"""Report sections on the data: the study area (true colour, SAR, DEM, land
use) and data quality (GCP fits, co-registration, clouds, skipped scenes,
station QC)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.cubes import open_cube
from ..io.rasters import read_raster
from ..sensors import LandUse
from ._common import SectionInputs, figure, finish, table
from .blocks import Note, Section
from .context import ReportContext
from .figures import (
    Panel,
    image_figure,
    landuse_figure,
    percentile_stretch,
    scene_metric_figure,
    timeline_figure,
)
from .readers import cube_preview, decimation_step, read_table

RGB_BANDS = ("red", "green", "blue")


def clearest_time(
    unclear_share: Sequence[float] | np.ndarray, times: pd.DatetimeIndex, months: Sequence[int]
) -> int | None:
    """Index of the clearest time step among the given calendar months.

    Parameters
    ----------
    unclear_share
        Per time step, the share of pixels that were gap-filled or have no value.
    times
        The time coordinate.
    months
        Calendar months to search (e.g. the summer months 6, 7, 8).

    Returns
    -------
    int or None
        The index with the smallest share (the earliest on ties); ``None`` if
        no time step falls in ``months``.

    Examples
    --------
    >>> t = pd.date_range("2021-05-01", periods=4, freq="MS")
    >>> clearest_time([0.0, 0.4, 0.1, 0.1], t, [6, 7, 8])
    2
    """
    share = np.asarray(unclear_share, dtype="float64")
    in_months = np.isin(pd.DatetimeIndex(times).month, list(months)) & np.isfinite(share)
    if not in_months.any():
        return None
    candidates = np.where(in_months, share, np.inf)
    return int(np.argmin(candidates))


def scene_times(scenes: pd.DataFrame) -> pd.Series:
    """Acquisition time of each scene; where the QA table has none (a skipped
    scene), the date in the scene id (Landsat, Sentinel-1 and drone ids all
    carry ``YYYYMMDD``).

    Parameters
    ----------
    scenes
        Columns ``scene_id`` and ``time``.

    Returns
    -------
    pandas.Series
        Timezone-naive timestamps (NaT where neither gives one).

    Examples
    --------
    >>> s = pd.DataFrame({"scene_id": ["LC08_L1TP_123032_20210528_20210604_02_T1", "x"],
    ...                   "time": [None, "2021-01-02T03:04:05Z"]})
    >>> [str(t) for t in scene_times(s)]
    ['2021-05-28 00:00:00', '2021-01-02 03:04:05']
    """
    given = pd.to_datetime(scenes["time"], utc=True, format="mixed", errors="coerce")
    given = given.dt.tz_localize(None)
    from_id = pd.to_datetime(
        scenes["scene_id"].astype(str).str.extract(r"(?<!\d)(\d{8})(?!\d)")[0],
        format="%Y%m%d",
        errors="coerce",
    )
    return given.fillna(from_id)


def class_shares(classes: np.ndarray) -> pd.Series:
    """Share (%) of each land-use class among the labelled pixels (code 0 excluded).

    Examples
    --------
    >>> class_shares(np.array([[1, 1, 2, 0]])).round(2).tolist()
    [66.67, 33.33, 0.0, 0.0, 0.0, 0.0]
    """
    codes = sorted(LandUse.codes)
    values = np.asarray(classes).ravel()
    labelled = values[values != LandUse.nodata]
    counts = np.array([(labelled == c).sum() for c in codes], dtype="float64")
    total = counts.sum()
    shares = counts / total * 100 if total else np.full(len(codes), np.nan)
    return pd.Series(shares, index=pd.Index(codes, name="class"))


def _landsat_rgb(ctx: ReportContext, path: Path) -> tuple[np.ndarray, str] | None:
    ds = open_cube(path)
    names = [str(b) for b in ds["band"].values]
    if not set(RGB_BANDS) <= set(names):
        raise InputError(
            path, f"Landsat cube lacks {RGB_BANDS} (bands: {names})", "rebuild the cube"
        )
    step = decimation_step((ds.sizes["y"], ds.sizes["x"]), ctx.options.max_preview_pixels)
    sub = ds.sel(band=list(RGB_BANDS)).isel(y=slice(None, None, step), x=slice(None, None, step))
    unclear = ~np.isfinite(sub["data"])
    if "filled" in sub:
        unclear = unclear | sub["filled"].astype(bool)
    share = unclear.mean(("band", "y", "x")).values
    times = pd.DatetimeIndex(ds["time"].values)
    idx = clearest_time(share, times, ctx.options.rgb_months)
    note = ""
    if idx is None:
        idx = clearest_time(share, times, range(1, 13))
        note = " (no time step in the requested months: clearest of the year)"
    if idx is None:
        return None
    rgb = np.stack(
        [
            cube_preview(path, band=b, time=idx, max_size=ctx.options.max_preview_pixels)
            for b in RGB_BANDS
        ]
    )
    label = (
        f"Landsat 8 true colour, {times[idx]:%Y-%m}{note}; "
        f"{share[idx] * 100:.0f}% of pixels gap-filled"
    )
    return percentile_stretch(rgb), label


def study_area_section(ctx: ReportContext) -> Section:
    """True colour, SAR VV, DEM, and ground truth beside predicted land use per year.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a cube or raster exists but cannot be read.
    """
    sec = Section(
        "study-area",
        "Study area",
        f"Area {ctx.area_id}: sources {', '.join(ctx.sources)}, years "
        f"{ctx.years[0]}–{ctx.years[-1]}, grid {ctx.area.get('grid', {}).get('crs', '?')} at "
        f"{ctx.area.get('grid', {}).get('resolution', '?')} m.",
    )
    inp = SectionInputs(ctx)
    size = ctx.options.max_preview_pixels
    panels: list[Panel] = []
    rgb_label = "no Landsat cube"
    if "landsat8" in ctx.sources and (p := inp.get("cubes", "landsat8.zarr")):
        rgb = _landsat_rgb(ctx, p)
        if rgb is not None:
            panels.append(Panel(rgb[1], rgb[0]))
            rgb_label = rgb[1]
    if "sentinel1" in ctx.sources and (p := inp.get("cubes", "sentinel1.zarr")):
        vv = cube_preview(p, band="vv", max_size=size)
        panels.append(Panel("Sentinel-1 VV, median over time", vv, "gray", "sigma0 (dB)"))
    if p := inp.get("cubes", "dem.zarr"):
        dem = cube_preview(p, band="elevation", max_size=size)
        panels.append(Panel("DEM", dem, "terrain", "elevation (m)"))
    if panels:
        sec.add(
            figure(
                ctx,
                image_figure(panels, ncols=3),
                "Study area overview",
                f"{rgb_label} (the clearest of months {list(ctx.options.rgb_months)}, "
                "2–98 % stretch), temporal median of Sentinel-1 VV, and the DEM, "
                "from cubes/*.zarr.",
            )
        )
    rows, shares = [], {}
    for year in ctx.years:
        truth_path = inp.external(ctx.truth.get(year), f"ground truth {year}")
        pred_path = inp.get("maps", f"landuse_{year}.tif")
        maps = {}
        for kind, path in (("truth", truth_path), ("predicted", pred_path)):
            if path is not None:
                arr = read_raster(path)[0][0]
                shares[f"{year} {kind}"] = class_shares(arr)
                step = decimation_step(arr.shape, size)
                maps[kind] = arr[::step, ::step].astype("float64")
        if maps:
            rows.append((str(year), maps.get("truth"), maps.get("predicted")))
    if rows:
        sec.add(
            figure(
                ctx,
                landuse_figure(rows),
                "Land use, ground truth and predicted",
                "Ground truth (raw/truth/landuse_{year}.tif) beside the classical map "
                "(maps/landuse_{year}.tif) for each year.",
            )
        )
        frame = pd.DataFrame(shares)
        frame.insert(0, "name", [LandUse.codes[c] for c in frame.index])
        sec.add(
            table(
                ctx,
                "tab-landuse-shares",
                "Share of each land-use class (% of labelled pixels) in the ground truth "
                "and the predicted maps, per year.",
                frame,
            )
        )
    return finish(sec, inp, "No study-area layers")


def _qa_summary(scenes: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per-source QA summary (what the quality table shows)."""
    rows = []
    for src, grp in scenes.groupby("source", sort=False):
        ok = grp["status"].eq("ok")
        row = {
            "source": src,
            "scenes": len(grp),
            "used": int(ok.sum()),
            "skipped": int((~ok).sum()),
        }
        for col, label in (
            ("gcp_rmse_px", "GCP RMSE mean (px)"),
            ("coreg_residual_px", "co-reg. residual mean (px)"),
            ("coreg_residual_after_px", "residual after corr. mean (px)"),
        ):
            if col in grp:
                row[label] = grp[col].mean()
        if "coreg_residual_after_px" in grp:
            after = grp["coreg_residual_after_px"]
            row["residual after corr. max (px)"] = after.max()
            row[f"scenes above {target:g} px after corr."] = int((after > target).sum())
        if "coreg_flagged" in grp:
            # bools, or "True"/"False" strings once a column had missing values
            row["flagged"] = int(grp["coreg_flagged"].astype(str).str.lower().eq("true").sum())
        for col, label in (("cloud_fraction", "cloud mean"), ("valid_fraction", "valid mean")):
            if col in grp:
                row[label] = grp[col].mean()
        rows.append(row)
    return pd.DataFrame(rows).set_index("source")


def quality_section(ctx: ReportContext) -> Section:
    """Data quality from ``qa/scenes.csv`` and ``qa/meteo_qc.csv``.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a QA table lacks the columns ``source``, ``scene_id``, ``status``, ``time``.
    """
    target = ctx.coreg_target_px
    sec = Section(
        "quality",
        "Data quality",
        f"Per-scene checks of the ingest: geometric fit to ground control points, "
        f"co-registration to the reference stack (target {target:g} px), cloud and "
        f"valid fractions, skipped scenes; station quality control.",
    )
    inp = SectionInputs(ctx)
    if p := inp.get("qa", "scenes.csv"):
        scenes = read_table(p, required=["source", "scene_id", "status", "time"])
        sec.add(
            table(
                ctx,
                "tab-qa-summary",
                "Scenes per source (qa/scenes.csv): used and skipped, mean GCP RMSE, "
                "co-registration residuals before and after correction against the "
                f"{target:g} px target, flagged scenes, mean cloud and valid fractions.",
                _qa_summary(scenes, target),
            )
        )
        scenes["time"] = scene_times(scenes)
        sec.add(
            figure(
                ctx,
                timeline_figure(scenes),
                "Acquisition timeline",
                "Acquisitions per source (qa/scenes.csv); red crosses are skipped scenes.",
            )
        )
        if "gcp_rmse_px" in scenes and scenes["gcp_rmse_px"].notna().any():
            sec.add(
                figure(
                    ctx,
                    scene_metric_figure(scenes, {"gcp_rmse_px": "GCP RMSE"}, ylabel="RMSE (px)"),
                    "GCP RMSE per scene",
                    "Root-mean-square residual of the ground-control-point affine fit.",
                )
            )
        coreg = {
            c: label
            for c, label in (
                ("coreg_residual_px", "before correction"),
                ("coreg_residual_after_px", "after correction"),
            )
            if c in scenes
        }
        if coreg and scenes[list(coreg)].notna().any().any():
            sec.add(
                figure(
                    ctx,
                    scene_metric_figure(
                        scenes,
                        coreg,
                        ylabel="residual (px)",
                        target=target,
                        target_label=f"{target:g} px target",
                    ),
                    "Co-registration residuals",
                    "Shift to the reference stack measured by phase correlation, before "
                    "and after the correction.",
                )
            )
        fractions = {
            c: c.replace("_", " ") for c in ("cloud_fraction", "valid_fraction") if c in scenes
        }
        if fractions:
            sec.add(
                figure(
                    ctx,
                    scene_metric_figure(scenes, fractions, ylabel="fraction of the grid"),
                    "Cloud and valid fractions",
                    "Share of the grid under cloud/shadow and share with valid data per scene.",
                )
            )
        skipped = scenes[~scenes["status"].eq("ok")]
        if skipped.empty:
            sec.add(Note(f"No scene was skipped ({len(scenes)} scenes used)."))
        else:
            cols = [c for c in ("source", "scene_id", "time", "status", "reason") if c in skipped]
            sec.add(
                table(
                    ctx,
                    "tab-qa-skipped",
                    "Skipped scenes and why (qa/scenes.csv).",
                    skipped[cols].reset_index(drop=True),
                    long=True,
                )
            )
    if "meteo" in ctx.sources and (p := inp.get("qa", "meteo_qc.csv")):
        qc = read_table(p, required=["rows"])
        qc.index = pd.RangeIndex(1, len(qc) + 1, name="station")
        sec.add(
            table(
                ctx,
                "tab-meteo-qc",
                "Station quality control (qa/meteo_qc.csv): records, duplicates, "
                "unsorted records, missing days and values, values out of the physical "
                "range and spikes per variable, one row per station.",
                qc,
            )
        )
    return finish(sec, inp, "No QA tables")
