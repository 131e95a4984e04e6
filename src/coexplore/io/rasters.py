"""GeoTIFF / Cloud-Optimized GeoTIFF reading and writing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import InputError
from .atomic import atomic_path


def open_raster(path: str | Path) -> rasterio.io.DatasetReader:
    """Open a raster, turning GDAL's errors into an :class:`InputError`.

    Raises
    ------
    InputError
        If the file is missing, truncated or not a raster.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist", "check the path and the raw folder layout")
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(
            path,
            f"not a readable raster ({exc})",
            "re-download or regenerate the file; it may be truncated",
        ) from exc


def read_raster(
    path: str | Path,
    *,
    indexes: int | Sequence[int] | None = None,
    masked: bool = False,
    window: Window | None = None,
) -> tuple[np.ndarray, dict]:
    """Read bands (of a window) and the profile; truncated data raise :class:`InputError`."""
    with open_raster(path) as src:
        try:
            data = src.read(indexes, masked=masked, window=window)
        except RasterioIOError as exc:
            raise InputError(
                path,
                f"pixel data cannot be read ({exc})",
                "the file is probably truncated; re-download it",
            ) from exc
        profile = dict(src.profile)
        profile["descriptions"] = src.descriptions
    return data, profile


#: tile edge of GeoTIFFs written block by block (GDAL's COG default)
GEOTIFF_BLOCK = 256


class _WindowTarget:
    """A ``dask.array.store`` target writing (band, y, x) blocks into windows
    of an open dataset; dask holds the lock around each write."""

    def __init__(
        self,
        dst: Any,
        on_block: Callable[[tuple[slice, ...], np.ndarray], None] | None,
    ) -> None:
        self.dst, self.on_block = dst, on_block
        self.shape = (dst.count, dst.height, dst.width)

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        (b0, b1, _), (y0, y1, _), (x0, x1, _) = (
            k.indices(n) for k, n in zip(key, self.shape, strict=True)
        )
        block = np.asarray(value)
        self.dst.write(
            block, indexes=list(range(b0 + 1, b1 + 1)), window=Window(x0, y0, x1 - x0, y1 - y0)
        )
        if self.on_block is not None:
            self.on_block((slice(b0, b1), slice(y0, y1), slice(x0, x1)), block)


def write_geotiff(
    path: str | Path,
    data: np.ndarray,
    *,
    transform: Affine,
    crs: str,
    nodata: float | int | None = None,
    band_names: Sequence[str] | None = None,
    units: Sequence[str] | str | None = None,
    colormap: dict[int, tuple[int, int, int]] | None = None,
    category_names: dict[int, str] | None = None,
    tags: dict[str, str] | None = None,
    cog: bool = True,
    on_block: Callable[[tuple[slice, ...], np.ndarray], None] | None = None,
) -> Path:
    """Write a 2-D or 3-D (band, y, x) array as a (Cloud-Optimized) GeoTIFF, atomically.

    A dask array is written block by block (:func:`dask.array.store` into a
    tiled GeoTIFF, under the dask scheduler in effect), so the image is
    never whole in memory; the COG is then copied from it tile by tile.

    Parameters
    ----------
    path
        Target file.
    data
        Array (y, x) or (band, y, x): NumPy, or dask (computed block by block).
    transform, crs
        Georeferencing.
    nodata
        Nodata value written to the header.
    band_names, units
        Per-band description and unit metadata (QGIS shows both).
    colormap
        Colour table for band 1 (categorical maps; dtype must be uint8).
    category_names
        Class names written as ``CLASS_<code>`` tags and a
        ``CATEGORY_NAMES`` tag, for categorical maps.
    tags
        Extra dataset tags (provenance).
    cog
        Write with the COG driver (tiled, overviews) instead of plain GTiff.
    on_block
        Called with the (band, y, x) slices and values of each block as it is
        written (the whole array at once for NumPy), e.g. to count valid
        pixels without a second pass over a lazy array.
    """
    lazy = hasattr(data, "dask")
    arr = data if lazy else np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    count, height, width = arr.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": arr.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    if lazy:  # blocks land in whole tiles when the array's chunks are multiples of 256
        profile.update(tiled=True, blockxsize=GEOTIFF_BLOCK, blockysize=GEOTIFF_BLOCK)
    path = Path(path)
    with atomic_path(path) as tmp:
        mem_target = tmp.with_suffix(".plain.tif") if cog else tmp
        with rasterio.open(mem_target, "w", **profile) as dst:
            if colormap is not None:  # before the pixels: GDAL fixes the photometric tag then
                dst.write_colormap(1, {int(k): tuple(v) + (255,) for k, v in colormap.items()})
            if lazy:
                import dask.array as da

                da.store(arr, _WindowTarget(dst, on_block), lock=threading.Lock())
            else:
                dst.write(arr)
                if on_block is not None:
                    on_block((slice(0, count), slice(0, height), slice(0, width)), arr)
            if band_names is not None:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, str(name))
            if units is not None:
                unit_list = [units] * count if isinstance(units, str) else list(units)
                for i, unit in enumerate(unit_list, start=1):
                    dst.update_tags(i, units=unit)
                    dst.set_band_unit(i, unit)
            all_tags = dict(tags or {})
            if category_names:
                all_tags.update({f"CLASS_{k}": v for k, v in category_names.items()})
                all_tags["CATEGORY_NAMES"] = ",".join(
                    f"{k}:{v}" for k, v in sorted(category_names.items())
                )
            if all_tags:
                dst.update_tags(**all_tags)
        if cog:
            from rasterio.shutil import copy as rio_copy

            rio_copy(
                mem_target,
                tmp,
                driver="COG",
                compress="deflate",
                overview_resampling="nearest" if colormap is not None else "average",
            )
            mem_target.unlink()
    return path
