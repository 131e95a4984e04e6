"""Time cubes: co-registration check, compositing onto a regular time axis,
gap filling.

Memory stays bounded as the area grows: the co-registration check matches
a window of at most :data:`COREG_WINDOW` pixels a side, compositing works
tile by tile (:func:`composite_tiles`, into a temporary Zarr store), and gap
filling works tile by tile (:func:`fill_cube_tiles`): each task reads its
tile's whole time series with a halo for the spatial Gaussian, fills it and
writes it into the cube store, so tile edges give the numbers of the
whole-cube computation and no result waits in memory for its writer.
"""

from __future__ import annotations

import logging
import math
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr
import zarr
from rasterio.windows import Window
from scipy import ndimage

from .errors import DataError
from .grid import Grid
from .io.atomic import atomic_path
from .io.cubes import empty_like_grid, open_cube, read_qa, read_scene, to_dataset, write_cube
from .io.rasters import open_raster

log = logging.getLogger(__name__)

#: a scene needs at least this share of the grid valid in both it and the
#: reference for a phase correlation (the rest stay unmeasured, NaN)
MIN_COREG_OVERLAP = 0.10

#: edge (pixels) of the centred window on which the co-registration check
#: measures each scene's shift: a global shift needs no more than a few
#: hundred pixels of texture (AROSICS matches a 256 px window by default),
#: and a bounded window keeps its time and memory flat as the area grows
COREG_WINDOW = 512

#: pixels of halo for the cubic-spline prefilter of a co-registration
#: shift: its influence decays by 0.27 per pixel, 1e-9 after 16
SHIFT_SPLINE_HALO = 16

#: smallest tile edge (pixels) of compositing and gap filling; tiles are whole store
#: chunks, so narrow chunks are grouped to keep the halo reads a small share
FILL_TILE_MIN = 128

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

    The shift is measured on the centred window of at most
    :data:`COREG_WINDOW` pixels a side (the whole grid when it is smaller)
    and applies to the whole scene. The reference is the per-pixel median of
    the ``reference_scenes`` scenes with the largest valid fraction. Each scene's ``band`` is phase-correlated
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
    with open_raster(refs[0].tif) as src:
        height, width = src.height, src.width
    wh, ww = min(height, COREG_WINDOW), min(width, COREG_WINDOW)
    window = Window((width - ww) // 2, (height - wh) // 2, ww, wh)
    by_clear = sorted(refs, key=lambda r: -float(r.qa.get("valid_fraction", 0.0)))
    stack = [read_scene(r.tif, band=band, window=window)[0][0] for r in by_clear[:reference_scenes]]
    with np.errstate(all="ignore"):
        reference = np.nanmedian(np.stack(stack), axis=0)
    del stack
    rows = []
    for r in refs:
        moving = read_scene(r.tif, band=band, window=window)[0][0]
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
    """Combine valid observations (axis 0) by ``median`` or ``mean``; all-NaN stays NaN.

    The median is taken from the sorted stack (NaN sort last): the middle
    valid value, or the mean of the two middle ones, as ``np.nanmedian``
    gives. ``np.nanmedian`` itself goes through masked arrays for short axes
    and peaked at 20 times the stack's size on a scene stack, which made the
    compositing step's memory grow with the area much faster than the data.
    """
    if stack.shape[0] == 0:
        raise DataError("composite of an empty stack")
    if method == "median":
        if stack.shape[0] == 1:
            return stack[0].copy()
        ordered = np.sort(stack, axis=0)
        n = np.isfinite(stack).sum(axis=0, dtype=np.int16)[None]  # small index arrays
        out = np.take_along_axis(ordered, (np.maximum(n, 1) - 1) // 2, axis=0)[0]
        out += np.take_along_axis(ordered, n // 2, axis=0)[0]
        out /= 2  # an all-NaN pixel sorts to NaN in both
        return out
    if method == "mean":
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
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
    # int32 indices: the index arrays are the largest temporaries of a tile
    steps = np.arange(t, dtype=np.int32).reshape((t,) + (1,) * (a.ndim - 1))
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


def fill_gaps(
    values: np.ndarray, *, smooth_sigma: float, edge_limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gap-fill a (time, ...,  y, x) block: linear in time
    (:func:`fill_time_linear`), then a NaN-aware Gaussian (:func:`nan_gaussian`)
    of each image replaces the filled cells only.

    Returns
    -------
    (filled, was_filled)
    """
    vals, was = fill_time_linear(values, edge_limit=edge_limit)
    if smooth_sigma > 0:
        for i in np.ndindex(vals.shape[:-2]):
            if was[i].any():
                vals[i] = np.where(was[i], nan_gaussian(vals[i], smooth_sigma), vals[i])
    return vals, was


def fill_halo(smooth_sigma: float) -> int:
    """Halo (pixels) a tile needs for the Gaussian of :func:`fill_gaps`
    (``scipy.ndimage.gaussian_filter`` reaches ``int(4 sigma + 0.5)`` pixels)."""
    return int(math.ceil(4 * smooth_sigma)) if smooth_sigma > 0 else 0


def fill_cube_tiles(
    source: Any,
    data_out: Any,
    filled_out: Any,
    *,
    tile: int,
    fill: bool = True,
    smooth_sigma: float = 1.0,
    edge_limit: int = 3,
) -> int:
    """Gap-fill a (time, band, y, x) cube tile by tile into output arrays.

    One task per band and ``tile`` x ``tile`` tile reads the tile's whole
    time series with a halo of :func:`fill_halo` pixels (none at the cube's
    edges, where the Gaussian's ``nearest`` mode sees the true edge), fills
    it (:func:`fill_gaps`), and writes the tile into ``data_out`` and
    ``filled_out``. The tasks run under the dask scheduler in effect (the
    rule's threads); each holds one tile, and nothing waits for a writer,
    so memory follows the tile size, not the area. The result equals
    :func:`fill_gaps` of the whole cube.

    Parameters
    ----------
    source
        (time, band, y, x) float array with NumPy slicing (a Zarr array or
        an in-memory array).
    data_out, filled_out
        Arrays of the same shape (Zarr arrays of the cube store) written by
        slices; with Zarr, ``tile`` must be a multiple of their chunk edge,
        so that no two tasks write one chunk.
    tile
        Tile edge in pixels.
    fill
        ``False`` copies the values and marks nothing filled.
    smooth_sigma, edge_limit
        As :func:`fill_gaps`.

    Returns
    -------
    int
        Number of tasks run.
    """
    n_time, n_band, height, width = source.shape
    depth = fill_halo(smooth_sigma) if fill else 0

    def one(b: int, y0: int, x0: int) -> None:
        y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
        ya, xa = max(0, y0 - depth), max(0, x0 - depth)
        yb, xb = min(height, y1 + depth), min(width, x1 + depth)
        raw = np.asarray(source[:, b : b + 1, ya:yb, xa:xb], dtype="float32")
        if fill:
            vals, was = fill_gaps(raw, smooth_sigma=smooth_sigma, edge_limit=edge_limit)
        else:
            vals, was = raw, np.zeros(raw.shape, dtype=bool)
        inner = (slice(None), slice(None), slice(y0 - ya, y1 - ya), slice(x0 - xa, x1 - xa))
        data_out[:, b : b + 1, y0:y1, x0:x1] = vals[inner]
        filled_out[:, b : b + 1, y0:y1, x0:x1] = was[inner]

    tasks = [
        dask.delayed(one)(b, y0, x0)
        for b in range(n_band)
        for y0 in range(0, height, tile)
        for x0 in range(0, width, tile)
    ]
    dask.compute(*tasks)
    return len(tasks)


def _fill_tile(chunks: int) -> int:
    """Tile edge for :func:`fill_cube_tiles`: whole store chunks, at least FILL_TILE_MIN."""
    return chunks * -(-FILL_TILE_MIN // chunks)


def shift_halo(shifts: Sequence[tuple[float, float]]) -> int:
    """Halo (pixels) a tile needs to get the numbers of the whole-scene
    :func:`~coexplore.preprocess.geometry.apply_subpixel_shift`: the largest
    shift, the cubic kernel's reach, and :data:`SHIFT_SPLINE_HALO` for the
    spline prefilter, whose influence decays by 0.27 per pixel."""
    if not shifts:
        return 0
    largest = max(max(abs(dy), abs(dx)) for dy, dx in shifts)
    return int(math.ceil(largest)) + 2 + SHIFT_SPLINE_HALO if largest > 0 else 0


def composite_tiles(
    members: Sequence[Sequence[SceneRef]],
    data_out: Any,
    clear_count: np.ndarray,
    *,
    bands: Sequence[str],
    shift_map: dict[str, tuple[float, float]],
    method: str,
    tile: int,
) -> int:
    """Composite each time step's scenes tile by tile into ``data_out``.

    One task per ``tile`` x ``tile`` tile walks the time steps; for each it
    reads the tile's window of every member scene (with a :func:`shift_halo`
    when a scene gets a co-registration shift), shifts, composites
    (:func:`composite`) and writes ``data_out[step, :, tile]``. It also
    counts the valid looks per cell into ``clear_count``. Tasks run under
    the dask scheduler in effect and touch disjoint tiles, so memory follows
    the tile and the number of scenes in a step, not the area; the numbers
    equal compositing the whole grid.

    Parameters
    ----------
    members
        The scenes of each time step (empty steps stay NaN).
    data_out
        (time, band, y, x) array written by slices (a Zarr array whose chunk
        edge divides ``tile``).
    clear_count
        (y, x) int array incremented in place.
    bands
        Band names the scene files must have, in order.
    shift_map
        scene_id to (dy, dx) correction; absent scenes are not shifted.
    method
        As :func:`composite`.
    tile
        Tile edge in pixels.

    Returns
    -------
    int
        Number of tasks run.

    Raises
    ------
    DataError
        If a scene's bands differ from ``bands``.
    """
    from .preprocess.geometry import apply_subpixel_shift

    height, width = clear_count.shape
    halo = shift_halo([shift_map.get(r.scene_id, (0.0, 0.0)) for step in members for r in step])

    def one(y0: int, x0: int) -> None:
        y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
        ya, xa = max(0, y0 - halo), max(0, x0 - halo)
        yb, xb = min(height, y1 + halo), min(width, x1 + halo)
        window = Window(xa, ya, xb - xa, yb - ya)
        inner = (slice(None), slice(y0 - ya, y1 - ya), slice(x0 - xa, x1 - xa))
        for ti, step in enumerate(members):
            if not step:
                continue
            stack = []
            for r in step:
                arr, names = read_scene(r.tif, window=window)
                if list(names) != list(bands):
                    raise DataError(
                        f"{r.tif}: bands {names} differ from the cube's {list(bands)}; "
                        "rerun its ingest"
                    )
                sdy, sdx = shift_map.get(r.scene_id, (0.0, 0.0))
                if sdy or sdx:
                    arr = np.stack([apply_subpixel_shift(b, sdy, sdx) for b in arr])
                arr = arr[inner]
                clear_count[y0:y1, x0:x1] += np.isfinite(arr).any(axis=0)
                stack.append(arr)
            data_out[ti, :, y0:y1, x0:x1] = composite(np.stack(stack), method).astype("float32")

    tasks = [
        dask.delayed(one)(y0, x0) for y0 in range(0, height, tile) for x0 in range(0, width, tile)
    ]
    dask.compute(*tasks)
    return len(tasks)


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
    template.drop_vars("filled").to_zarr(
        tmp_dir, mode="w", compute=False, consolidated=False, zarr_format=2
    )
    members = [[r for r in refs if edges[ti] <= r.time < edges[ti + 1]] for ti in range(len(times))]
    n_obs = np.array([len(m) for m in members], dtype=int)
    clear_count = np.zeros(grid.shape, dtype=np.int32)
    try:
        composite_tiles(
            members,
            zarr.open_array(str(tmp_dir / "data"), mode="r+", zarr_format=2),
            clear_count,
            bands=bands,
            shift_map=shift_map,
            method=method,
            tile=_fill_tile(chunks),
        )
        composites = zarr.open_array(str(tmp_dir / "data"), mode="r", zarr_format=2)
        # layout only: every chunk is written by fill_cube_tiles
        ds = empty_like_grid(grid, bands, times, chunks=chunks)
        ds.attrs.update(
            {
                "source": source,
                "composite": method,
                "gap_fill": "linear-in-time+gaussian" if fill else "none",
                "smooth_sigma": smooth_sigma,
                "edge_limit": edge_limit,
                "observations_per_step": n_obs.tolist(),
                "source_scenes": [r.scene_id for r in refs],
                **(attrs or {}),
            }
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
        _write_filled(
            ds,
            composites,
            out_path,
            chunks=chunks,
            fill=fill,
            smooth_sigma=smooth_sigma,
            edge_limit=edge_limit,
        )
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return open_cube(out_path)


def finish_cube(
    data: Any,
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
    """Gap-fill and write a cube that is already on the time axis (meteorology).

    ``data`` is any (time, band, y, x) array with NumPy slicing: an
    in-memory array, or one that computes the window it is sliced with
    (:class:`coexplore.ingest.meteo.MeteoFields`), so that the cube is
    produced tile by tile (:func:`fill_cube_tiles`).
    """
    # layout only: every chunk is written by fill_cube_tiles
    ds = empty_like_grid(grid, bands, times, chunks=chunks)
    ds.attrs.update({"source": source, **(attrs or {})})
    _write_filled(
        ds,
        data,
        out_path,
        chunks=chunks,
        fill=fill,
        smooth_sigma=smooth_sigma,
        edge_limit=edge_limit,
    )
    return open_cube(out_path)


def _write_filled(
    ds: xr.Dataset,
    data: Any,
    out_path: str | Path,
    *,
    chunks: int,
    fill: bool,
    smooth_sigma: float,
    edge_limit: int,
) -> None:
    """Write ``ds``, a template whose lazy ``data``/``filled`` only give the
    store's layout, with both variables produced tile by tile from ``data``
    by :func:`fill_cube_tiles` (``write_cube(fill_regions=...)`` never
    computes the template)."""
    write_cube(
        ds,
        out_path,
        chunks=chunks,
        fill_regions=lambda store: fill_cube_tiles(
            data,
            store["data"],
            store["filled"],
            tile=_fill_tile(chunks),
            fill=fill,
            smooth_sigma=smooth_sigma,
            edge_limit=edge_limit,
        ),
    )


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
