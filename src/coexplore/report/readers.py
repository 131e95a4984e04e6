"""Reading the run's files for the report: tables with the columns a
section needs, JSON, decimated previews of GeoTIFFs and cube slices. Every
malformed file raises :class:`~coexplore.errors.InputError` naming it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError

from ..errors import InputError
from ..io.cubes import open_cube
from ..io.rasters import open_raster

_FIX = "rerun the rule that writes it (delete the file first)"


def read_table(
    path: str | Path, *, required: Sequence[str] = (), index_col: int | str | None = None
) -> pd.DataFrame:
    """Read a CSV written by the workflow and check its columns.

    Parameters
    ----------
    path
        The CSV file.
    required
        Columns the caller needs.
    index_col
        Passed to :func:`pandas.read_csv`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputError
        If the file is missing, not CSV, empty, or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "table does not exist", _FIX)
    try:
        frame = pd.read_csv(path, index_col=index_col)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table ({exc})", _FIX) from exc
    frame = _drop_saved_range_index(frame)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            path,
            f"lacks column(s) {missing} (it has {list(map(str, frame.columns))})",
            "it was written by another version of the workflow; " + _FIX,
        )
    return frame


def _drop_saved_range_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop a leading ``Unnamed: 0`` column holding 0..n-1 (a default index
    written by ``to_csv(index=True)``); it carries no information."""
    first = frame.columns[0] if len(frame.columns) else None
    if (
        isinstance(first, str)
        and first.startswith("Unnamed: ")
        and frame[first].tolist() == list(range(len(frame)))
    ):
        return frame.drop(columns=first)
    return frame


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object written by the workflow.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not an object.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file does not exist", _FIX)
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})", _FIX) from exc
    if not isinstance(obj, dict):
        raise InputError(path, f"holds a JSON {type(obj).__name__}, not an object", _FIX)
    return obj


def decimation_step(shape: Sequence[int], max_size: int) -> int:
    """Stride that brings the longest side of ``shape`` to at most ``max_size``.

    Examples
    --------
    >>> decimation_step((160, 160), 600), decimation_step((1000, 500), 300)
    (1, 4)
    """
    return max(1, math.ceil(max(shape) / max_size))


@dataclass(frozen=True)
class RasterPreview:
    """Bands of a GeoTIFF read at display resolution.

    Attributes
    ----------
    data
        ``(band, y, x)`` float array, nodata as NaN.
    names
        Band descriptions (``band_<i>`` where a band has none).
    units
        Band units ("" where none).
    """

    data: np.ndarray
    names: list[str]
    units: list[str]

    def band(self, name: str) -> np.ndarray:
        """One band by its description."""
        return self.data[self.names.index(name)]


def raster_preview(
    path: str | Path, *, max_size: int = 600, resampling: str = "nearest"
) -> RasterPreview:
    """Read every band of a GeoTIFF decimated to ``max_size`` pixels (GDAL uses
    the overviews of a COG), nodata masked to NaN.

    Parameters
    ----------
    path
        The raster.
    max_size
        Longest side of the returned arrays.
    resampling
        ``"nearest"`` (classes) or ``"average"`` (continuous maps).

    Returns
    -------
    RasterPreview

    Raises
    ------
    InputError
        If the file is missing or unreadable.
    """
    path = Path(path)
    with open_raster(path) as src:
        step = decimation_step((src.height, src.width), max_size)
        out_shape = (src.count, math.ceil(src.height / step), math.ceil(src.width / step))
        try:
            data = src.read(
                out_shape=out_shape, masked=True, resampling=Resampling[resampling]
            ).astype("float64")
        except RasterioIOError as exc:
            raise InputError(path, f"pixel data cannot be read ({exc})", _FIX) from exc
        names = [d or f"band_{i}" for i, d in enumerate(src.descriptions, start=1)]
        units = [u or "" for u in src.units]
    return RasterPreview(data=data.filled(np.nan), names=names, units=units)


def cube_preview(
    path: str | Path,
    *,
    band: str,
    time: int | None = None,
    max_size: int = 600,
) -> np.ndarray:
    """One band of a cube store as a 2-D array at display resolution.

    Parameters
    ----------
    path
        A cube store (``data`` with dims ``(time, band, y, x)`` or ``(band, y, x)``).
    band
        Band name.
    time
        Time index to take from a time cube; ``None``: the median over time.
    max_size
        Longest side of the result (strided decimation).

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` float array.

    Raises
    ------
    InputError
        If the store is missing or has no such band.
    """
    ds = open_cube(path)
    data = ds["data"]
    if band not in [str(b) for b in data["band"].values]:
        raise InputError(
            path,
            f"cube has no band {band!r} (bands: {[str(b) for b in data['band'].values]})",
            _FIX,
        )
    step = decimation_step((data.sizes["y"], data.sizes["x"]), max_size)
    data = data.sel(band=band).isel(y=slice(None, None, step), x=slice(None, None, step))
    if "time" in data.dims:
        data = data.isel(time=time) if time is not None else data.median("time", skipna=True)
    return np.asarray(data.values, dtype="float64")
