"""Time cubes: co-registration check, compositing onto a regular time axis,
gap filling.

Memory stays bounded as the area grows: compositing works one time step at a
time (region writes into a temporary Zarr store) and gap filling works chunk
by chunk with dask, with a halo for the spatial Gaussian so chunk edges give
the same numbers as the unchunked computation.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from .errors import DataError
from .grid import Grid
from .io.atomic import atomic_path
from .io.cubes import empty_like_grid, open_cube, read_qa, read_scene, to_dataset, write_cube

log = logging.getLogger(__name__)

#: a scene needs at least this share of the grid valid in both it and the
#: reference for a phase correlation (the rest stay unmeasured, NaN)
MIN_COREG_OVERLAP = 0.10

#: band used to measure co-registration residuals, per source
COREG_BAND = {"landsat8": "nir", "sentinel1": "vv"}


@dataclass(frozen=True)
class SceneRef:
    """One ingested scene on the grid."""

    scene_id: str
    time: pd.Timestamp
    tif: Path
    qa: dict[str, Any]


def load_scene_refs(tifs: Sequence[str | Path], qas: Sequence[str | Path]) -> list[SceneRef]:
    """Pair scene GeoTIFFs with their QA records, keep the usable ones, sort by time."""
    refs = []
    for tif, qa_path in zip(tifs, qas, strict=True):
        qa = read_qa(qa_path)
        refs.append(
            SceneRef(str(qa["scene_id"]), pd.Timestamp(qa["time"]).tz_localize(None), Path(tif), qa)
        )
    return sorted(refs, key=lambda r: r.time)


def nan_gaussian(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter of a 2-D array ignoring NaN (normalised convolution)."""
    valid = np.isfinite(arr)
    num = ndimage.gaussian_filter(np.where(valid, arr, 0.0), sigma, mode="nearest")
    den = ndimage.gaussian_filter(valid.astype(float), sigma, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 1e-6] = np.nan
    return out


def coregistration_check(
    refs: Sequence[SceneRef],
    *,
    band: str,
    max_residual_px: float,
    upsample_factor: int = 20,
    reference_scenes: int = 24,
    correct: bool = True,
) -> pd.DataFrame:
    """Measure each scene's residual shift against a robust reference.

    The reference is the per-pixel median of the ``reference_scenes`` scenes
    with the largest valid fraction. Each scene's ``band`` is phase-correlated
    against it (subpixel, 1/``upsample_factor`` px). Scenes whose residual
    exceeds ``max_residual_px`` are flagged and, with ``correct``, get the
    negated shift applied at compositing time; the residual after correction
    is recorded too.

    Returns
    -------
    pandas.DataFrame
        One row per scene: scene_id, coreg_dy_px, coreg_dx_px, coreg_residual_px,
        coreg_flagged, shift_dy_px, shift_dx_px (the correction to apply),
        coreg_residual_after_px.
    """
    from .preprocess.geometry import apply_subpixel_shift, phase_correlation_shift

    if not refs:
        return pd.DataFrame(
            columns=[
                "scene_id",
                "coreg_dy_px",
                "coreg_dx_px",
                "coreg_residual_px",
                "coreg_flagged",
                "shift_dy_px",
                "shift_dx_px",
                "coreg_residual_after_px",
            ]
        )
    by_clear = sorted(refs, key=lambda r: -float(r.qa.get("valid_fraction", 0.0)))
    stack = []
    for r in by_clear[:reference_scenes]:
        arr, names = read_scene(r.tif)
        stack.append(arr[names.index(band)])
    with np.errstate(all="ignore"):
        reference = np.nanmedian(np.stack(stack), axis=0)
    rows = []
    for r in refs:
        arr, names = read_scene(r.tif)
        moving = arr[names.index(band)]
        mask = np.isfinite(moving) & np.isfinite(reference)
        if mask.mean() < MIN_COREG_OVERLAP:
            rows.append(
                dict(
                    scene_id=r.scene_id,
                    coreg_dy_px=np.nan,
                    coreg_dx_px=np.nan,
                    coreg_residual_px=np.nan,
                    coreg_flagged=False,
                    shift_dy_px=0.0,
                    shift_dx_px=0.0,
                    coreg_residual_after_px=np.nan,
                )
            )
            continue
        dy, dx, _ = phase_correlation_shift(
            reference, moving, upsample_factor=upsample_factor, mask=mask
        )
        resid = float(math.hypot(dy, dx))
        flagged = resid > max_residual_px
        sdy, sdx, after = 0.0, 0.0, resid
        if flagged and correct:
            # phase_correlation_shift returns the shift that registers `moving`
            # onto `reference`; applying it moves the scene back into place.
            sdy, sdx = float(dy), float(dx)
            shifted = apply_subpixel_shift(moving, sdy, sdx)
            m2 = np.isfinite(shifted) & np.isfinite(reference)
            if m2.mean() >= MIN_COREG_OVERLAP:
                ady, adx, _ = phase_correlation_shift(
                    reference, shifted, upsample_factor=upsample_factor, mask=m2
                )
                after = float(math.hypot(ady, adx))
            else:
                after = float("nan")
        rows.append(
            dict(
                scene_id=r.scene_id,
                coreg_dy_px=float(dy),
                coreg_dx_px=float(dx),
                coreg_residual_px=resid,
                coreg_flagged=bool(flagged),
                shift_dy_px=sdy,
                shift_dx_px=sdx,
                coreg_residual_after_px=after,
            )
        )
    return pd.DataFrame(rows)


def composite(stack: np.ndarray, method: str) -> np.ndarray:
    """Combine valid observations (axis 0) by ``median`` or ``mean``; all-NaN stays NaN."""
    if stack.shape[0] == 0:
        raise DataError("composite of an empty stack")
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "median":
                return np.nanmedian(stack, axis=0)
            if method == "mean":
                return np.nanmean(stack, axis=0)
    raise DataError(f"unknown composite method {method!r}; use 'median' or 'mean'")


def fill_time_linear(values: np.ndarray, *, edge_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN along axis 0 by linear interpolation between the nearest valid
    steps; before the first / after the last valid step, up to ``edge_limit``
    steps take the nearest valid value.

    Vectorised over all other axes (per-pixel ``np.interp`` loops are two
    orders of magnitude slower on a cube, and xarray's interpolate_na runs one
    1-D interpolation per pixel).

    Returns
    -------
    (filled, was_filled)
    """
    a = np.asarray(values, dtype="float32")
    t = a.shape[0]
    valid = np.isfinite(a)
    steps = np.arange(t).reshape((t,) + (1,) * (a.ndim - 1))
    prev_idx = np.maximum.accumulate(np.where(valid, steps, -1), axis=0)
    next_idx = np.flip(np.minimum.accumulate(np.flip(np.where(valid, steps, t), 0), axis=0), 0)
    p = np.clip(prev_idx, 0, t - 1)
    n = np.clip(next_idx, 0, t - 1)
    vp = np.take_along_axis(a, p, axis=0)
    vn = np.take_along_axis(a, n, axis=0)
    has_p, has_n = prev_idx >= 0, next_idx < t
    span = np.where(has_p & has_n, next_idx - prev_idx, 1).astype("float32")
    w = np.where(has_p & has_n, (steps - prev_idx) / np.maximum(span, 1), 0.0).astype("float32")
    interp = np.where(has_p & has_n, vp + w * (vn - vp), np.nan)
    edge_before = ~has_p & has_n & ((next_idx - steps) <= edge_limit)
    edge_after = has_p & ~has_n & ((steps - prev_idx) <= edge_limit)
    interp = np.where(edge_before, vn, interp)
    interp = np.where(edge_after, vp, interp)
    out = np.where(valid, a, interp).astype("float32")
    was_filled = ~valid & np.isfinite(out)
    return out, was_filled


def gap_fill(data: da.Array, *, smooth_sigma: float, edge_limit: int) -> tuple[da.Array, da.Array]:
    """Gap-fill a (time, band, y, x) dask array: linear in time, then a spatial
    Gaussian smoothing of the filled cells only.

    The array must be chunked with the whole time axis in one chunk. The
    Gaussian runs with a halo of ``ceil(4 sigma)`` pixels (``map_overlap``),
    so the result does not depend on the chunking.
    """
    if data.numblocks[0] != 1:
        data = data.rechunk({0: -1})

    def _fill(block: np.ndarray) -> np.ndarray:
        out, was = fill_time_linear(block, edge_limit=edge_limit)
        return np.concatenate([out[None], was[None].astype("float32")], axis=0)

    both = da.map_blocks(_fill, data, new_axis=0, chunks=((2,), *data.chunks), dtype="float32")
    filled_vals, was = both[0], both[1] > 0.5
    if smooth_sigma > 0:
        depth = int(math.ceil(4 * smooth_sigma))

        def _smooth(vals: np.ndarray, mask: np.ndarray) -> np.ndarray:
            out = vals.copy()
            for i in np.ndindex(vals.shape[:2]):
                if mask[i].any():
                    sm = nan_gaussian(vals[i], smooth_sigma)
                    out[i] = np.where(mask[i], sm, vals[i])
            return out

        filled_vals = da.map_overlap(
            _smooth,
            filled_vals,
            was,
            depth={0: 0, 1: 0, 2: depth, 3: depth},
            boundary="none",
            dtype="float32",
        )
    return filled_vals, was


def build_cube(
    refs: Sequence[SceneRef],
    *,
    grid: Grid,
    times: pd.DatetimeIndex,
    source: str,
    bands: Sequence[str],
    out_path: str | Path,
    method: str = "median",
    shifts: pd.DataFrame | None = None,
    fill: bool = True,
    smooth_sigma: float = 1.0,
    edge_limit: int = 3,
    chunks: int = 256,
    attrs: dict[str, Any] | None = None,
    extra_looks: int = 0,
) -> xr.Dataset:
    """Composite ingested scenes onto the regular time axis, gap-fill, write Zarr.

    Parameters
    ----------
    refs
        Usable scenes (status ok), any order.
    grid, times
        The common grid and the regular time axis (left-closed steps).
    source, bands
        Source name and band names (in the scene files' order).
    out_path
        Target ``.zarr`` store (written atomically).
    method
        ``median`` or ``mean`` compositing within a time step.
    shifts
        Per-scene corrections from :func:`coregistration_check`
        (``shift_dy_px``, ``shift_dx_px``); scenes absent get none.
    fill
        Gap-fill (linear in time, then Gaussian on filled cells).
    extra_looks
        Acquisitions not in ``refs`` that still looked at the area (scenes
        skipped as all-cloud); they count in ``clear_fraction``.

    Returns
    -------
    xarray.Dataset
        The written cube, lazily opened.
    """
    from .preprocess.geometry import apply_subpixel_shift

    out_path = Path(out_path)
    edges = (
        times.append(pd.DatetimeIndex([times[-1] + (times[-1] - times[-2])]))
        if len(times) > 1
        else None
    )
    if edges is None:
        raise DataError(f"{source}: the time axis needs at least two steps")
    shift_map = {}
    if shifts is not None and len(shifts):
        shift_map = {
            r.scene_id: (r.shift_dy_px, r.shift_dx_px) for r in shifts.itertuples(index=False)
        }
    tmp_dir = out_path.with_name(f".{out_path.name}.composite")
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    template = empty_like_grid(grid, bands, times, chunks=chunks)
    template.drop_vars("filled").to_zarr(tmp_dir, mode="w", compute=False, consolidated=False)
    n_obs = np.zeros(len(times), dtype=int)
    clear_count = np.zeros(grid.shape, dtype=np.int32)
    try:
        for ti in range(len(times)):
            members = [r for r in refs if edges[ti] <= r.time < edges[ti + 1]]
            if not members:
                continue
            stack = []
            for r in members:
                arr, names = read_scene(r.tif)
                if list(names) != list(bands):
                    raise DataError(
                        f"{r.tif}: bands {names} differ from the cube's {list(bands)}; rerun its ingest"
                    )
                sdy, sdx = shift_map.get(r.scene_id, (0.0, 0.0))
                if sdy or sdx:
                    arr = np.stack([apply_subpixel_shift(b, sdy, sdx) for b in arr])
                stack.append(arr)
                clear_count += np.isfinite(arr).any(axis=0)
            comp = composite(np.stack(stack), method).astype("float32")
            n_obs[ti] = len(members)
            region = to_dataset(comp[None], grid=grid, bands=bands, times=times[ti : ti + 1])
            region = region.drop_vars(["spatial_ref", "band", "y", "x"])
            region["data"].attrs.pop("grid_mapping", None)
            region.to_zarr(tmp_dir, region={"time": slice(ti, ti + 1)}, consolidated=False)
        comp_ds = xr.open_zarr(tmp_dir, consolidated=False, chunks={})
        data = comp_ds["data"].data.rechunk({0: -1, 1: 1, 2: chunks, 3: chunks})
        if fill:
            values, was = gap_fill(data, smooth_sigma=smooth_sigma, edge_limit=edge_limit)
        else:
            values, was = data, da.zeros_like(data, dtype=bool)
        ds = to_dataset(
            values,
            grid=grid,
            bands=bands,
            times=times,
            filled=was,
            attrs={
                "source": source,
                "composite": method,
                "gap_fill": "linear-in-time+gaussian" if fill else "none",
                "smooth_sigma": smooth_sigma,
                "edge_limit": edge_limit,
                "observations_per_step": n_obs.tolist(),
                "source_scenes": [r.scene_id for r in refs],
                **(attrs or {}),
            },
        )
        # share of acquisitions with a valid observation per cell: the
        # complement of the cloud (and shadow) frequency for optical sources
        looks = len(refs) + int(extra_looks)
        ds["clear_fraction"] = (("y", "x"), (clear_count / max(looks, 1)).astype("float32"))
        ds["clear_fraction"].attrs.update(
            {
                "grid_mapping": "spatial_ref",
                "long_name": "valid observations / acquisitions",
                "acquisitions": looks,
            }
        )
        write_cube(ds, out_path, chunks=chunks)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return open_cube(out_path)


def finish_cube(
    data: np.ndarray,
    *,
    grid: Grid,
    times: pd.DatetimeIndex,
    source: str,
    bands: Sequence[str],
    out_path: str | Path,
    fill: bool,
    smooth_sigma: float,
    edge_limit: int,
    chunks: int = 256,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Gap-fill and write a cube that is already on the time axis (meteorology)."""
    arr = da.from_array(np.asarray(data, dtype="float32"), chunks=(-1, 1, chunks, chunks))
    if fill:
        values, was = gap_fill(arr, smooth_sigma=smooth_sigma, edge_limit=edge_limit)
    else:
        values, was = arr, da.zeros_like(arr, dtype=bool)
    ds = to_dataset(
        values,
        grid=grid,
        bands=bands,
        times=times,
        filled=was,
        attrs={"source": source, **(attrs or {})},
    )
    write_cube(ds, out_path, chunks=chunks)
    return open_cube(out_path)


def write_static_cube(
    data: np.ndarray,
    *,
    grid: Grid,
    layer: str,
    bands: Sequence[str],
    out_path: str | Path,
    chunks: int = 256,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Write a static (band, y, x) layer as a cube store."""
    ds = to_dataset(
        np.asarray(data, dtype="float32"),
        grid=grid,
        bands=bands,
        attrs={"source": layer, **(attrs or {})},
    )
    write_cube(ds, out_path, chunks=chunks)
    return open_cube(out_path)


def write_qa_table(rows: pd.DataFrame, path: str | Path) -> None:
    """Write a QA table CSV atomically."""
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False)
