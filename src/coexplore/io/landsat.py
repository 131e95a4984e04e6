"""Landsat 8 OLI/TIRS Level-1 readers: MTL metadata, band files, QA, GCP tables.

Two MTL layouts are understood:

* ``collection2``: ``LANDSAT_METADATA_FILE`` with ``PRODUCT_CONTENTS``,
  ``IMAGE_ATTRIBUTES``, ``PROJECTION_ATTRIBUTES``, ``LEVEL1_RADIOMETRIC_RESCALING``
  and ``LEVEL1_THERMAL_CONSTANTS``. A Level-2 MTL carries the same Level-1
  groups (and a ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS`` group whose
  ``REFLECTANCE_MULT_BAND_n`` are *not* the Level-1 ones), so every key is
  looked up in its named group, never by a flat search.
* ``pre-collection`` (and ``collection1``, which shares its groups):
  ``L1_METADATA_FILE`` with ``PRODUCT_METADATA``, ``IMAGE_ATTRIBUTES``,
  ``RADIOMETRIC_RESCALING``, ``TIRS_THERMAL_CONSTANTS`` and
  ``PROJECTION_PARAMETERS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import GeometryError, InputError, MetadataError
from ..sensors import Landsat8
from .rasters import open_raster, read_raster

#: MTL group names per layout (first match wins) for each kind of key.
_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "collection2": {
        "product": ("PRODUCT_CONTENTS",),
        "files": ("LEVEL1_PROCESSING_RECORD", "PRODUCT_CONTENTS"),
        "image": ("IMAGE_ATTRIBUTES",),
        "projection": ("PROJECTION_ATTRIBUTES", "LEVEL1_PROJECTION_PARAMETERS"),
        "rescaling": ("LEVEL1_RADIOMETRIC_RESCALING",),
        "thermal": ("LEVEL1_THERMAL_CONSTANTS",),
    },
    "pre-collection": {
        "product": ("METADATA_FILE_INFO", "PRODUCT_METADATA"),
        "files": ("PRODUCT_METADATA",),
        "image": ("PRODUCT_METADATA", "IMAGE_ATTRIBUTES"),
        "projection": ("PROJECTION_PARAMETERS",),
        "rescaling": ("RADIOMETRIC_RESCALING",),
        "thermal": ("TIRS_THERMAL_CONSTANTS",),
    },
}
_GROUPS["collection1"] = _GROUPS["pre-collection"]

#: bands whose rescaling coefficients every ingest needs
_REFLECTIVE_NUMBERS = tuple(Landsat8.bands[b] for b in Landsat8.reflective)
_THERMAL_NUMBER = Landsat8.bands["tir"]

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Mtl:
    """The parts of a Landsat 8 MTL file that radiometry and ingest need.

    Attributes
    ----------
    path
        The MTL file.
    layout
        ``"collection2"``, ``"collection1"`` or ``"pre-collection"``.
    product_id
        ``LANDSAT_PRODUCT_ID`` (Collections) or ``LANDSAT_SCENE_ID`` (pre-Collection).
    date_acquired
        Acquisition date and scene-centre time (UTC, naive).
    sun_elevation, sun_azimuth
        Scene-centre solar angles in degrees (``sun_azimuth`` NaN when absent).
    earth_sun_distance
        Earth-Sun distance in astronomical units.
    utm_zone
        UTM zone of the product projection, or None.
    cloud_cover
        Scene cloud cover in percent (NaN when absent).
    radiance_mult, radiance_add, reflectance_mult, reflectance_add
        Level-1 rescaling coefficients by band number.
    k1, k2
        Thermal conversion constants of band 10.
    file_names
        Level-1 band file names by band number, as listed in the MTL.
    qa_file_name
        Name of the Level-1 pixel QA file (``QA_PIXEL`` or ``BQA``), or None.
    """

    path: Path
    layout: str
    product_id: str
    date_acquired: datetime
    sun_elevation: float
    sun_azimuth: float
    earth_sun_distance: float
    utm_zone: int | None
    cloud_cover: float
    radiance_mult: dict[int, float]
    radiance_add: dict[int, float]
    reflectance_mult: dict[int, float]
    reflectance_add: dict[int, float]
    k1: float
    k2: float
    file_names: dict[int, str] = field(default_factory=dict)
    qa_file_name: str | None = None

    @property
    def sun_zenith(self) -> float:
        """Solar zenith angle in degrees."""
        return 90.0 - self.sun_elevation

    @property
    def mu_s(self) -> float:
        """Cosine of the solar zenith angle (= sine of the sun elevation)."""
        return float(np.sin(np.radians(self.sun_elevation)))


@dataclass(frozen=True)
class LandsatScene:
    """Digital numbers of one Landsat 8 Level-1 scene and its metadata.

    Attributes
    ----------
    scene_id
        Name of the scene folder.
    dn
        uint16 digital numbers by band name (``sensors.Landsat8.bands``); 0 is fill.
    qa
        uint16 pixel QA array, or None when the scene has no QA file.
    qa_layout
        Bit layout of ``qa``: ``"collection2"`` (QA_PIXEL), ``"collection1"`` or
        ``"pre-collection"`` (BQA); None without QA.
    transform
        The nominal affine transform of the arrays read (pixel corner
        convention): of the files, or of ``window``.
    crs
        CRS of the band files as a string.
    mtl
        Parsed metadata.
    paths
        File of every band read (band name or ``"qa"``, ``"mtl"``).
    window
        The window of the files that was read, or None for the whole image.
    """

    scene_id: str
    dn: dict[str, np.ndarray]
    qa: np.ndarray | None
    qa_layout: str | None
    transform: Affine
    crs: str
    mtl: Mtl
    paths: dict[str, Path]
    window: Window | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the band arrays."""
        return next(iter(self.dn.values())).shape


def parse_odl(text: str, *, path: str | Path = "<text>") -> dict[str, Any]:
    """Parse USGS ODL (``GROUP = X ... END_GROUP = X ... END``) into nested dicts.

    Quoted values become strings, integers and decimals become ``int`` and
    ``float``, anything else (dates, times) stays a string.

    Parameters
    ----------
    text
        The file content.
    path
        Name used in error messages.

    Returns
    -------
    dict
        ``{group: {subgroup: {key: value}}}``.

    Raises
    ------
    MetadataError
        On a line that is neither ``KEY = VALUE`` nor a group marker, or on
        unbalanced groups.
    """
    # Hand-rolled: the format is a dozen lines of grammar and no maintained
    # library in the environment reads it (GDAL parses MTL only inside its
    # Landsat drivers, without exposing the groups).
    root: dict[str, Any] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("", root)]
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "END":
            break
        key, sep, value = line.partition("=")
        if not sep:
            raise MetadataError(
                path,
                f"line {lineno} is not 'KEY = VALUE': {line[:60]!r}",
                "the file is not an ODL MTL file or is damaged; re-download it",
            )
        key, value = key.strip(), value.strip()
        if key == "GROUP":
            child: dict[str, Any] = {}
            stack[-1][1][value] = child
            stack.append((value, child))
        elif key == "END_GROUP":
            if len(stack) == 1 or stack[-1][0] != value:
                raise MetadataError(
                    path,
                    f"line {lineno}: END_GROUP = {value} does not close group {stack[-1][0]!r}",
                    "the file is damaged; re-download it",
                )
            stack.pop()
        else:
            stack[-1][1][key] = _odl_value(value)
    if len(stack) != 1:
        raise MetadataError(
            path,
            f"group {stack[-1][0]!r} is never closed",
            "the file is truncated; re-download it",
        )
    return root


def _odl_value(value: str) -> Any:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if _INTEGER.match(value):
        return int(value)
    if _NUMBER.match(value):
        return float(value)
    return value


def _layout(tree: dict[str, Any], path: Path) -> tuple[str, dict[str, Any]]:
    if "LANDSAT_METADATA_FILE" in tree:
        return "collection2", tree["LANDSAT_METADATA_FILE"]
    if "L1_METADATA_FILE" in tree:
        body = tree["L1_METADATA_FILE"]
        info = body.get("METADATA_FILE_INFO", {})
        layout = "collection1" if "COLLECTION_NUMBER" in info else "pre-collection"
        return layout, body
    raise MetadataError(
        path,
        "MTL has neither a LANDSAT_METADATA_FILE nor an L1_METADATA_FILE group",
        "is this a Landsat 8 MTL file? pass the scene's *_MTL.txt",
    )


class _Lookup:
    """Key lookup in the named groups of one MTL layout."""

    def __init__(self, body: dict[str, Any], layout: str, path: Path) -> None:
        self.body, self.groups, self.path = body, _GROUPS[layout], path

    def get(self, kind: str, key: str, default: Any = None) -> Any:
        for group in self.groups[kind]:
            values = self.body.get(group, {})
            if key in values:
                return values[key]
        return default

    def need(self, kind: str, key: str) -> Any:
        value = self.get(kind, key)
        if value is None:
            raise MetadataError(
                self.path,
                f"MTL has no {key} (looked in {', '.join(self.groups[kind])})",
                "is this a Landsat 8 L1 product? pass the Level-1 MTL file",
            )
        return value

    def number(self, kind: str, key: str) -> float:
        value = self.need(kind, key)
        if not isinstance(value, int | float):
            raise MetadataError(
                self.path, f"MTL value {key} = {value!r} is not a number", "repair the MTL file"
            )
        return float(value)

    def band_values(self, prefix: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for group in self.groups["rescaling"]:
            for key, value in self.body.get(group, {}).items():
                m = re.fullmatch(prefix + r"_BAND_(\d+)", key)
                if m and isinstance(value, int | float):
                    out.setdefault(int(m.group(1)), float(value))
        return out


def read_mtl(path: str | Path) -> Mtl:
    """Read a Landsat 8 MTL (Collection 2, Collection 1 or pre-Collection layout).

    Parameters
    ----------
    path
        The ``*_MTL.txt`` file.

    Returns
    -------
    Mtl
        Parsed metadata.

    Raises
    ------
    InputError
        If the file is missing or not text.
    MetadataError
        If the file is not ODL or lacks a needed key (rescaling coefficients of
        bands 1-7 and 10, thermal constants, date, sun elevation, Earth-Sun distance).

    Examples
    --------
    >>> mtl = read_mtl("LC08_L1TP_123032_20210622_20210629_02_T1_MTL.txt")  # doctest: +SKIP
    >>> mtl.radiance_mult[4]  # doctest: +SKIP
    0.0096725
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "MTL file does not exist", "check the scene folder")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"MTL is not a text file ({exc.reason})", "pass the scene's *_MTL.txt"
        ) from exc
    layout, body = _layout(parse_odl(text, path=path), path)
    look = _Lookup(body, layout, path)

    if layout == "pre-collection":
        product_id = str(look.need("product", "LANDSAT_SCENE_ID"))
    else:
        product_id = str(look.need("product", "LANDSAT_PRODUCT_ID"))
    date = str(look.need("image", "DATE_ACQUIRED"))
    centre = str(look.get("image", "SCENE_CENTER_TIME", "00:00:00")).rstrip("Z")
    # microseconds carry at most 6 digits; USGS writes 7
    centre = re.sub(r"(\.\d{6})\d+$", r"\1", centre)
    try:
        acquired = datetime.fromisoformat(f"{date}T{centre}")
    except ValueError as exc:
        raise MetadataError(
            path,
            f"DATE_ACQUIRED/SCENE_CENTER_TIME {date!r}/{centre!r} is not a date and time",
            "repair the MTL file",
        ) from exc

    radiance_mult = look.band_values("RADIANCE_MULT")
    radiance_add = look.band_values("RADIANCE_ADD")
    reflectance_mult = look.band_values("REFLECTANCE_MULT")
    reflectance_add = look.band_values("REFLECTANCE_ADD")
    for prefix, values, bands in (
        ("RADIANCE_MULT", radiance_mult, (*_REFLECTIVE_NUMBERS, _THERMAL_NUMBER)),
        ("RADIANCE_ADD", radiance_add, (*_REFLECTIVE_NUMBERS, _THERMAL_NUMBER)),
        ("REFLECTANCE_MULT", reflectance_mult, _REFLECTIVE_NUMBERS),
        ("REFLECTANCE_ADD", reflectance_add, _REFLECTIVE_NUMBERS),
    ):
        for n in bands:
            if n not in values:
                raise MetadataError(
                    path,
                    f"MTL has no {prefix}_BAND_{n}",
                    "is this a Landsat 8 L1 product? pass the Level-1 MTL file",
                )

    file_names: dict[int, str] = {}
    for group in _GROUPS[layout]["files"]:
        for key, value in body.get(group, {}).items():
            m = re.fullmatch(r"FILE_NAME_BAND_(\d+)", key)
            if m:
                file_names.setdefault(int(m.group(1)), str(value))
        if file_names:
            break
    qa_key = "FILE_NAME_QUALITY_L1_PIXEL" if layout == "collection2" else "FILE_NAME_BAND_QUALITY"
    qa_name = look.get("files", qa_key)
    utm = look.get("projection", "UTM_ZONE")
    return Mtl(
        path=path,
        layout=layout,
        product_id=product_id,
        date_acquired=acquired,
        sun_elevation=look.number("image", "SUN_ELEVATION"),
        sun_azimuth=float(look.get("image", "SUN_AZIMUTH", np.nan)),
        earth_sun_distance=look.number("image", "EARTH_SUN_DISTANCE"),
        utm_zone=int(utm) if isinstance(utm, int | float) else None,
        cloud_cover=float(look.get("image", "CLOUD_COVER", np.nan)),
        radiance_mult=radiance_mult,
        radiance_add=radiance_add,
        reflectance_mult=reflectance_mult,
        reflectance_add=reflectance_add,
        k1=look.number("thermal", f"K1_CONSTANT_BAND_{_THERMAL_NUMBER}"),
        k2=look.number("thermal", f"K2_CONSTANT_BAND_{_THERMAL_NUMBER}"),
        file_names=file_names,
        qa_file_name=str(qa_name) if qa_name is not None else None,
    )


def _find_one(scene_dir: Path, suffix_regex: str) -> Path | None:
    pat = re.compile(r".*_" + suffix_regex + r"\.tiff?$", re.IGNORECASE)
    hits = sorted(p for p in scene_dir.iterdir() if p.is_file() and pat.fullmatch(p.name))
    return hits[0] if hits else None


def find_mtl(scene_dir: str | Path) -> Path:
    """The ``*_MTL.txt`` file of a scene folder (case-insensitive).

    Raises
    ------
    InputError
        If the folder is missing or holds no (or several) MTL files.
    """
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        raise InputError(scene_dir, "scene folder does not exist", "check the raw folder layout")
    hits = sorted(p for p in scene_dir.iterdir() if p.name.lower().endswith("_mtl.txt"))
    if not hits:
        raise InputError(
            scene_dir, "no *_MTL.txt in the scene folder", "add the scene's MTL metadata file"
        )
    if len(hits) > 1:
        named = [p for p in hits if p.name.lower() == f"{scene_dir.name}_mtl.txt".lower()]
        if len(named) != 1:
            raise InputError(
                scene_dir,
                f"several MTL files ({', '.join(p.name for p in hits)})",
                "keep one scene per folder",
            )
        hits = named
    return hits[0]


def _band_path(scene_dir: Path, mtl: Mtl, name: str) -> Path:
    number = Landsat8.bands[name]
    listed = mtl.file_names.get(number)
    if listed and (scene_dir / listed).is_file():
        return scene_dir / listed
    found = _find_one(scene_dir, f"B{number}")
    if found is None:
        raise InputError(
            scene_dir,
            f"no file for band {name} (B{number}); expected {listed or f'*_B{number}.TIF'}",
            "add the band file or re-download the scene",
        )
    return found


def _qa_path(scene_dir: Path, mtl: Mtl) -> Path | None:
    if mtl.qa_file_name and (scene_dir / mtl.qa_file_name).is_file():
        return scene_dir / mtl.qa_file_name
    return _find_one(scene_dir, "QA_PIXEL") or _find_one(scene_dir, "BQA")


def _read_band(path: Path, window: Window | None) -> tuple[np.ndarray, dict]:
    """One band (optionally a window of it) and the full file's profile."""
    if window is None:
        return read_raster(path, indexes=1)
    with open_raster(path) as src:
        try:
            data = src.read(1, window=window)
        except RasterioIOError as exc:
            raise InputError(
                path,
                f"pixel data cannot be read ({exc})",
                "the file is probably truncated; re-download it",
            ) from exc
        return data, dict(src.profile)


def landsat_scene_geometry(scene_dir: str | Path) -> tuple[tuple[int, int], Affine, str]:
    """Size, nominal transform and CRS of a scene's band files, without reading pixels.

    Parameters
    ----------
    scene_dir
        Scene folder.

    Returns
    -------
    shape : tuple of int
        (rows, cols) of the full image.
    transform : affine.Affine
        Nominal transform of the GeoTIFFs.
    crs : str

    Raises
    ------
    InputError
        If the MTL or the red band file is missing or unreadable, or has no CRS.
    MetadataError
        If the MTL lacks a needed key.
    """
    scene_dir = Path(scene_dir)
    mtl = read_mtl(find_mtl(scene_dir))
    path = _band_path(scene_dir, mtl, "red")
    with open_raster(path) as src:
        if src.crs is None:
            raise InputError(path, "band file has no CRS", "use the original USGS GeoTIFF files")
        return (src.height, src.width), src.transform, src.crs.to_string()


def read_landsat_scene(
    scene_dir: str | Path,
    *,
    bands: tuple[str, ...] = tuple(Landsat8.bands),
    window: Window | None = None,
) -> LandsatScene:
    """Read the digital numbers, QA and metadata of a Landsat 8 Level-1 scene folder.

    Band files are located by the MTL ``FILE_NAME_BAND_n`` entries and, when
    those are absent from the folder, by the pattern ``*_B{n}.TIF``
    (case-insensitive). The QA file is ``QA_PIXEL`` (Collection 2 bit layout)
    or ``BQA`` (pre-Collection / Collection 1 layout, see
    :func:`coexplore.preprocess.radiometry.qa_clear_mask`).

    Parameters
    ----------
    scene_dir
        Folder holding the band files and the MTL.
    bands
        Band names to read (keys of ``sensors.Landsat8.bands``).
    window
        Read only this window of every band (see
        :func:`coexplore.preprocess.resample.grid_window`); None reads all.

    Returns
    -------
    LandsatScene
        With ``transform`` the nominal transform of the window read.

    Raises
    ------
    InputError
        If a band file is missing, truncated or not a raster, or the bands do
        not share one grid.
    MetadataError
        If the MTL lacks a needed key.
    """
    scene_dir = Path(scene_dir)
    mtl = read_mtl(find_mtl(scene_dir))
    unknown = [b for b in bands if b not in Landsat8.bands]
    if unknown:
        raise InputError(
            scene_dir,
            f"unknown Landsat 8 band name(s) {unknown}",
            f"use names from {list(Landsat8.bands)}",
        )
    if not bands:
        raise InputError(scene_dir, "no band requested", f"pass bands from {list(Landsat8.bands)}")
    dn: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {"mtl": mtl.path}
    ref_profile: dict | None = None
    for name in bands:
        path = _band_path(scene_dir, mtl, name)
        data, profile = _read_band(path, window)
        ref_profile = _check_same_grid(ref_profile, profile, path)
        dn[name] = data
        paths[name] = path

    qa = None
    qa_layout = None
    qa_path = _qa_path(scene_dir, mtl)
    if qa_path is not None:
        qa, profile = _read_band(qa_path, window)
        ref_profile = _check_same_grid(ref_profile, profile, qa_path)
        if "QA_PIXEL" in qa_path.name.upper():
            qa_layout = "collection2"
        else:
            qa_layout = "collection1" if mtl.layout == "collection1" else "pre-collection"
        paths["qa"] = qa_path
    assert ref_profile is not None  # bands is not empty
    crs = ref_profile["crs"]
    if crs is None:
        raise InputError(
            paths[bands[0]], "band file has no CRS", "use the original USGS GeoTIFF files"
        )
    transform = ref_profile["transform"]
    if window is not None:
        transform = transform @ Affine.translation(window.col_off, window.row_off)
    return LandsatScene(
        scene_id=scene_dir.name,
        dn=dn,
        qa=qa,
        qa_layout=qa_layout,
        transform=transform,
        crs=crs.to_string(),
        mtl=mtl,
        paths=paths,
        window=window,
    )


def _check_same_grid(ref: dict | None, profile: dict, path: Path) -> dict:
    if ref is None:
        return profile
    same = (
        ref["width"] == profile["width"]
        and ref["height"] == profile["height"]
        and ref["crs"] == profile["crs"]
        and ref["transform"].almost_equals(profile["transform"])
    )
    if not same:
        raise InputError(
            path,
            f"grid {profile['width']}x{profile['height']} {profile['transform']!r} differs "
            f"from the other bands ({ref['width']}x{ref['height']} {ref['transform']!r})",
            "all bands of a scene must share one 30 m grid; re-download the scene",
        )
    return ref


GCP_COLUMNS = ("id", "col", "row", "x", "y")


def read_gcps(path: str | Path) -> pd.DataFrame:
    """Read a ground-control-point table ``id,col,row,x,y``.

    ``(col, row)`` is the feature position in the delivered image, in pixel
    units with (0, 0) at the upper-left corner of the upper-left pixel
    (rasterio convention); ``(x, y)`` its true map coordinates in the scene CRS.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, col, row, x, y`` (coordinates as float); ``attrs["path"]``
        holds the file name.

    Raises
    ------
    InputError
        If the file is missing, unreadable, lacks a column or holds non-numeric
        or missing coordinates.
    GeometryError
        If fewer than 3 points are given or all points lie on one line, so no
        affine transform can be fitted.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "GCP file does not exist", "check the path or drop gcp_path")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})", "write id,col,row,x,y rows") from exc
    missing = [c for c in GCP_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            path,
            f"GCP table lacks column(s) {missing} (has {list(df.columns)})",
            "write the header id,col,row,x,y",
        )
    df = df[list(GCP_COLUMNS)].copy()
    for c in ("col", "row", "x", "y"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    bad = df[["col", "row", "x", "y"]].isna().any(axis=1) | ~np.isfinite(
        df[["col", "row", "x", "y"]].to_numpy(dtype=float)
    ).all(axis=1)
    if bad.any():
        raise InputError(
            path,
            f"GCP rows {df.index[bad].tolist()} have missing or non-numeric coordinates",
            "fix or remove those rows",
        )
    if len(df) < 3:
        raise GeometryError(
            path,
            f"only {len(df)} GCP(s); an affine fit needs at least 3 non-collinear points",
            "add ground control points spread over the scene",
        )
    centred = df[["col", "row"]].to_numpy(dtype=float)
    centred -= centred.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular[-1] <= 1e-9 * max(singular[0], 1.0):
        raise GeometryError(
            path,
            f"all {len(df)} GCPs lie on one line in the image",
            "add ground control points off that line",
        )
    df.attrs["path"] = str(path)
    return df
