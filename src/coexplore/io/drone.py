"""Drone RGB orthomosaics: ``raw/drone/<flight_id>.tif``.

Two layouts are accepted, both with unsigned-integer pixels in a projected
(metric) CRS at a few centimetres to decimetres per pixel:

* RGBA: bands 1-3 red, green, blue; band 4 alpha, 0 outside the footprint;
* RGB: bands 1-3 with a nodata value (a pixel is invalid only where all three
  bands equal it) or an internal GDAL mask; without either every pixel is valid.

The acquisition date comes from the file name (``UAV_20230320.tif``,
``flight_2023-03-20.tif``) or, failing that, from a dataset tag
(``ACQUISITION_DATE``, ``DATE`` or the TIFF ``TIFFTAG_DATETIME``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError

from ..errors import InputError
from .rasters import open_raster

# Tags searched, in this order, for the acquisition date when the file name has none.
DATE_TAGS: tuple[str, ...] = ("ACQUISITION_DATE", "DATE", "TIFFTAG_DATETIME")

_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_TAG_DATE = re.compile(r"^\s*(\d{4})[-:/]?(\d{2})[-:/]?(\d{2})")


@dataclass(frozen=True)
class Ortho:
    """An orthomosaic in memory.

    Attributes
    ----------
    rgb
        float32 (3, height, width) red, green, blue scaled to 0..1 (the
        integer value over the dtype's maximum); 0 where ``valid`` is False.
    valid
        bool (height, width), True inside the flight footprint.
    transform
        Affine transform of the upper-left pixel corner.
    crs
        Projected CRS of the mosaic.
    date
        Acquisition date, None when neither the name nor a tag gives one.
    flight_id
        The file stem (``UAV_20230320``).
    path
        The file read.
    """

    rgb: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: CRS
    date: dt.date | None
    flight_id: str
    path: Path

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.valid.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the mosaic CRS."""
        h, w = self.shape
        xs, ys = zip(
            *(self.transform @ (c, r) for c, r in ((0, 0), (w, 0), (0, h), (w, h))), strict=True
        )
        return (min(xs), min(ys), max(xs), max(ys))


def date_from_name(name: str) -> dt.date | None:
    """The first valid ``YYYYMMDD`` or ``YYYY-MM-DD`` date in a file name, or None.

    Parameters
    ----------
    name
        A file name or stem such as ``UAV_20230320``.

    Returns
    -------
    datetime.date or None
        The date; None when no digit group forms a valid calendar date.

    Examples
    --------
    >>> date_from_name("UAV_20230320.tif")
    datetime.date(2023, 3, 20)
    """
    for m in _NAME_DATE.finditer(name):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def _date_from_tags(tags: dict[str, str]) -> dt.date | None:
    upper = {k.upper(): v for k, v in tags.items()}
    for key in DATE_TAGS:
        m = _TAG_DATE.match(upper.get(key, ""))
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
    return None


def read_orthomosaic(path: str | Path) -> Ortho:
    """Read a drone RGB(A) orthomosaic with its validity mask and date.

    Parameters
    ----------
    path
        A GeoTIFF (or any GDAL raster) with 3 bands (RGB + nodata or mask)
        or 4 bands (RGBA), unsigned-integer pixels, in a projected CRS.

    Returns
    -------
    Ortho
        Colours scaled to 0..1, the footprint mask, georeferencing and date.

    Raises
    ------
    InputError
        If the file is missing, not a raster or truncated; if it does not have
        3 or 4 bands or has non-integer pixels; if it has no CRS or a
        geographic one (pixel sizes must be in metres).
    """
    path = Path(path)
    with open_raster(path) as src:
        if src.count not in (3, 4):
            raise InputError(
                path,
                f"has {src.count} band(s), expected 3 (RGB with nodata) or 4 (RGBA)",
                "export the orthomosaic as an RGB or RGBA GeoTIFF",
            )
        dtype = np.dtype(src.dtypes[0])
        if dtype.kind != "u":
            raise InputError(
                path,
                f"has {dtype.name} pixels, expected unsigned integers (uint8 or uint16)",
                "export the orthomosaic with 8-bit (or 16-bit) RGB values",
            )
        if src.crs is None:
            raise InputError(
                path, "has no CRS", "georeference the orthomosaic in a projected CRS (e.g. UTM)"
            )
        if not src.crs.is_projected:
            raise InputError(
                path,
                f"is in the geographic CRS {src.crs.to_string()}; pixel sizes must be metres",
                "reproject it to a projected CRS first, e.g. gdalwarp -t_srs EPSG:326NN",
            )
        try:
            raw = src.read()
            if src.count == 4:
                # Band 4 is the alpha channel by the input contract, whether or
                # not the file marks it as such.
                valid = raw[3] > 0
            else:
                # GDAL's dataset mask covers nodata values (invalid only where
                # every band equals nodata), internal masks and the no-mask case.
                valid = src.dataset_mask() > 0
        except RasterioIOError as exc:
            raise InputError(
                path,
                f"pixel data cannot be read ({exc})",
                "the file is probably truncated; copy or export it again",
            ) from exc
        date = date_from_name(path.stem) or _date_from_tags(src.tags())
        transform, crs = src.transform, src.crs
    rgb = raw[:3].astype(np.float32)
    rgb *= np.float32(1.0 / np.iinfo(dtype).max)
    rgb[:, ~valid] = 0.0
    return Ortho(
        rgb=rgb,
        valid=valid,
        transform=transform,
        crs=crs,
        date=date,
        flight_id=path.stem,
        path=path,
    )
