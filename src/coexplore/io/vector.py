"""Vector outputs: raster zones to polygons, GeoPackage and CSV tables, atomically.

GeoPackages are written with pyogrio (GDAL's OGR GPKG driver) from shapely
geometries, so they open directly in QGIS; the attribute table is a pandas
DataFrame, one row per geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from affine import Affine
from rasterio import features
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from ..errors import DataError, InputError
from .atomic import atomic_path


def polygons_from_labels(
    labels: np.ndarray, *, transform: Affine, connectivity: int = 8
) -> dict[int, MultiPolygon]:
    """Polygons of every labelled zone of an integer raster.

    Parameters
    ----------
    labels
        2-D integer array; 0 is background, every positive value a zone (as
        returned by ``scipy.ndimage.label``).
    transform
        Affine transform of the raster (pixel corner to map coordinates).
    connectivity
        4 or 8: pixel connectivity used by ``rasterio.features.shapes``; use
        the connectivity the labels were made with so a zone is one polygon.

    Returns
    -------
    dict
        Zone label -> MultiPolygon in map coordinates, in ascending label order.

    Raises
    ------
    DataError
        If ``labels`` is not 2-D or holds negative values.
    """
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise DataError(f"labels must be a 2-D raster, got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise DataError("labels must be >= 0 (0 = background); relabel negative zones")
    arr32 = arr.astype(np.int32)
    parts: dict[int, list] = {}
    for geom, value in features.shapes(
        arr32, mask=arr32 > 0, transform=transform, connectivity=connectivity
    ):
        parts.setdefault(int(value), []).append(shape(geom))
    out: dict[int, MultiPolygon] = {}
    for value in sorted(parts):
        merged = shapely.union_all(parts[value])
        out[value] = merged if isinstance(merged, MultiPolygon) else MultiPolygon([merged])
    return out


def _field_array(series: pd.Series) -> np.ndarray:
    """A numpy column pyogrio can write: numbers and bools as is, the rest as str."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy()
    return series.astype(str).to_numpy(dtype=object)


def write_gpkg(
    path: str | Path,
    geometries: Sequence[BaseGeometry],
    attributes: pd.DataFrame,
    *,
    crs: str,
    layer: str = "zones",
) -> Path:
    """Write polygons with an attribute table to a GeoPackage, atomically.

    Parameters
    ----------
    path
        Target ``.gpkg`` file (replaced if it exists).
    geometries
        One shapely geometry per row of ``attributes``; polygons are promoted
        to MultiPolygon so the layer has one geometry type.
    attributes
        Attribute table (numeric, bool and string columns).
    crs
        CRS of the geometries, anything GDAL accepts (``"EPSG:32650"``).
    layer
        Layer name.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the number of geometries and rows differ.
    """
    geoms = list(geometries)
    if len(geoms) != len(attributes):
        raise DataError(
            f"{len(geoms)} geometries but {len(attributes)} attribute rows for {path}; "
            "give one geometry per table row"
        )
    geoms = [MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms]
    types = {g.geom_type for g in geoms}
    geometry_type = types.pop() if len(types) == 1 else "Unknown"
    if not geoms:
        geometry_type = "MultiPolygon"
    wkb = np.array(shapely.to_wkb(geoms), dtype=object) if geoms else np.array([], dtype=object)
    fields = [str(c) for c in attributes.columns]
    field_data = [_field_array(attributes[c]) for c in attributes.columns]
    path = Path(path)
    with atomic_path(path) as tmp:
        pyogrio.raw.write(
            tmp,
            wkb,
            field_data,
            fields,
            layer=layer,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=crs,
        )
    return path


def read_gpkg(
    path: str | Path, *, layer: str | None = None
) -> tuple[list[BaseGeometry], pd.DataFrame, str]:
    """Read a GeoPackage layer written by :func:`write_gpkg`.

    Parameters
    ----------
    path
        GeoPackage file.
    layer
        Layer name; the first layer if ``None``.

    Returns
    -------
    geometries : list
        Shapely geometries.
    attributes : pandas.DataFrame
        Attribute table.
    crs : str
        CRS as GDAL reports it (e.g. ``"EPSG:32650"``).

    Raises
    ------
    InputError
        If the file does not exist or is not a readable vector file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist", "run the step that writes it first")
    try:
        meta, _, wkb, field_data = pyogrio.raw.read(path, layer=layer)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(
            path, f"not a readable vector file ({exc})", "regenerate the GeoPackage"
        ) from exc
    geoms = list(shapely.from_wkb(wkb)) if wkb is not None else []
    table = pd.DataFrame(dict(zip(meta["fields"], field_data, strict=True)))
    return geoms, table, str(meta["crs"])


def write_csv(table: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """Write a table as CSV atomically (the companion of a GeoPackage layer).

    Parameters
    ----------
    table
        Table to write.
    path
        Target file.
    index
        Whether to write the DataFrame index.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=index)
    return path
