"""Zarr time cubes and per-scene GeoTIFFs on the common grid.

A cube store holds ``data`` (time, band, y, x) float32 (static layers:
(band, y, x)), ``filled`` (same dims, bool: the value was gap-filled), CRS
metadata readable with rioxarray, and provenance in the attributes. Stores
are written to a temporary sibling and renamed, so a killed job never leaves
a store that looks complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr
from rasterio.windows import Window

from .. import __version__
from ..errors import InputError
from ..grid import Grid
from .atomic import atomic_path
from .rasters import open_raster, read_raster, write_geotiff


def empty_like_grid(
    grid: Grid,
    bands: Sequence[str],
    times: pd.DatetimeIndex | None = None,
    *,
    chunks: int | None = None,
) -> xr.Dataset:
    """A dask-backed NaN cube template on ``grid`` (for region writes)."""
    import dask.array as da

    shape: tuple[int, ...]
    dims: tuple[str, ...]
    if times is None:
        dims, shape = ("band", "y", "x"), (len(bands), grid.height, grid.width)
    else:
        dims, shape = ("time", "band", "y", "x"), (len(times), len(bands), grid.height, grid.width)
    c = chunks or max(grid.height, grid.width)
    chunk_shape = tuple(1 if d in ("time", "band") else c for d in dims)
    data = da.full(shape, np.nan, dtype="float32", chunks=chunk_shape)
    filled = da.zeros(shape, dtype=bool, chunks=chunk_shape)
    return to_dataset(data, grid=grid, bands=bands, times=times, filled=filled)


def to_dataset(
    data: Any,
    *,
    grid: Grid,
    bands: Sequence[str],
    times: pd.DatetimeIndex | None = None,
    filled: Any | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap an array (numpy or dask) as a cube Dataset with coordinates and CRS."""
    coords: dict[str, Any] = {
        "band": list(bands),
        "y": grid.y_coords(),
        "x": grid.x_coords(),
    }
    dims: tuple[str, ...] = ("band", "y", "x")
    if times is not None:
        coords["time"] = pd.DatetimeIndex(times)
        dims = ("time", *dims)
    ds = xr.Dataset({"data": (dims, data)}, coords=coords)
    if filled is not None:
        ds["filled"] = (dims, filled)
    ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    for name in ds.data_vars:  # one place for the grid mapping: the attribute
        ds[name].encoding.pop("grid_mapping", None)
        ds[name].attrs["grid_mapping"] = "spatial_ref"
    ds.attrs.update({"coexplore_version": __version__, **(attrs or {})})
    return ds


def _jsonable_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str | int | float | bool) or v is None:
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def write_cube(
    ds: xr.Dataset,
    path: str | Path,
    *,
    chunks: int = 256,
    fill_regions: Callable[[zarr.Group], None] | None = None,
    region: int | None = None,
) -> Path:
    """Write a cube Dataset to Zarr atomically (computes dask arrays chunk by chunk).

    Parameters
    ----------
    ds
        The cube (:func:`to_dataset`); dims (time, band, y, x) or (band, y, x).
    path
        Target store.
    chunks
        Spatial chunk edge of the store (one time step and band per chunk).
    fill_regions
        If given, the dask-backed variables are not computed: the store is
        created with their metadata, NumPy-backed variables are written, then
        ``fill_regions`` gets the open Zarr group of the temporary store
        and writes their chunks itself (tasks that compute and write a
        region in one step, so no result waits in memory for its writer).
    region
        If given (a multiple of ``chunks``), the dask-backed variables are
        computed and written in regions of this many cells a side, one after
        another (:func:`write_by_regions`): for graphs whose outputs share
        intermediates, which dask would otherwise hold for the whole area.
    """
    ds = ds.copy()
    ds.attrs = _jsonable_attrs(ds.attrs)
    enc_chunks = {"time": 1, "band": 1, "y": chunks, "x": chunks}
    encoding = {}
    for name in ds.data_vars:
        var = ds[name]
        if var.ndim == 0:
            continue
        encoding[name] = {
            "chunks": tuple(
                min(enc_chunks.get(d, s), s) for d, s in zip(var.dims, var.shape, strict=True)
            )
        }
    # Dask chunks must be whole zarr chunks. Along time any dask chunk is (the
    # store holds one step per chunk), and splitting a whole-series block into
    # single steps only makes dask keep blocks in memory until all their
    # steps are written (the whole cube, for gap-filled cubes).
    in_memory = [n for n in ds.data_vars if ds[n].chunks is None and ds[n].ndim]
    ds = ds.chunk({d: c for d, c in enc_chunks.items() if d in ds.dims and d != "time"})
    if region is not None and (fill_regions is not None or region % chunks):
        raise ValueError(f"region={region} needs no fill_regions and a multiple of {chunks=}")
    with atomic_path(path) as tmp:
        if region is not None:
            write_by_regions(ds, tmp, tile=region, encoding=encoding)
        elif fill_regions is None:
            ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True, zarr_format=2)
        else:
            ds.to_zarr(
                tmp, mode="w", encoding=encoding, consolidated=False, zarr_format=2, compute=False
            )
            store = zarr.open_group(tmp, mode="r+", zarr_format=2)
            for name in in_memory:  # chunked above, so not written by to_zarr
                store[name][...] = ds[name].values
            fill_regions(store)
            zarr.consolidate_metadata(tmp, zarr_format=2)
    return Path(path)


def write_by_regions(
    ds: xr.Dataset, path: str | Path, *, tile: int, encoding: dict | None = None
) -> int:
    """Write a dask-backed Dataset to a new Zarr store one spatial region at a time.

    dask computes a whole ``to_zarr`` graph at once, and where many outputs
    share inputs (the ~125 features of a stack share their seasonal
    composites) it keeps shared intermediates of every tile alive, so memory
    grew with the area. Each ``tile`` x ``tile`` region here is computed (by
    the dask scheduler in effect) and written before the next one starts:
    memory follows the region, and a halo operation recomputes only the
    neighbouring blocks it reads.

    Parameters
    ----------
    ds
        Dataset with ``y`` and ``x`` dims; its dask chunks along them must
        divide ``tile``.
    path
        New store (written as Zarr v2 with consolidated metadata).
    tile
        Region edge in cells.
    encoding
        As :meth:`xarray.Dataset.to_zarr`.

    Returns
    -------
    int
        Number of regions written.
    """
    # to_zarr(compute=False) writes numpy variables but defers dask ones, and
    # region writes carry only variables along y/x: load the rest first (small:
    # feature names, groups) so they land with the metadata.
    other = [v for v in ds.variables if not {"y", "x"} & set(ds.variables[v].dims)]
    ds = ds.copy(deep=False)
    for v in other:
        ds.variables[v].load()
    ds.to_zarr(path, mode="w", compute=False, consolidated=False, zarr_format=2, encoding=encoding)
    spatial = ds.drop_vars(other)
    n = 0
    for y0 in range(0, ds.sizes["y"], tile):
        for x0 in range(0, ds.sizes["x"], tile):
            region = {"y": slice(y0, min(y0 + tile, ds.sizes["y"]))}
            region["x"] = slice(x0, min(x0 + tile, ds.sizes["x"]))
            spatial.isel(region).to_zarr(path, region=region, consolidated=False, zarr_format=2)
            n += 1
    zarr.consolidate_metadata(str(path), zarr_format=2)
    return n


TILE_MIN = 256
"""Smallest spatial tile edge (cells) of :func:`open_cube`'s ``chunks="tiles"``."""


def open_cube(path: str | Path, *, chunks: dict | str | None = "auto") -> xr.Dataset:
    """Open a cube store with its CRS.

    Parameters
    ----------
    path
        The Zarr store.
    chunks
        As :func:`xarray.open_zarr`, or ``"tiles"``: whole stored spatial
        chunks, at least :data:`TILE_MIN` cells a side, one band per chunk
        and the whole time axis in one chunk (for per-pixel reductions over
        time), or ``"steps"``: the same with one time step per chunk (for
        per-image work). Memory then follows the tile size, not the area;
        ``"auto"`` lets dask merge chunks up to its chunk-size limit
        (128 MiB), so a job's memory grows with the area up to that.

    Raises
    ------
    InputError
        If the store is missing or incomplete.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "cube store does not exist", "run the workflow stage that builds it")
    try:
        if chunks in ("tiles", "steps"):
            with xr.open_zarr(path, chunks=None, consolidated=True) as meta:
                stored = meta["data"].encoding.get("chunks", meta["data"].shape)
                dims = meta["data"].dims
            # spatial tiles of at least TILE_MIN cells (whole stored chunks):
            # smaller ones cost more in task overhead than they save
            along = {"time": -1 if chunks == "tiles" else 1, "band": 1}
            chunks = {
                d: along.get(d, c * -(-TILE_MIN // c)) for d, c in zip(dims, stored, strict=True)
            }
        ds = xr.open_zarr(path, chunks=chunks, consolidated=True, decode_coords="all")
    except Exception as exc:  # zarr raises several unrelated types for broken stores
        raise InputError(path, f"not a readable Zarr cube ({exc})", "delete it and rerun") from exc
    if "data" not in ds:
        raise InputError(path, "store has no 'data' variable", "delete it and rerun")
    return ds


def write_scene(
    tif_path: str | Path,
    qa_path: str | Path | None,
    data: Any,
    qa: dict[str, Any],
    *,
    grid: Grid,
    bands: Sequence[str],
) -> tuple[int, int]:
    """Write one ingested scene (band, y, x) as a COG plus its QA record (JSON).

    ``data`` may be a dask array (a lazy ingest): it is computed and written
    block by block. The valid pixels are counted on the way.

    Parameters
    ----------
    tif_path, qa_path
        The scene GeoTIFF and its QA record; ``qa_path`` None writes no
        record (the caller completes it with the counts first).
    data
        (band, y, x) float32 on ``grid``, NaN = invalid.
    qa
        The QA record; ``status`` and ``scene_id`` also become GeoTIFF tags.
    grid, bands
        The grid and the band names.

    Returns
    -------
    tuple of int
        Pixels valid in all bands, and pixels valid in any band.
    """
    if hasattr(data, "dask"):  # all bands in each block, for the counts
        arr = data.astype("float32").rechunk({0: -1})
    else:
        arr = np.asarray(data, dtype="float32")
    counts = [0, 0]

    def count(_key: tuple[slice, ...], block: np.ndarray) -> None:
        finite = np.isfinite(block)
        counts[0] += int(finite.all(axis=0).sum())
        counts[1] += int(finite.any(axis=0).sum())

    write_geotiff(
        tif_path,
        arr,
        transform=grid.transform,
        crs=grid.crs,
        nodata=float("nan"),
        band_names=bands,
        tags={"STATUS": str(qa.get("status", "ok")), "SCENE_ID": str(qa.get("scene_id", ""))},
        on_block=count,
    )
    if qa_path is not None:
        write_qa(qa_path, qa)
    return counts[0], counts[1]


def write_qa(qa_path: str | Path, qa: dict[str, Any]) -> None:
    """Write a scene QA record (JSON), atomically."""
    with atomic_path(qa_path) as tmp:
        Path(tmp).write_text(json.dumps(qa, indent=1, default=_json_default))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    return str(o)


def read_scene(
    tif_path: str | Path, *, band: str | None = None, window: Window | None = None
) -> tuple[np.ndarray, list[str]]:
    """Read an ingested scene: (band, y, x) float32 with NaN and its band names.

    Parameters
    ----------
    tif_path
        The scene GeoTIFF.
    band
        Read only this band (then the array is (1, y, x)).
    window
        Read only this window of the grid.

    Raises
    ------
    InputError
        If the file is unreadable or has no band ``band``.
    """
    indexes = None
    if band is not None:
        with open_raster(tif_path) as src:
            names = list(src.descriptions)
        if band not in names:
            raise InputError(tif_path, f"scene has no band {band!r} ({names})", "rerun its ingest")
        indexes = [names.index(band) + 1]
    arr, profile = read_raster(tif_path, indexes=indexes, window=window)
    names = list(profile["descriptions"])
    return arr.astype("float32", copy=False), [band] if band is not None else names


def read_qa(qa_path: str | Path) -> dict[str, Any]:
    """Read a scene QA record."""
    try:
        return json.loads(Path(qa_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            qa_path, f"unreadable QA record ({exc})", "rerun the scene's ingest"
        ) from exc
