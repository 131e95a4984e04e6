"""Sentinel-1A IW GRDH forward model and SAFE writer.

Radar geometry
    Each product is a square image of 10 m pixels along an ascending track
    (heading about -12 deg): lines run along track (first line southernmost),
    samples run across track towards far range (east-north-east, right
    looking). In map coordinates this is a rotated, mirrored affine grid;
    it covers the study area plus 400 m, with a per-product orbit jitter of
    up to 50 m. Pixels whose ground lies outside the simulated land are 0
    (no data, as on the borders of real GRD images). The products carry no
    map transform, only ground control points in EPSG:4326 (in the TIFF and,
    the same points, in the annotation's geolocation grid). A point's
    ``(pixel, line)`` follows the GDAL convention: (0, 0) is the upper-left
    corner of the first pixel.

Backscatter (sigma0, dB, at 38 deg incidence, then ``+10 n log10(cos theta_loc /
cos 38)`` with the local incidence angle on the pre-mining terrain)
    vegetation -11 + 2.5 g (VV), -19.5 + 5.5 g (VH, volume scattering by green
    cover g); bare land -14 + 3.5 m (VV), -24.5 + 3 m (VH), with ``m`` the soil
    moisture anomaly ``(sm - 0.2) / 0.2`` (frozen soil counts as dry), plus
    roughness; mining rougher and brighter (-9 / -17.5) and changing with
    the working faces; built-up bright (double bounce, -3.5 / -11);
    reclaimed -13.5 / -23 rising with its grass; water very dark
    (-24 / -31) unless wind roughens it. Within-class variability about
    0.8 dB. The field is blurred to the ~20 m resolution, sampled in radar
    geometry and multiplied by gamma-distributed speckle with ``looks``.

Calibration
    ``betaNought`` = 474 (the real value), ``sigmaNought = beta / sqrt(sin
    theta)`` (~600), ``gamma = beta / sqrt(tan theta)``, ``dn = beta``, per range
    pixel every 40 samples (and the last one), repeated on vector lines every
    100 lines (and the last one). Noise: ``noiseRangeLut = NESZ * sigmaNought^2``
    with NESZ about -25 dB varying with range; a flat ``noiseAzimuthLut`` of 1.
    ``DN = round(sqrt(sigma0 * A^2 + N))`` where A and N are the LUTs
    interpolated linearly between nodes, so ``sigma0 = (DN^2 - N) / A^2``
    recovers sigma0 up to the DN rounding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from scipy import ndimage

from .. import layout
from ..io.atomic import atomic_path
from .plan import S1_AZIMUTH_TIME_INTERVAL, Sentinel1Acquisition, sentinel1_files, sentinel1_lines
from .safe_xml import (
    DataObject,
    GeoPoint,
    ProductHeader,
    annotation_xml,
    calibration_xml,
    manifest_xml,
    noise_xml,
)
from .state import BARE_LAND, BUILT_UP, MINING, RECLAIMED, VEGETATION, WATER, LandState
from .streams import rng_for
from .surface import Snapshot, surface_snapshot

PIXEL = 10.0
HEADING_DEG = -12.0
BETA_NOUGHT = 474.0
REFERENCE_INCIDENCE = 38.0
LUT_PIXEL_STEP = 40
LUT_LINE_STEP = 100
GEO_GRID_POINTS = 10
EARTH_RADIUS = 6371e3
ORBIT_HEIGHT = 693e3
SPEED_OF_LIGHT = 299_792_458.0
POLARISATIONS = ("vv", "vh")

# class -> (VV dB, VH dB, angular exponent n)
_BASE = {
    VEGETATION: (-11.0, -19.5, 1.0),
    BARE_LAND: (-14.0, -24.5, 2.0),
    MINING: (-9.0, -17.5, 1.3),
    BUILT_UP: (-3.5, -11.0, 0.5),
    RECLAIMED: (-13.5, -23.0, 1.6),
    WATER: (-24.0, -31.0, 4.0),
}


@dataclass(frozen=True)
class RadarGeometry:
    """Image geometry of one product.

    ``transform`` maps GDAL image coordinates (pixel, line) to map (x, y) in
    the area CRS; incidence grows linearly across range.
    """

    transform: Affine
    lines: int
    samples: int
    heading_deg: float
    near_incidence_deg: float
    incidence_step_deg: float

    def incidence(self, pixel: np.ndarray | float) -> np.ndarray:
        """Ellipsoid incidence angle (degrees) at range pixel ``pixel``."""
        return self.near_incidence_deg + self.incidence_step_deg * np.asarray(pixel, dtype=float)


@dataclass(frozen=True, eq=False)
class RenderedProduct:
    """A rendered dual-polarisation GRD product.

    Attributes
    ----------
    acquisition
        Plan entry.
    geometry
        Radar image geometry.
    dn
        uint16 digital numbers by polarisation (``"vv"``, ``"vh"``); 0 = no data.
    sigma0
        The speckled sigma0 (linear) that was encoded, NaN on no-data pixels.
    lut_pixels, lut_lines
        Calibration/noise vector nodes.
    sigma_lut, beta_lut, gamma_lut, dn_lut
        Calibration LUT values at ``lut_pixels`` (as written).
    noise_lut
        Noise LUT values at ``lut_pixels`` by polarisation (as written).
    points
        Geolocation grid points.
    first_line, last_line
        Azimuth times of the first and last line.
    """

    acquisition: Sentinel1Acquisition
    geometry: RadarGeometry
    dn: dict[str, np.ndarray]
    sigma0: dict[str, np.ndarray]
    lut_pixels: np.ndarray
    lut_lines: np.ndarray
    sigma_lut: np.ndarray
    beta_lut: np.ndarray
    gamma_lut: np.ndarray
    dn_lut: np.ndarray
    noise_lut: dict[str, np.ndarray]
    points: tuple[GeoPoint, ...]
    first_line: dt.datetime
    last_line: dt.datetime

    def line_time(self, line: float) -> dt.datetime:
        """Azimuth time of a (fractional) line."""
        return self.first_line + dt.timedelta(seconds=float(line) * S1_AZIMUTH_TIME_INTERVAL)


def _as_written(values: np.ndarray) -> np.ndarray:
    """Values rounded to the 7 significant digits the XML carries."""
    return np.array([float(f"{v:.6e}") for v in values])


def radar_geometry(state: LandState, acquisition: Sentinel1Acquisition) -> RadarGeometry:
    """The image geometry of a product.

    Parameters
    ----------
    state
        The hidden state (seed and area).
    acquisition
        The product.

    Returns
    -------
    RadarGeometry
        Heading -12 deg (+-0.05), centred on the area with up to 50 m orbit
        jitter; the near-range incidence is fixed per area (33..42 deg).
    """
    rng = rng_for(state.seed, "sentinel1", "geometry", acquisition.start.toordinal())
    n = sentinel1_lines(state.settings)
    heading = HEADING_DEG + float(rng.uniform(-0.05, 0.05))
    h = math.radians(heading)
    a, d = PIXEL * math.sin(h + math.pi / 2), PIXEL * math.cos(h + math.pi / 2)
    b, e = PIXEL * math.sin(h), PIXEL * math.cos(h)
    left, bottom, right, top = state.grid.bounds
    xc = (left + right) / 2 + float(rng.uniform(-50, 50))
    yc = (bottom + top) / 2 + float(rng.uniform(-50, 50))
    c = xc - (a + b) * n / 2
    f = yc - (d + e) * n / 2
    track = rng_for(state.seed, "sentinel1", "track")
    near = float(track.uniform(33.0, 42.0))
    # incidence grows ~0.07 deg per km across an IW swath
    return RadarGeometry(
        transform=Affine(a, b, c, d, e, f),
        lines=n,
        samples=n,
        heading_deg=heading,
        near_incidence_deg=near,
        incidence_step_deg=0.07 * PIXEL / 1000.0,
    )


def sigma0_db(
    state: LandState, snap: Snapshot, geometry: RadarGeometry, *, wind: float
) -> dict[str, np.ndarray]:
    """Noise-free sigma0 (dB) of VV and VH on the extended 10 m grid.

    Parameters
    ----------
    state
        The hidden state.
    snap
        The day's surface.
    geometry
        The product geometry (incidence and look direction).
    wind
        Wind speed of the day (m/s), roughening open water.

    Returns
    -------
    dict
        ``{"vv": array, "vh": array}`` in dB.
    """
    x, y = state.coords()
    inv = ~geometry.transform
    pixel = inv.a * x + inv.b * y + inv.c
    theta = np.radians(geometry.incidence(pixel))
    toward_sensor = math.radians(geometry.heading_deg + 270.0)
    cos_local = np.cos(theta) * np.cos(state.slope) + np.sin(theta) * np.sin(state.slope) * np.cos(
        state.aspect - toward_sensor
    )
    cos_local = np.clip(cos_local, 0.05, 1.0)
    angle_term = 10.0 * np.log10(cos_local / math.cos(math.radians(REFERENCE_INCIDENCE)))

    frozen = snap.air_temperature < -1.0
    m = np.full(snap.soil_moisture.shape, -1.0) if frozen else (snap.soil_moisture - 0.2) / 0.2
    g = snap.green
    rough = state.roughness - 0.5
    variability = 8.0 * (state.brightness - 1.0)
    calm = float(np.clip((wind - 2.0) / 5.0, 0.0, 1.0))
    orient = (state.garden - 0.2) / 0.1

    cls = snap.cls
    vv = np.zeros(cls.shape, dtype=np.float64)
    vh = np.zeros(cls.shape, dtype=np.float64)
    n_exp = np.zeros(cls.shape, dtype=np.float64)
    terms = {
        VEGETATION: (2.5 * g + 1.5 * m * (1 - g), 5.5 * g + 0.5 * m * (1 - g)),
        BARE_LAND: (3.5 * m + 2.5 * rough, 3.0 * m + 2.0 * rough),
        MINING: (2.0 * m + 3.0 * rough + 1.0 * snap.activity, 1.5 * m + 2.0 * rough),
        BUILT_UP: (3.0 * orient, 2.5 * orient),
        RECLAIMED: (2.0 * g + 3.0 * m, 5.5 * g + 2.0 * m),
        WATER: (np.full(cls.shape, 7.0 * calm), np.full(cls.shape, 3.0 * calm)),
    }
    for code, (base_vv, base_vh, n) in _BASE.items():
        sel = cls == code
        extra_vv, extra_vh = terms[code]
        vv[sel] = base_vv + np.broadcast_to(extra_vv, cls.shape)[sel]
        vh[sel] = base_vh + np.broadcast_to(extra_vh, cls.shape)[sel]
        n_exp[sel] = n
    land = cls != WATER
    vv += angle_term * n_exp + np.where(land, variability, 0.0)
    vh += angle_term * n_exp + np.where(land, variability, 0.0)
    return {"vv": vv.astype(np.float32), "vh": vh.astype(np.float32)}


def _sample(field: np.ndarray, state: LandState, geometry: RadarGeometry) -> np.ndarray:
    """Bilinear samples of an extended-grid field at the radar pixel centres (NaN outside)."""
    n_l, n_s = geometry.lines, geometry.samples
    cols, rows = np.meshgrid(np.arange(n_s) + 0.5, np.arange(n_l) + 0.5)
    x, y = geometry.transform @ (cols, rows)
    inv = ~state.ext.transform
    gc, gr = inv @ (x, y)
    coords = np.stack([gr - 0.5, gc - 0.5])
    return ndimage.map_coordinates(field, coords, order=1, mode="constant", cval=np.nan)


def render_sentinel1_product(
    state: LandState, acquisition: Sentinel1Acquisition
) -> RenderedProduct:
    """Render one dual-polarisation GRD product of the hidden state.

    Parameters
    ----------
    state
        The hidden state.
    acquisition
        The planned product.

    Returns
    -------
    RenderedProduct
        Deterministic in the state seed and the acquisition date.
    """
    settings = state.settings
    geometry = radar_geometry(state, acquisition)
    date = acquisition.start.date()
    snap = surface_snapshot(state, date)
    wind = float(state.climate.wind[state.climate.index(date)])
    db = sigma0_db(state, snap, geometry, wind=wind)
    rng = rng_for(state.seed, "sentinel1", "speckle", date.toordinal())

    n = geometry.lines
    lut_pixels = np.unique(np.r_[np.arange(0, n, LUT_PIXEL_STEP), n - 1])
    lut_lines = np.unique(np.r_[np.arange(0, n, LUT_LINE_STEP), n - 1])
    theta = np.radians(geometry.incidence(lut_pixels))
    beta = _as_written(np.full(lut_pixels.size, BETA_NOUGHT))
    sigma_lut = _as_written(BETA_NOUGHT / np.sqrt(np.sin(theta)))
    gamma_lut = _as_written(BETA_NOUGHT / np.sqrt(np.tan(theta)))
    amp = np.interp(np.arange(n), lut_pixels, sigma_lut)[None, :]

    dn: dict[str, np.ndarray] = {}
    sigma0: dict[str, np.ndarray] = {}
    noise_lut: dict[str, np.ndarray] = {}
    for k, pol in enumerate(POLARISATIONS):
        nesz_db = -25.0 + 1.0 * np.sin(2 * np.pi * lut_pixels / 450.0 + k) - 0.5 * k
        noise_lut[pol] = _as_written(10 ** (nesz_db / 10.0) * sigma_lut**2)
        noise = np.interp(np.arange(n), lut_pixels, noise_lut[pol])[None, :]
        linear = ndimage.gaussian_filter(10 ** (db[pol] / 10.0), 0.8)
        s0 = _sample(linear, state, geometry)
        speckled = s0 * rng.gamma(
            settings.sentinel1.looks, 1.0 / settings.sentinel1.looks, s0.shape
        )
        valid = np.isfinite(speckled)
        counts = np.sqrt(np.where(valid, speckled, 0.0) * amp**2 + noise)
        dn[pol] = np.where(valid, np.clip(np.round(counts), 1, 65535), 0).astype(np.uint16)
        sigma0[pol] = speckled.astype(np.float32)

    first = acquisition.start
    last = first + dt.timedelta(seconds=(n - 1) * S1_AZIMUTH_TIME_INTERVAL)
    points = _geolocation_points(state, geometry, first)
    return RenderedProduct(
        acquisition=acquisition,
        geometry=geometry,
        dn=dn,
        sigma0=sigma0,
        lut_pixels=lut_pixels,
        lut_lines=lut_lines,
        sigma_lut=sigma_lut,
        beta_lut=beta,
        gamma_lut=gamma_lut,
        dn_lut=beta,
        noise_lut=noise_lut,
        points=points,
        first_line=first,
        last_line=last,
    )


def _geolocation_points(
    state: LandState, geometry: RadarGeometry, first: dt.datetime
) -> tuple[GeoPoint, ...]:
    n = geometry.lines
    nodes = np.unique(np.round(np.linspace(0, n - 1, GEO_GRID_POINTS)).astype(int))
    to_ll = Transformer.from_crs(state.grid.crs, "EPSG:4326", always_xy=True)
    points = []
    for line in nodes:
        for pixel in nodes:
            x, y = geometry.transform @ (float(pixel), float(line))
            lon, lat = to_ll.transform(x, y)
            inc = float(geometry.incidence(pixel))
            look = math.degrees(
                math.asin(
                    math.sin(math.radians(inc)) * EARTH_RADIUS / (EARTH_RADIUS + ORBIT_HEIGHT)
                )
            )
            slant = (
                (EARTH_RADIUS + ORBIT_HEIGHT)
                * math.sin(math.radians(inc - look))
                / math.sin(math.radians(inc))
            )
            points.append(
                GeoPoint(
                    line=int(line),
                    pixel=int(pixel),
                    azimuth_time=first
                    + dt.timedelta(seconds=float(line) * S1_AZIMUTH_TIME_INTERVAL),
                    slant_range_time=2.0 * slant / SPEED_OF_LIGHT,
                    latitude=float(lat),
                    longitude=float(lon),
                    height=float(state.scenery.elevation(x, y)),
                    incidence_angle=inc,
                    elevation_angle=look,
                )
            )
    return tuple(points)


def _ascending_node(first: dt.datetime, latitude: float) -> dt.datetime:
    period = 12 * 86400.0 / 175.0
    # time from the ascending node to the latitude on a near-polar orbit
    return first - dt.timedelta(seconds=period * math.radians(latitude) / (2 * math.pi))


def _write_measurement(path: Path, product: RenderedProduct, pol: str) -> None:
    gcps = [
        GroundControlPoint(
            row=float(p.line), col=float(p.pixel), x=p.longitude, y=p.latitude, z=p.height
        )
        for p in product.points
    ]
    n_l, n_s = product.geometry.lines, product.geometry.samples
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=n_s,
        height=n_l,
        count=1,
        dtype="uint16",
        compress="deflate",
        gcps=gcps,
        crs=CRS.from_epsg(4326),
    ) as dst:
        dst.write(product.dn[pol], 1)


def write_sentinel1_product(
    state: LandState, product: RenderedProduct, raw_dir: Path | str
) -> list[Path]:
    """Write one SAFE folder atomically (assembled under a temporary name, then renamed).

    Parameters
    ----------
    state
        The hidden state (for latitude and the footprint).
    product
        The rendered product.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    list of pathlib.Path
        The written files (``plan.sentinel1_files`` order).
    """
    acq = product.acquisition
    target = layout.sentinel1_safe_dir(raw_dir, acq.product_id)
    lat = state.settings.centre_lonlat[1]
    anx = _ascending_node(product.first_line, lat)
    line_times = [product.line_time(line) for line in product.lut_lines]
    objects: list[DataObject] = []
    with atomic_path(target) as tmp:
        (tmp / "annotation" / "calibration").mkdir(parents=True)
        (tmp / "measurement").mkdir()
        for pol in POLARISATIONS:
            header = ProductHeader(
                acquisition=acq,
                polarisation=pol.upper(),
                first_line=product.first_line,
                last_line=product.last_line,
                lines=product.geometry.lines,
                samples=product.geometry.samples,
            )
            stem = acq.file_stem(pol)
            key = stem.replace("-", "")
            docs = {
                f"annotation/{stem}.xml": (
                    f"product{key}",
                    "s1Level1ProductSchema",
                    annotation_xml(
                        header,
                        heading_deg=product.geometry.heading_deg,
                        ascending_node=anx,
                        azimuth_time_interval=S1_AZIMUTH_TIME_INTERVAL,
                        slant_range_time=product.points[0].slant_range_time,
                        incidence_mid=float(
                            product.geometry.incidence(product.geometry.samples / 2)
                        ),
                        points=product.points,
                    ),
                ),
                f"annotation/calibration/calibration-{stem}.xml": (
                    f"calibration{key}",
                    "s1Level1CalibrationSchema",
                    calibration_xml(
                        header,
                        lines=product.lut_lines,
                        line_times=line_times,
                        pixels=product.lut_pixels,
                        sigma=product.sigma_lut,
                        beta=product.beta_lut,
                        gamma=product.gamma_lut,
                        dn=product.dn_lut,
                    ),
                ),
                f"annotation/calibration/noise-{stem}.xml": (
                    f"noise{key}",
                    "s1Level1NoiseSchema",
                    noise_xml(
                        header,
                        lines=product.lut_lines,
                        line_times=line_times,
                        pixels=product.lut_pixels,
                        noise=product.noise_lut[pol],
                    ),
                ),
            }
            for rel, (object_id, rep_id, payload) in docs.items():
                (tmp / rel).write_bytes(payload)
                objects.append(
                    DataObject(
                        object_id=object_id,
                        rep_id=rep_id,
                        href=f"./{rel}",
                        mime="text/xml",
                        size=len(payload),
                        md5=hashlib.md5(payload).hexdigest(),
                    )
                )
            rel = f"measurement/{stem}.tiff"
            _write_measurement(tmp / rel, product, pol)
            payload = (tmp / rel).read_bytes()
            objects.append(
                DataObject(
                    object_id=key,
                    rep_id="s1Level1MeasurementSchema",
                    href=f"./{rel}",
                    mime="application/octet-stream",
                    size=len(payload),
                    md5=hashlib.md5(payload).hexdigest(),
                )
            )
        n = product.geometry.lines
        corners = [(0, 0), (n - 1, 0), (n - 1, n - 1), (0, n - 1)]
        by_node = {(p.pixel, p.line): p for p in product.points}
        footprint = [(by_node[c].latitude, by_node[c].longitude) for c in corners]
        (tmp / "manifest.safe").write_bytes(
            manifest_xml(
                acq,
                first_line=product.first_line,
                last_line=product.last_line,
                ascending_node=anx,
                footprint_latlon=footprint,
                objects=objects,
            )
        )
    return sentinel1_files(raw_dir, acq)
