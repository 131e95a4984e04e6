"""Matplotlib figures of the report, built with the object-oriented API
(:class:`matplotlib.figure.Figure`, Agg canvas; no pyplot state, so figures
can be drawn from any thread and are closed by garbage collection).

Every function takes arrays or tables already read from the run's files and
returns a figure; :func:`coexplore.report.blocks.make_figure` encodes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import DataError
from ..sensors import LandUse

#: Colours of the sources in QA plots (the Tableau palette).
SOURCE_COLOURS = {
    "landsat8": "tab:green",
    "sentinel1": "tab:blue",
    "drone": "tab:orange",
    "meteo": "tab:purple",
}


def percentile_stretch(rgb: np.ndarray, *, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Linear contrast stretch of each band between two percentiles, clipped to 0..1.

    Parameters
    ----------
    rgb
        ``(3, y, x)`` array (NaN = no data).
    low, high
        Percentiles mapped to 0 and 1, computed per band over valid pixels.

    Returns
    -------
    numpy.ndarray
        ``(y, x, 3)`` float array in 0..1 for ``imshow``; NaN pixels are 0.

    Raises
    ------
    DataError
        If the array is not ``(3, y, x)`` or has no valid pixel.

    Examples
    --------
    >>> band = np.arange(101, dtype=float).reshape(1, 101)
    >>> out = percentile_stretch(np.stack([band] * 3), low=10, high=90)
    >>> float(out[0, 50, 0]), float(out[0, 10, 0]), float(out[0, 100, 0])
    (0.5, 0.0, 1.0)
    """
    arr = np.asarray(rgb, dtype="float64")
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise DataError(f"an RGB composite needs shape (3, y, x), got {arr.shape}")
    if not np.isfinite(arr).any():
        raise DataError("the RGB composite has no valid pixel (all NaN)")
    out = np.empty(arr.shape[1:] + (3,))
    for i, band in enumerate(arr):
        valid = band[np.isfinite(band)]
        lo, hi = np.percentile(valid, [low, high]) if valid.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        out[..., i] = np.clip((band - lo) / span, 0.0, 1.0)
    return np.nan_to_num(out, nan=0.0)


def landuse_colormap() -> tuple[ListedColormap, BoundaryNorm]:
    """Colormap and norm of the land-use classes (0 = no data, white).

    Returns
    -------
    (ListedColormap, BoundaryNorm)
        Colours of :attr:`coexplore.sensors.LandUse.colours` for codes 0..6.
    """
    codes = [LandUse.nodata, *sorted(LandUse.codes)]
    colours = [(1.0, 1.0, 1.0)] + [
        tuple(c / 255 for c in LandUse.colours[k]) for k in sorted(LandUse.codes)
    ]
    cmap = ListedColormap(colours, name="landuse")
    norm = BoundaryNorm(np.arange(min(codes) - 0.5, max(codes) + 1.5), cmap.N)
    return cmap, norm


def _hide_axes(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


@dataclass(frozen=True)
class Panel:
    """One raster panel of :func:`image_figure`.

    Attributes
    ----------
    title
        Panel title.
    array
        2-D array, or ``(y, x, 3)`` RGB in 0..1 (no colour bar).
    cmap
        Colormap of a 2-D array.
    label
        Colour-bar label (quantity and unit).
    vmin, vmax
        Colour range; default the 2nd and 98th percentile of the valid values.
    """

    title: str
    array: np.ndarray
    cmap: str = "viridis"
    label: str = ""
    vmin: float | None = None
    vmax: float | None = None


def image_figure(panels: Sequence[Panel], *, ncols: int = 3, size: float = 3.6) -> Figure:
    """Raster panels side by side, each with its own colour bar.

    Parameters
    ----------
    panels
        The panels, row by row.
    ncols
        Panels per row.
    size
        Width of one panel (inches).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``panels`` is empty.
    """
    if not panels:
        raise DataError("a raster figure needs at least one panel")
    ncols = min(ncols, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig = Figure(figsize=(size * ncols, size * 0.95 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        arr = np.asarray(panel.array, dtype="float64")
        ax.set_title(panel.title, fontsize=8)
        _hide_axes(ax)
        if arr.ndim == 3:
            ax.imshow(arr, interpolation="nearest")
            continue
        finite = arr[np.isfinite(arr)]
        lo, hi = panel.vmin, panel.vmax
        if finite.size and (lo is None or hi is None):
            p_lo, p_hi = np.percentile(finite, [2, 98])
            lo = p_lo if lo is None else lo
            hi = p_hi if hi is None else hi
        im = ax.imshow(arr, cmap=panel.cmap, vmin=lo, vmax=hi, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8).set_label(panel.label, fontsize=8)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return fig


def landuse_figure(rows: Sequence[tuple[str, np.ndarray | None, np.ndarray | None]]) -> Figure:
    """Ground truth and predicted land use side by side, one row per year.

    Parameters
    ----------
    rows
        ``(year label, truth, predicted)``; a missing map is ``None`` (its
        panel says so).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``rows`` is empty.
    """
    if not rows:
        raise DataError("a land-use figure needs at least one year")
    cmap, norm = landuse_colormap()
    fig = Figure(figsize=(7.2, 3.2 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for (label, truth, pred), (ax_t, ax_p) in zip(rows, axes, strict=True):
        for ax, arr, kind in ((ax_t, truth, "ground truth"), (ax_p, pred, "predicted")):
            _hide_axes(ax)
            ax.set_title(f"{label}: {kind}", fontsize=9)
            if arr is None:
                ax.text(0.5, 0.5, "not available", ha="center", va="center", transform=ax.transAxes)
                continue
            ax.imshow(np.nan_to_num(arr, nan=LandUse.nodata), cmap=cmap, norm=norm)
    handles = [
        Patch(color=tuple(c / 255 for c in LandUse.colours[k]), label=f"{k} {LandUse.codes[k]}")
        for k in sorted(LandUse.codes)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def _naive_times(values: pd.Series) -> pd.Series:
    """Timestamps without time zone (QA tables write UTC ``...Z`` strings)."""
    times = pd.to_datetime(values, utc=True, format="mixed", errors="coerce")
    return times.dt.tz_localize(None)


def timeline_figure(scenes: pd.DataFrame) -> Figure:
    """Acquisitions per source over time; skipped scenes as red crosses.

    Parameters
    ----------
    scenes
        Columns ``time``, ``source``, ``status``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    sources = list(dict.fromkeys(scenes["source"]))
    fig = Figure(figsize=(9, 0.6 * len(sources) + 1.4), layout="constrained")
    ax = fig.subplots()
    times = _naive_times(scenes["time"])
    for i, src in enumerate(sources):
        sel = scenes["source"].eq(src).to_numpy()
        ok = sel & scenes["status"].eq("ok").to_numpy()
        bad = sel & ~scenes["status"].eq("ok").to_numpy()
        colour = SOURCE_COLOURS.get(src, "tab:gray")
        ax.scatter(times[ok], np.full(ok.sum(), i), marker="|", s=160, color=colour)
        ax.scatter(times[bad], np.full(bad.sum(), i), marker="x", s=40, color="tab:red")
    ax.set_yticks(range(len(sources)), sources)
    ax.set_ylim(-0.7, len(sources) - 0.3)
    ax.set_xlabel("acquisition date")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        handles=[
            Patch(color="tab:gray", label="used (colour = source)"),
            Patch(color="tab:red", label="skipped"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        frameon=False,
    )
    return fig


def scene_metric_figure(
    scenes: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    ylabel: str,
    target: float | None = None,
    target_label: str = "target",
) -> Figure:
    """Per-scene values over time, one marker style per column, one colour per source.

    Parameters
    ----------
    scenes
        Columns ``time``, ``source`` and those of ``columns``.
    columns
        Column -> legend label (e.g. residual before / after correction).
    ylabel
        Axis label with unit.
    target
        Horizontal reference line (e.g. the 0.5 px co-registration target).
    target_label
        Its legend label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    times = _naive_times(scenes["time"])
    markers = ["o", "^", "s", "D"]
    for (col, label), marker in zip(columns.items(), markers, strict=False):
        for src in dict.fromkeys(scenes["source"]):
            sel = scenes["source"].eq(src).to_numpy() & scenes[col].notna().to_numpy()
            if not sel.any():
                continue
            ax.scatter(
                times[sel],
                scenes.loc[sel, col].astype(float),
                marker=marker,
                s=18,
                color=SOURCE_COLOURS.get(src, "tab:gray"),
                facecolors="none" if marker != "o" else None,
                label=f"{src}: {label}",
            )
    if target is not None:
        ax.axhline(target, color="tab:red", ls="--", lw=1, label=target_label)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def heatmap_figure(
    matrix: pd.DataFrame,
    *,
    cmap: str = "viridis",
    label: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = True,
    fmt: str = "{:.2f}",
    xlabel: str = "",
    ylabel: str = "",
) -> Figure:
    """A labelled matrix as a heat map, values written in the cells.

    Parameters
    ----------
    matrix
        Rows and columns labelled.
    cmap, label, vmin, vmax
        Colour scale and its label.
    annotate
        Write the values in the cells (small matrices).
    fmt
        Format of the written values.
    xlabel, ylabel
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = matrix.to_numpy(dtype="float64")
    n_rows, n_cols = values.shape
    fig = Figure(
        figsize=(min(2.0 + 0.55 * n_cols, 12), min(1.6 + 0.4 * n_rows, 10)), layout="constrained"
    )
    ax = fig.subplots()
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(
        range(n_cols), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=7
    )
    ax.set_yticks(range(n_rows), [str(i) for i in matrix.index], fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    if annotate and n_rows * n_cols <= 400:
        finite = values[np.isfinite(values)]
        mid = (np.nanmin(finite) + np.nanmax(finite)) / 2 if finite.size else 0.0
        for r in range(n_rows):
            for c in range(n_cols):
                v = values[r, c]
                if np.isfinite(v):
                    ax.text(
                        c,
                        r,
                        fmt.format(v),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if v < mid else "black",
                    )
    return fig


def confusion_figure(matrices: Sequence[tuple[str, pd.DataFrame]], *, ncols: int = 3) -> Figure:
    """Confusion matrices (rows reference, columns predicted) with counts.

    Parameters
    ----------
    matrices
        ``(title, matrix)`` pairs; a matrix's index and columns are class codes.
    ncols
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``matrices`` is empty.
    """
    if not matrices:
        raise DataError("a confusion figure needs at least one matrix")
    ncols = min(ncols, len(matrices))
    nrows = int(np.ceil(len(matrices) / ncols))
    fig = Figure(figsize=(3.4 * ncols, 3.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, m) in zip(axes, matrices, strict=False):
        values = m.to_numpy(dtype="float64")
        ax.imshow(values, cmap="Blues")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(values.shape[1]), [str(c) for c in m.columns], fontsize=7)
        ax.set_yticks(range(values.shape[0]), [str(i) for i in m.index], fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("reference", fontsize=8)
        top = np.nanmax(values) if values.size else 0.0
        for r in range(values.shape[0]):
            for c in range(values.shape[1]):
                ax.text(
                    c,
                    r,
                    f"{values[r, c]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if values[r, c] > top / 2 else "black",
                )
    for ax in axes[len(matrices) :]:
        ax.set_visible(False)
    return fig


def bar_figure(
    frame: pd.DataFrame,
    *,
    ylabel: str,
    horizontal: bool = False,
    errors: pd.DataFrame | None = None,
    reference: float | None = None,
    reference_label: str = "",
) -> Figure:
    """Grouped bars: one group per row, one bar per column.

    Parameters
    ----------
    frame
        Values (rows = groups, columns = series).
    ylabel
        Value axis label with unit.
    horizontal
        Horizontal bars (long labels, rankings).
    errors
        Error-bar half lengths (e.g. std over seeds) for the columns it has.
    reference
        A reference line (e.g. a published figure).
    reference_label
        Its legend label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n_groups, n_series = frame.shape
    if horizontal:
        size = (8.0, min(0.22 * n_groups * max(1, n_series) ** 0.5 + 1.0, 9.0))
    else:
        size = (max(5.0, min(1.0 + 0.6 * n_groups * n_series, 11.0)), 3.4)
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(n_series, 1)
    pos = np.arange(n_groups)
    for k, col in enumerate(frame.columns):
        offs = pos - 0.4 + width * (k + 0.5)
        vals = frame[col].to_numpy(dtype="float64")
        err = (
            errors[col].to_numpy(dtype="float64") if errors is not None and col in errors else None
        )
        if horizontal:
            ax.barh(offs, vals, height=width, xerr=err, label=str(col), capsize=2)
        else:
            ax.bar(offs, vals, width=width, yerr=err, label=str(col), capsize=2)
    labels = [str(i) for i in frame.index]
    if horizontal:
        ax.set_yticks(pos, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        ax.set_xticks(
            pos,
            labels,
            rotation=30 if n_groups > 4 else 0,
            ha="right" if n_groups > 4 else "center",
        )
        ax.set_ylabel(ylabel)
    if reference is not None:
        line = ax.axvline if horizontal else ax.axhline
        line(reference, color="tab:red", ls="--", lw=1, label=reference_label)
    if n_series > 1 or reference is not None:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    return fig


def curves_figure(
    panels: Sequence[tuple[str, Sequence[tuple[str, np.ndarray, np.ndarray]]]],
    *,
    xlabel: str,
    ylabel: str,
    ncols: int = 3,
) -> Figure:
    """Line plots in panels (training curves, attention over time).

    Parameters
    ----------
    panels
        ``(title, [(label, x, y), ...])``.
    xlabel, ylabel
        Axis labels.
    ncols
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``panels`` is empty.
    """
    if not panels:
        raise DataError("a curve figure needs at least one panel")
    ncols = min(ncols, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig = Figure(figsize=(3.8 * ncols, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, lines) in zip(axes, panels, strict=False):
        for label, x, y in lines:
            ax.plot(x, y, lw=1.2, marker="." if len(x) < 30 else None, label=label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize=6, frameon=False)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return fig


def errorbar_figure(
    summary: pd.DataFrame,
    *,
    panel: str,
    series: str,
    x: str,
    y: str,
    yerr: str,
    xlabel: str,
    ylabel: str,
) -> Figure:
    """Mean with error bars against ``x``, one panel per ``panel`` value and one
    line per ``series`` value (noise curves).

    Parameters
    ----------
    summary
        Long table with columns ``panel``, ``series``, ``x``, ``y``, ``yerr``.
    panel, series, x, y, yerr
        Column names.
    xlabel, ylabel
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``summary`` is empty.
    """
    if summary.empty:
        raise DataError("an error-bar figure needs at least one row")
    kinds = list(dict.fromkeys(summary[panel]))
    fig = Figure(figsize=(4.0 * len(kinds), 3.3), layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False).ravel()
    for ax, kind in zip(axes, kinds, strict=True):
        part = summary[summary[panel] == kind]
        for name, grp in part.groupby(series, sort=False):
            grp = grp.sort_values(x)
            ax.errorbar(
                grp[x], grp[y], yerr=grp[yerr], marker="o", ms=3, capsize=3, label=str(name)
            )
        ax.set_title(str(kind), fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, frameon=False)
    return fig
