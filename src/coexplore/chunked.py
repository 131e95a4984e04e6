"""Chunk-by-chunk building blocks for operations on large rasters.

Two things that dask does not offer in the form the pipeline needs:

* :func:`map_overlap_bands` runs a neighbourhood operation that turns one
  2-D image into several output images (GLCM texture features, elevation /
  slope / aspect) tile by tile with a halo. ``dask.array.map_overlap``
  assumes the output block has the input block's shape, so the halo is
  added with :func:`dask.array.overlap.overlap`, the blocks are mapped with a
  new leading axis and the halo is trimmed with
  :func:`dask.array.overlap.trim_internal`. The outer edges of the image get
  no halo (``boundary="none"``): the block function sees the true image
  border there and applies its own edge rule exactly as on the whole image,
  so a result equals the unchunked one whenever the halo is at least the
  operator's reach.
* :func:`nanmedian` is the exact median of the finite values of a dask
  array in memory bounded by the chunk size. ``dask.array.percentile``
  merges per-chunk percentiles and is only approximate, and
  ``dask.array.nanmedian`` needs the reduced axis in one chunk (all the
  data at once for a global median). Here the k-th order statistic is
  found by narrowing a value interval with per-chunk histograms until the
  few values left in it can be gathered and sorted.
"""

from __future__ import annotations

from collections.abc import Callable

import dask
import dask.array as da
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize, overlap, trim_internal

from .errors import DataError


def map_overlap_bands(
    func: Callable[[np.ndarray], np.ndarray],
    image: da.Array,
    *,
    depth: int,
    n_out: int,
    dtype: np.dtype | type = np.float32,
) -> da.Array:
    """Apply ``func`` (2-D block -> (n_out, *block.shape)) tile by tile with a halo.

    Parameters
    ----------
    func
        Maps a 2-D block (with its halo) to ``n_out`` images of the block's
        shape. It must treat the block's outer border as an image border
        (clip windows, pad) like it does on the whole image.
    image
        2-D dask array (y, x).
    depth
        Halo width in pixels on each side: the operator's reach (window half-size).
    n_out
        Number of output images.
    dtype
        Output dtype.

    Returns
    -------
    dask.array.Array
        (n_out, y, x) with ``image``'s spatial chunks (chunks narrower than
        ``depth`` are merged with a neighbour first).

    Raises
    ------
    DataError
        If ``image`` is not 2-D.
    """
    if image.ndim != 2:
        raise DataError(f"map_overlap_bands takes a 2-D (y, x) image, got shape {image.shape}")
    if depth > 0:
        chunks = tuple(ensure_minimum_chunksize(depth, c) for c in image.chunks)
        if chunks != image.chunks:
            image = image.rechunk(chunks)
        padded = overlap(image, depth={0: depth, 1: depth}, boundary="none")
    else:
        padded = image
    out = padded.map_blocks(
        lambda block: np.asarray(func(block), dtype=dtype),
        new_axis=0,
        chunks=((n_out,), *padded.chunks),
        dtype=dtype,
        meta=np.empty((0, 0, 0), dtype=dtype),
    )
    if depth == 0:
        return out
    return trim_internal(
        out, {0: 0, 1: depth, 2: depth}, boundary={0: "none", 1: "none", 2: "none"}
    )


def _interval_counts(block: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of a block's finite values per interval ``[edges[i], edges[i+1])``."""
    v = block[np.isfinite(block)]
    v = v[(v >= edges[0]) & (v < edges[-1])]
    idx = np.searchsorted(edges, v, side="right") - 1
    return np.bincount(idx, minlength=len(edges) - 1)


def _values_in(block: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return block[(block >= lo) & (block < hi)]


def _narrow(
    blocks: list, k: int, lo: float, hi: float, n: int, *, bins: int, max_gather: int
) -> tuple[int, float, float, int]:
    """Narrow [lo, hi), holding ``n`` values, to an interval that holds the
    k-th (0-based) smallest and at most ``max_gather`` values (or a single
    representable value). Returns (values below it, lo, hi, values in it)."""
    below = 0
    while n > max_gather and np.nextafter(lo, np.inf) < hi:
        edges = np.unique(np.linspace(lo, hi, bins + 1))
        edges[0], edges[-1] = lo, hi
        parts = dask.compute(*(dask.delayed(_interval_counts)(b, edges) for b in blocks))
        counts = np.sum(parts, axis=0)
        cum = below + np.concatenate([[0], np.cumsum(counts)])
        i = int(np.searchsorted(cum, k, side="right")) - 1
        below, lo, hi, n = int(cum[i]), float(edges[i]), float(edges[i + 1]), int(counts[i])
    return below, lo, hi, n


def nanmedian(x: da.Array | np.ndarray, *, bins: int = 4096, max_gather: int = 1_000_000) -> float:
    """Exact median of the finite values of an array, chunk by chunk.

    Gives the same number as ``np.median(x[np.isfinite(x)])`` (for an even
    count, the mean of the two middle values) while holding at most one
    chunk, a ``bins``-long histogram and ``max_gather`` values in memory.
    Passes over the data: one for the count and range, one per narrowing
    step (none while the count is at most ``max_gather``, usually one
    beyond), one to gather.

    Parameters
    ----------
    x
        Dask array (any shape); a NumPy array is wrapped in one chunk.
    bins
        Histogram bins per narrowing pass.
    max_gather
        Values gathered and sorted once an interval holds no more.

    Returns
    -------
    float
        The median; NaN if ``x`` has no finite value.

    Examples
    --------
    >>> nanmedian(da.from_array(np.array([3.0, np.nan, 1.0, 2.0, 10.0]), chunks=2))
    2.5
    """
    x = da.asarray(x).astype(np.float64)
    finite = da.isfinite(x)
    n, lo, hi = dask.compute(
        finite.sum(),
        da.where(finite, x, np.inf).min(),
        da.where(finite, x, -np.inf).max(),
    )
    n = int(n)
    if n == 0:
        return float("nan")
    blocks = list(x.to_delayed().ravel())
    k_lo, k_hi = (n - 1) // 2, n // 2
    below, lo, hi, inside = _narrow(
        blocks,
        k_lo,
        float(lo),
        float(np.nextafter(float(hi), np.inf)),
        n,
        bins=bins,
        max_gather=max_gather,
    )
    if np.nextafter(lo, np.inf) >= hi:  # the interval holds one representable value
        values = np.full(inside, lo)
    else:
        parts = dask.compute(*(dask.delayed(_values_in)(b, lo, hi) for b in blocks))
        values = np.sort(np.concatenate(parts))
    v_lo = values[k_lo - below]
    if k_hi - below < values.size:
        v_hi = values[k_hi - below]
    else:  # the next value up lies beyond the interval: the smallest value >= hi
        v_hi = da.where(finite & (x >= hi), x, np.inf).min().compute()
    return float(np.mean([v_lo, v_hi])) if k_hi != k_lo else float(v_lo)
