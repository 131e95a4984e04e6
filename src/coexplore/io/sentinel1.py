"""Sentinel-1 IW GRD SAFE reader: manifest, annotation, calibration and noise
XML, measurement GeoTIFFs; a ``.SAFE`` folder or a ``.zip`` holding one.

File naming follows the SAFE convention: for an annotation
``annotation/s1a-iw-grd-vv-<...>.xml`` the calibration and noise files are
``annotation/calibration/calibration-<same>.xml`` and ``noise-<same>.xml``,
and the image is ``measurement/<same>.tiff``.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window
from scipy.interpolate import interp1d

from ..errors import DataError, InputError, MetadataError

CALIBRATION_KINDS: tuple[str, ...] = ("sigmaNought", "betaNought", "gamma", "dn")


@dataclass(frozen=True)
class CalibrationVector:
    """One calibration vector: LUT values at ``pixel`` positions of image ``line``."""

    line: int
    pixel: np.ndarray
    values: dict[str, np.ndarray]


@dataclass(frozen=True)
class NoiseRangeVector:
    """One thermal-noise range vector (``noiseRangeLut``, or ``noiseLut`` before IPF 2.9)."""

    line: int
    pixel: np.ndarray
    lut: np.ndarray


@dataclass(frozen=True)
class NoiseAzimuthVector:
    """One thermal-noise azimuth vector (IPF >= 2.9), valid over a block of the image."""

    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    line: np.ndarray
    lut: np.ndarray


@dataclass(frozen=True)
class S1Annotation:
    """Image description of one polarisation.

    Attributes
    ----------
    polarisation
        ``"vv"``, ``"vh"``, ...
    lines, samples
        Image size (rows, columns).
    range_spacing, azimuth_spacing
        Pixel spacing in metres.
    gcps
        Geolocation grid as GCPs (row = line, col = pixel, x = longitude,
        y = latitude, z = height, EPSG:4326).
    incidence_angle
        Incidence angle (degrees) of each GCP.
    path
        The annotation file (inside the SAFE).
    """

    polarisation: str
    lines: int
    samples: int
    range_spacing: float
    azimuth_spacing: float
    gcps: list[GroundControlPoint]
    incidence_angle: np.ndarray
    path: str


@dataclass(frozen=True)
class S1Band:
    """Annotation, calibration and noise of one polarisation.

    ``measurement`` is a path rasterio can open (``/vsizip/...`` inside a
    zip), or None when the product lacks the image.
    """

    polarisation: str
    annotation: S1Annotation
    calibration: tuple[CalibrationVector, ...]
    absolute_calibration_constant: float
    noise_range: tuple[NoiseRangeVector, ...]
    noise_azimuth: tuple[NoiseAzimuthVector, ...]
    measurement: str | None


@dataclass(frozen=True)
class S1Product:
    """A Sentinel-1 GRD product.

    Attributes
    ----------
    path
        The ``.SAFE`` folder or ``.zip``.
    product_id
        SAFE name without ``.SAFE``.
    mission
        ``"S1A"``/``"S1B"``...
    product_type, mode
        ``"GRD"``, ``"IW"``.
    start_time, stop_time
        Acquisition period (UTC, naive).
    pass_direction
        ``"ASCENDING"`` or ``"DESCENDING"``.
    polarisations
        Lower-case polarisations in the product (``("vv", "vh")``).
    bands
        Per polarisation metadata.
    """

    path: Path
    product_id: str
    mission: str
    product_type: str
    mode: str
    start_time: datetime
    stop_time: datetime
    pass_direction: str
    polarisations: tuple[str, ...]
    bands: dict[str, S1Band]


class _Safe:
    """Read access to the files of a SAFE folder or of a zip holding one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.zip = None
            self.root = ""
            self.name = path.name
            self.files = sorted(
                p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()
            )
            return
        if not path.exists():
            raise InputError(path, "SAFE product does not exist", "check the raw folder layout")
        if not zipfile.is_zipfile(path):
            raise InputError(
                path,
                "neither a .SAFE folder nor a zip archive",
                "pass the product's .SAFE folder or its .zip",
            )
        self.zip = zipfile.ZipFile(path)
        roots = {n.split("/")[0] for n in self.zip.namelist() if n.split("/")[0].endswith(".SAFE")}
        if len(roots) != 1:
            raise InputError(
                path,
                f"zip holds {len(roots)} .SAFE folders",
                "pass a zip with exactly one Sentinel-1 product",
            )
        self.name = roots.pop()
        self.root = self.name + "/"
        self.files = sorted(
            n[len(self.root) :]
            for n in self.zip.namelist()
            if n.startswith(self.root) and not n.endswith("/")
        )

    def display(self, rel: str) -> str:
        return f"{self.path}/{rel}" if self.zip is None else f"{self.path}!{self.root}{rel}"

    def xml(self, rel: str) -> ET.Element:
        if rel not in self.files:
            raise InputError(
                self.display(rel),
                "file missing from the SAFE product",
                "re-download the complete product",
            )
        try:
            if self.zip is None:
                data = (self.path / rel).read_bytes()
            else:
                data = self.zip.read(self.root + rel)
            return ET.fromstring(data)
        except (ET.ParseError, zipfile.BadZipFile, OSError) as exc:
            raise MetadataError(
                self.display(rel),
                f"malformed XML ({exc})",
                "the file is damaged or truncated; re-download the product",
            ) from exc

    def raster_path(self, rel: str) -> str:
        if self.zip is None:
            return str(self.path / rel)
        return f"/vsizip/{self.path}/{self.root}{rel}"

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _find(elem: ET.Element, path: str, where: str, *, required: bool = True) -> ET.Element | None:
    # namespace-agnostic: every step matches any namespace
    xpath = "/".join(
        f"{{*}}{step}" if step not in (".", "..") else step for step in path.split("/")
    )
    hit = elem.find(".//" + xpath) if not path.startswith("./") else elem.find(xpath)
    if hit is None and required:
        raise MetadataError(
            where,
            f"XML has no <{path}> element",
            "the file is not a Sentinel-1 SAFE annotation or is damaged; re-download it",
        )
    return hit


def _text(elem: ET.Element, path: str, where: str) -> str:
    hit = _find(elem, path, where)
    assert hit is not None
    if hit.text is None or not hit.text.strip():
        raise MetadataError(where, f"<{path}> is empty", "re-download the product")
    return hit.text.strip()


def _number(elem: ET.Element, path: str, where: str) -> float:
    raw = _text(elem, path, where)
    try:
        return float(raw)
    except ValueError as exc:
        raise MetadataError(where, f"<{path}> = {raw!r} is not a number", "re-download it") from exc


def _array(elem: ET.Element, path: str, where: str) -> np.ndarray:
    raw = _text(elem, path, where)
    try:
        return np.array(raw.split(), dtype=np.float64)
    except ValueError as exc:
        raise MetadataError(
            where, f"<{path}> holds non-numeric values", "re-download the product"
        ) from exc


def _time(raw: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.rstrip("Z"))
    except ValueError as exc:
        raise MetadataError(
            where, f"{raw!r} is not an ISO time", "re-download the product"
        ) from exc


def _check_lengths(where: str, tag: str, pixel: np.ndarray, values: np.ndarray) -> None:
    if pixel.size == 0 or pixel.size != values.size:
        raise MetadataError(
            where,
            f"<{tag}> has {values.size} values for {pixel.size} pixels",
            "the annotation is damaged; re-download the product",
        )


def _read_annotation(safe: _Safe, rel: str) -> S1Annotation:
    where = safe.display(rel)
    root = safe.xml(rel)
    info = _find(root, "imageAnnotation/imageInformation", where)
    assert info is not None
    points = []
    incidence = []
    grid = _find(root, "geolocationGrid/geolocationGridPointList", where)
    assert grid is not None
    for i, p in enumerate(grid.findall("{*}geolocationGridPoint")):
        points.append(
            GroundControlPoint(
                row=_number(p, "line", where),
                col=_number(p, "pixel", where),
                x=_number(p, "longitude", where),
                y=_number(p, "latitude", where),
                z=_number(p, "height", where)
                if _find(p, "height", where, required=False) is not None
                else 0.0,
                id=str(i),
            )
        )
        incidence.append(_number(p, "incidenceAngle", where))
    if len(points) < 3:
        raise MetadataError(
            where,
            f"geolocation grid has {len(points)} points; at least 3 are needed",
            "re-download the product",
        )
    return S1Annotation(
        polarisation=_text(root, "adsHeader/polarisation", where).lower(),
        lines=int(_number(info, "numberOfLines", where)),
        samples=int(_number(info, "numberOfSamples", where)),
        range_spacing=_number(info, "rangePixelSpacing", where),
        azimuth_spacing=_number(info, "azimuthPixelSpacing", where),
        gcps=points,
        incidence_angle=np.array(incidence),
        path=where,
    )


def _read_calibration(safe: _Safe, rel: str) -> tuple[tuple[CalibrationVector, ...], float]:
    where = safe.display(rel)
    root = safe.xml(rel)
    vectors = []
    for v in root.findall(".//{*}calibrationVector"):
        pixel = _array(v, "pixel", where)
        values = {}
        for kind in CALIBRATION_KINDS:
            if _find(v, kind, where, required=False) is not None:
                values[kind] = _array(v, kind, where)
                _check_lengths(where, kind, pixel, values[kind])
        if "sigmaNought" not in values:
            raise MetadataError(where, "calibrationVector has no <sigmaNought>", "re-download it")
        vectors.append(CalibrationVector(int(_number(v, "line", where)), pixel, values))
    if not vectors:
        raise MetadataError(where, "no <calibrationVector> elements", "re-download the product")
    const = _find(root, "absoluteCalibrationConstant", where, required=False)
    return tuple(vectors), float(const.text) if const is not None and const.text else 1.0


def _read_noise(
    safe: _Safe, rel: str
) -> tuple[tuple[NoiseRangeVector, ...], tuple[NoiseAzimuthVector, ...]]:
    where = safe.display(rel)
    root = safe.xml(rel)
    ranges = []
    # IPF >= 2.9: noiseRangeVector/noiseRangeLut; older: noiseVector/noiseLut
    for tag, lut_tag in (("noiseRangeVector", "noiseRangeLut"), ("noiseVector", "noiseLut")):
        for v in root.findall(f".//{{*}}{tag}"):
            pixel = _array(v, "pixel", where)
            lut = _array(v, lut_tag, where)
            _check_lengths(where, lut_tag, pixel, lut)
            ranges.append(NoiseRangeVector(int(_number(v, "line", where)), pixel, lut))
    if not ranges:
        raise MetadataError(
            where, "no <noiseRangeVector> or <noiseVector> elements", "re-download the product"
        )
    azimuth = []
    for v in root.findall(".//{*}noiseAzimuthVector"):
        line = _array(v, "line", where)
        lut = _array(v, "noiseAzimuthLut", where)
        _check_lengths(where, "noiseAzimuthLut", line, lut)
        azimuth.append(
            NoiseAzimuthVector(
                first_line=int(_number(v, "firstAzimuthLine", where)),
                last_line=int(_number(v, "lastAzimuthLine", where)),
                first_sample=int(_number(v, "firstRangeSample", where)),
                last_sample=int(_number(v, "lastRangeSample", where)),
                line=line,
                lut=lut,
            )
        )
    return tuple(ranges), tuple(azimuth)


def read_safe(path: str | Path) -> S1Product:
    """Read the metadata of a Sentinel-1 GRD product.

    Parameters
    ----------
    path
        A ``<product>.SAFE`` folder or a ``.zip`` holding one.

    Returns
    -------
    S1Product
        Product metadata with, per polarisation, the annotation, calibration
        and noise vectors and the measurement path (None when absent, as in
        archives distributed without imagery).

    Raises
    ------
    InputError
        If the product, its manifest or a polarisation's annotation,
        calibration or noise file is missing.
    MetadataError
        If an XML file is malformed or lacks a needed element.

    Examples
    --------
    >>> p = read_safe("S1A_IW_GRDH_1SDV_20210119T031653_..._8255.zip")  # doctest: +SKIP
    >>> p.polarisations  # doctest: +SKIP
    ('vv', 'vh')
    """
    path = Path(path)
    safe = _Safe(path)
    try:
        where = safe.display("manifest.safe")
        manifest = safe.xml("manifest.safe")
        family = _text(manifest, "platform/familyName", where)
        number = _text(manifest, "platform/number", where)
        mission = ("S1" + number) if family.upper() == "SENTINEL-1" else family
        pols = tuple(
            e.text.strip().lower()
            for e in manifest.findall(".//{*}transmitterReceiverPolarisation")
            if e.text and e.text.strip()
        )
        if not pols:
            raise MetadataError(
                where, "manifest lists no transmitterReceiverPolarisation", "re-download it"
            )
        pass_dir = _find(manifest, "orbitProperties/pass", where, required=False)
        bands: dict[str, S1Band] = {}
        annotation_files: dict[str, str] = {}
        for pol in pols:
            pat = re.compile(rf"^annotation/s1[a-d]-[a-z0-9]+-grd-{pol}-[^/]+\.xml$")
            hits = [f for f in safe.files if pat.match(f)]
            if len(hits) != 1:
                raise InputError(
                    safe.display("annotation/"),
                    f"{len(hits)} annotation files for polarisation {pol.upper()}",
                    "re-download the complete product",
                )
            rel = annotation_files[pol] = hits[0]
            stem = PurePosixPath(rel).stem
            annotation = _read_annotation(safe, rel)
            calibration, const = _read_calibration(
                safe, f"annotation/calibration/calibration-{stem}.xml"
            )
            noise_range, noise_azimuth = _read_noise(
                safe, f"annotation/calibration/noise-{stem}.xml"
            )
            meas = [f for f in safe.files if re.fullmatch(rf"measurement/{stem}\.tiff?", f)]
            bands[pol] = S1Band(
                polarisation=pol,
                annotation=annotation,
                calibration=calibration,
                absolute_calibration_constant=const,
                noise_range=noise_range,
                noise_azimuth=noise_azimuth,
                measurement=safe.raster_path(meas[0]) if meas else None,
            )
        product_type = _text(manifest, "productType", where)
        mode = _text(manifest, "instrumentMode/mode", where)
        if pass_dir is not None and pass_dir.text:
            pass_direction = pass_dir.text.strip().upper()
        else:
            first = annotation_files[pols[0]]
            pass_direction = _text(
                safe.xml(first), "productInformation/pass", safe.display(first)
            ).upper()
        return S1Product(
            path=path,
            product_id=safe.name.removesuffix(".SAFE"),
            mission=mission,
            product_type=product_type,
            mode=mode,
            start_time=_time(_text(manifest, "acquisitionPeriod/startTime", where), where),
            stop_time=_time(_text(manifest, "acquisitionPeriod/stopTime", where), where),
            pass_direction=pass_direction,
            polarisations=pols,
            bands=bands,
        )
    finally:
        safe.close()


def _open_measurement(band: S1Band):
    if band.measurement is None:
        raise InputError(
            band.annotation.path,
            f"product has no measurement image for {band.polarisation.upper()}",
            "download the full product (the measurement/ folder is empty)",
        )
    try:
        with warnings.catch_warnings():
            # radar-geometry images have GCPs, not a geotransform
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(band.measurement)
    except RasterioIOError as exc:
        raise InputError(
            band.measurement,
            f"measurement image cannot be read ({exc})",
            "the file is probably truncated; re-download the product",
        ) from exc


def measurement_gcps(band: S1Band) -> tuple[list[GroundControlPoint], CRS]:
    """GCP georeferencing of one polarisation's image, without reading pixels.

    The GCPs come from the GeoTIFF when it carries them, else from the
    annotation's geolocation grid (EPSG:4326).

    Parameters
    ----------
    band
        A polarisation of :func:`read_safe`.

    Returns
    -------
    gcps : list of GroundControlPoint
        In full-image (line, pixel) coordinates.
    crs : rasterio.crs.CRS
        CRS of the GCP coordinates.

    Raises
    ------
    InputError
        If the product has no measurement image for the polarisation, the
        image is not readable, or its size disagrees with the annotation.
    """
    with _open_measurement(band) as src:
        expected = (band.annotation.lines, band.annotation.samples)
        if (src.height, src.width) != expected:
            raise InputError(
                band.measurement or band.annotation.path,
                f"image is {src.height}x{src.width} but the annotation says "
                f"{expected[0]}x{expected[1]}",
                "re-download the product; image and annotation must match",
            )
        gcps, gcp_crs = src.gcps
    if not gcps:
        return list(band.annotation.gcps), CRS.from_epsg(4326)
    return list(gcps), gcp_crs or CRS.from_epsg(4326)


def read_measurement(
    band: S1Band, *, window: Window | None = None
) -> tuple[np.ndarray, list[GroundControlPoint], CRS]:
    """Read the DN image of one polarisation (or a window of it) and its GCPs.

    Parameters
    ----------
    band
        A polarisation of :func:`read_safe`.
    window
        Read only this window; the returned GCPs are then relative to it.

    Returns
    -------
    dn : numpy.ndarray
        uint16 amplitude DN.
    gcps : list of GroundControlPoint
        Georeferencing of ``dn`` (see :func:`measurement_gcps`).
    crs : rasterio.crs.CRS
        CRS of the GCP coordinates.

    Raises
    ------
    InputError
        If the product has no measurement for the polarisation, or the file
        is truncated, not a raster, or its size disagrees with the annotation.
    """
    gcps, crs = measurement_gcps(band)
    with _open_measurement(band) as src:
        try:
            dn = src.read(1, window=window)
        except RasterioIOError as exc:
            raise InputError(
                band.measurement or band.annotation.path,
                f"measurement image cannot be read ({exc})",
                "the file is probably truncated; re-download the product",
            ) from exc
    if window is not None:
        gcps = [
            GroundControlPoint(
                row=g.row - window.row_off,
                col=g.col - window.col_off,
                x=g.x,
                y=g.y,
                z=g.z,
                id=g.id,
                info=g.info,
            )
            for g in gcps
        ]
    return dn, gcps, crs


def _interp_lines(lines: np.ndarray, per_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    order = np.argsort(lines, kind="stable")
    lines, per_vector = lines[order], per_vector[order]
    # keep the last vector of a repeated line
    keep = np.append(lines[1:] != lines[:-1], True)
    lines, per_vector = lines[keep], per_vector[keep]
    if len(lines) == 1:
        return np.broadcast_to(per_vector[0], (len(rows), per_vector.shape[1])).copy()
    f = interp1d(
        lines,
        per_vector,
        axis=0,
        kind="linear",
        bounds_error=False,
        fill_value=(per_vector[0], per_vector[-1]),
        assume_sorted=True,
    )
    return f(rows)


def _grid(shape: tuple[int, int], offset: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    if h < 1 or w < 1:
        raise DataError(f"LUT shape {shape} is empty")
    return offset[0] + np.arange(h, dtype=np.float64), offset[1] + np.arange(w, dtype=np.float64)


def calibration_lut(
    vectors: Sequence[CalibrationVector],
    shape: tuple[int, int],
    *,
    kind: str = "sigmaNought",
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Calibration LUT at every pixel, bilinear over (line, pixel).

    Each vector is first interpolated linearly along its pixel positions,
    then the vectors are interpolated linearly between their lines; on the
    rectilinear grid of the annotation this is exactly bilinear
    interpolation, and it also copes with vectors whose pixel positions
    differ. Values beyond the first/last vector or pixel are held constant.

    Parameters
    ----------
    vectors
        Calibration vectors of one polarisation.
    shape
        (rows, cols) of the output.
    kind
        ``sigmaNought``, ``betaNought``, ``gamma`` or ``dn``.
    offset
        (line, pixel) of the output's first element (to compute a window).

    Returns
    -------
    numpy.ndarray
        float64 LUT of ``shape``.

    Raises
    ------
    DataError
        If no vector is given, ``kind`` is missing or ``shape`` is empty.
    """
    if not vectors:
        raise DataError("no calibration vectors")
    if any(kind not in v.values for v in vectors):
        raise DataError(f"calibration vectors lack {kind!r}; available: {list(vectors[0].values)}")
    rows, cols = _grid(shape, offset)
    per_vector = np.stack([np.interp(cols, v.pixel, v.values[kind]) for v in vectors])
    lines = np.array([v.line for v in vectors], dtype=np.float64)
    return _interp_lines(lines, per_vector, rows)


def noise_lut(
    range_vectors: Sequence[NoiseRangeVector],
    shape: tuple[int, int],
    *,
    azimuth_vectors: Sequence[NoiseAzimuthVector] = (),
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Thermal noise power at every pixel.

    The range LUT is interpolated like :func:`calibration_lut`; with IPF >=
    2.9 azimuth vectors, each block of the image is multiplied by its
    azimuth LUT (linear over lines), as in ESA's "Thermal Denoising of
    Products Generated by the S-1 IPF" (MPC-0392).

    Parameters
    ----------
    range_vectors
        Noise range vectors of one polarisation.
    shape
        (rows, cols) of the output.
    azimuth_vectors
        Noise azimuth vectors (empty for products before IPF 2.9).
    offset
        (line, pixel) of the output's first element.

    Returns
    -------
    numpy.ndarray
        float64 noise power of ``shape``.

    Raises
    ------
    DataError
        If no range vector is given or ``shape`` is empty.
    """
    if not range_vectors:
        raise DataError("no noise range vectors")
    rows, cols = _grid(shape, offset)
    per_vector = np.stack([np.interp(cols, v.pixel, v.lut) for v in range_vectors])
    lines = np.array([v.line for v in range_vectors], dtype=np.float64)
    out = _interp_lines(lines, per_vector, rows)
    for az in azimuth_vectors:
        r = (rows >= az.first_line) & (rows <= az.last_line)
        c = (cols >= az.first_sample) & (cols <= az.last_sample)
        if r.any() and c.any():
            factor = np.interp(rows[r], az.line, az.lut)
            out[np.ix_(r, c)] *= factor[:, None]
    return out
