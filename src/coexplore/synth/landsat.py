"""Landsat 8 OLI/TIRS Collection 2 Level-1 forward model and scene writer.

One scene, from the hidden state to files:

1. Surface reflectance (:func:`~coexplore.synth.surface.reflectance`) with terrain
   illumination ``0.5 + 0.5 cos(i) / cos(z)`` (half diffuse), surface
   temperature and the water fraction, on the 10 m extended grid.
2. Geometry: the scene's nominal 30 m grid covers the area plus ``margin_m``
   with its origin on the 15 m offset of the USGS grids (never aligned with
   the 10 m grid). Each scene is rendered with a slightly wrong geometry
   (shift up to ``distortion_px``, rotation up to 0.05 deg, scale 1 +- 5e-4,
   about the image centre): ``true = nominal @ D``. The 10 m fields are
   area-averaged onto the true (distorted) pixel footprints
   (``rasterio.warp.reproject``, ``Resampling.average``) and the GeoTIFFs
   carry the nominal transform. TIRS is blurred to its ~100 m resolution.
3. Clouds from a thresholded random field (cloud fraction per scene: most
   scenes clear or partly cloudy, some heavily cloudy, some overcast, likelier
   on cloudy days), bright and cold, soft-edged; their shadows displaced by
   ``H / tan(elevation)`` away from the sun (cloud height ``H`` 1-4 km) and
   darkened to the diffuse light; occasional thin cirrus.
4. Atmosphere: ``coexplore.preprocess.atmosphere.at_sensor_radiance`` with a
   per-scene ``tau550`` (lognormal, 0.05..0.5), the sun at 10:30 local solar
   time at the scene centre, nadir view; then
   ``DN = round((L - RADIANCE_ADD) / RADIANCE_MULT)`` (+ sensor noise) clipped
   to 1..65535. B10: brightness temperature (surface minus an atmospheric
   deficit) through the inverse Planck law with K1/K2.
5. QA_PIXEL in the Collection 2 bit layout (see :func:`qa_pixel`).
6. Ground control points ``id,col,row,x,y``: (col, row) measured in the
   delivered image (pixel units, (0, 0) the upper-left corner of the
   upper-left pixel) with ``gcp_noise_px`` Gaussian noise, (x, y) the true
   map coordinates: ``true_transform @ (col, row) == (x, y)`` up to the noise.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.warp import Resampling, reproject
from scipy import ndimage

from .. import layout
from ..io.atomic import atomic_path
from ..io.rasters import write_geotiff
from ..preprocess.atmosphere import at_sensor_radiance
from ..sensors import Landsat8
from .clouds import cast_shadow, cloud_fraction, qa_pixel, shadow_length_px
from .fields import gaussian_field
from .mtl import K1_BAND_10, K2_BAND_10, MtlFields, Rescaling, mtl_text
from .plan import LandsatAcquisition
from .solar import earth_sun_distance, sun_position, utc_at_local_solar_time
from .state import LandState
from .streams import rng_for
from .surface import LOCAL_OVERPASS_HOURS, reflectance, surface_snapshot, surface_temperature

PIXEL = 30.0
CLOUD_SPECTRUM = np.array([0.62, 0.63, 0.64, 0.65, 0.64, 0.55, 0.40])
DILATION_PX = 3


@dataclass(frozen=True, eq=False)
class RenderedScene:
    """A rendered Landsat 8 scene with everything needed to write and to check it.

    Attributes
    ----------
    acquisition
        Plan entry (scene id, dates).
    crs
        CRS of the scene (the area CRS).
    nominal_transform
        Transform written to the GeoTIFFs.
    true_transform
        Transform the pixels were rendered with.
    dn
        uint16 digital numbers by band name (``sensors.Landsat8.bands``).
    qa
        uint16 QA_PIXEL.
    cloud, shadow
        Cloud opacity and shadow strength 0..1 per pixel.
    cloud_mask, dilated, shadow_mask, cirrus_mask, water_mask
        The masks encoded in :attr:`qa`.
    gcps
        (n, 4) float array of measured col, row and true x, y.
    tau550, sun_elevation, sun_azimuth, earth_sun_distance
        Atmosphere and sun geometry used.
    centre_time
        UTC scene-centre time.
    rescaling
        Radiometric coefficients (as written to the MTL).
    """

    acquisition: LandsatAcquisition
    crs: str
    nominal_transform: Affine
    true_transform: Affine
    dn: dict[str, np.ndarray]
    qa: np.ndarray
    cloud: np.ndarray
    shadow: np.ndarray
    cloud_mask: np.ndarray
    dilated: np.ndarray
    shadow_mask: np.ndarray
    cirrus_mask: np.ndarray
    water_mask: np.ndarray
    gcps: np.ndarray
    tau550: float
    sun_elevation: float
    sun_azimuth: float
    earth_sun_distance: float
    centre_time: dt.datetime
    rescaling: Rescaling

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.qa.shape

    @property
    def cloud_cover(self) -> float:
        """Percentage of cloud pixels (QA bit 3)."""
        return float(100.0 * self.cloud_mask.mean())


def scene_grid(state: LandState) -> tuple[Affine, int, int]:
    """The nominal 30 m grid of the scenes.

    Parameters
    ----------
    state
        The hidden state (area bounds and ``margin_m``).

    Returns
    -------
    (affine.Affine, int, int)
        Transform, width and height of a grid covering the study area plus
        ``margin_m``, its corners on odd multiples of 15 m (never aligned
        with the 10 m grid).
    """
    left, bottom, right, top = state.grid.bounds
    m = state.settings.landsat8.margin_m
    x0 = math.floor((left - m) / PIXEL) * PIXEL - PIXEL / 2
    y1 = math.ceil((top + m) / PIXEL) * PIXEL + PIXEL / 2
    width = math.ceil((right + m - x0) / PIXEL)
    height = math.ceil((y1 - (bottom - m)) / PIXEL)
    return Affine(PIXEL, 0.0, x0, 0.0, -PIXEL, y1), width, height


def distortion(rng: np.random.Generator, width: int, height: int, *, max_shift_px: float) -> Affine:
    """A random pixel-space distortion ``D`` of one scene.

    Parameters
    ----------
    rng
        Random source.
    width, height
        Image size; rotation and scale act about its centre.
    max_shift_px
        Largest shift per axis (pixels).

    Returns
    -------
    affine.Affine
        Shift (uniform in +-``max_shift_px``), rotation (+-0.05 deg) and
        scale (1 +- 5e-4); ``nominal @ D`` is the true transform.
    """
    cx, cy = width / 2.0, height / 2.0
    shift = rng.uniform(-max_shift_px, max_shift_px, 2) if max_shift_px > 0 else np.zeros(2)
    angle = float(rng.uniform(-0.05, 0.05))
    scale = 1.0 + float(rng.uniform(-5e-4, 5e-4))
    return (
        Affine.translation(cx, cy)
        @ Affine.rotation(angle)
        @ Affine.scale(scale)
        @ Affine.translation(-cx, -cy)
        @ Affine.translation(float(shift[0]), float(shift[1]))
    )


def render_footprints(
    data: np.ndarray,
    src_transform: Affine,
    crs: str,
    dst_transform: Affine,
    shape: tuple[int, int],
) -> np.ndarray:
    """Area-average (band, y, x) rasters onto the pixel footprints of ``dst_transform``.

    Parameters
    ----------
    data
        (band, rows, cols) source rasters.
    src_transform
        Transform of ``data``.
    crs
        CRS of both grids.
    dst_transform
        Destination transform (may be rotated).
    shape
        (rows, cols) of the destination.

    Returns
    -------
    numpy.ndarray
        float32 (band, rows, cols): GDAL's average resampling weights the
        source pixels by their overlap with each destination footprint.
    """
    out = np.zeros((data.shape[0], *shape), dtype=np.float32)
    reproject(
        np.ascontiguousarray(data, dtype=np.float32),
        out,
        src_transform=src_transform,
        src_crs=crs,
        dst_transform=dst_transform,
        dst_crs=crs,
        resampling=Resampling.average,
    )
    return out


def thermal_radiance(t_kelvin: np.ndarray | float) -> np.ndarray:
    """TIRS band 10 radiance of a brightness temperature: ``K1 / (exp(K2 / T) - 1)``.

    Parameters
    ----------
    t_kelvin
        Brightness temperature (K).

    Returns
    -------
    numpy.ndarray
        Radiance (W m-2 sr-1 um-1).

    Examples
    --------
    >>> round(float(thermal_radiance(300.0)), 4)
    9.5968
    """
    return K1_BAND_10 / np.expm1(K2_BAND_10 / np.asarray(t_kelvin, dtype=float))


def to_dn(radiance: np.ndarray, rescaling: Rescaling, band: int) -> np.ndarray:
    """Quantise radiance: ``DN = round((L - RADIANCE_ADD) / RADIANCE_MULT)``.

    Parameters
    ----------
    radiance
        At-sensor radiance (W m-2 sr-1 um-1).
    rescaling
        The scene's coefficients.
    band
        Band number (1..11).

    Returns
    -------
    numpy.ndarray
        uint16 DN clipped to 1..65535 (0 is reserved for fill).
    """
    counts = (np.asarray(radiance, dtype=float) - rescaling.radiance_add[band]) / (
        rescaling.radiance_mult[band]
    )
    return np.clip(np.round(counts), 1, 65535).astype(np.uint16)


def _gcps(
    rng: np.random.Generator, true: Affine, width: int, height: int, n: int, noise_px: float
) -> np.ndarray:
    # one point in each of n cells of a kx x ky layout (a few cells left empty)
    kx = math.ceil(math.sqrt(n))
    ky = math.ceil(n / kx)
    cells = np.sort(rng.permutation(kx * ky)[:n])
    u = (cells % kx + rng.uniform(0.1, 0.9, n)) / kx
    v = (cells // kx + rng.uniform(0.1, 0.9, n)) / ky
    col = width * (0.03 + 0.94 * u)
    row = height * (0.03 + 0.94 * v)
    x, y = true @ (col, row)
    measured_col = col + rng.normal(0.0, noise_px, n) if noise_px > 0 else col
    measured_row = row + rng.normal(0.0, noise_px, n) if noise_px > 0 else row
    return np.column_stack([measured_col, measured_row, x, y])


def render_landsat_scene(state: LandState, acquisition: LandsatAcquisition) -> RenderedScene:
    """Render one Landsat 8 L1 scene of the hidden state.

    Parameters
    ----------
    state
        The hidden state.
    acquisition
        The planned scene.

    Returns
    -------
    RenderedScene
        Deterministic in the state seed and the acquisition date.
    """
    settings = state.settings
    ls = settings.landsat8
    date = acquisition.date
    rng = rng_for(state.seed, "landsat8", "scene", date.toordinal())
    nominal, width, height = scene_grid(state)
    true = nominal @ distortion(rng, width, height, max_shift_px=ls.distortion_px)
    shape = (height, width)

    lon, lat = settings.centre_lonlat
    centre_time = utc_at_local_solar_time(date, lon, LOCAL_OVERPASS_HOURS)
    sun_el, sun_az = sun_position(lat, lon, centre_time)
    mu_s = math.sin(math.radians(sun_el))
    dist = float(earth_sun_distance(date.timetuple().tm_yday))
    tau = float(np.clip(np.exp(rng.normal(np.log(0.15), 0.5)), 0.05, 0.5))
    rescale = Rescaling.for_distance(dist)

    # surface on the 10 m grid, with terrain illumination
    snap = surface_snapshot(state, date)
    rho = reflectance(state, snap)
    zen = math.radians(90.0 - sun_el)
    cos_i = np.cos(zen) * np.cos(state.slope) + np.sin(zen) * np.sin(state.slope) * np.cos(
        math.radians(sun_az) - state.aspect
    )
    rho *= np.clip(0.5 + 0.5 * cos_i / max(math.cos(zen), 0.1), 0.3, 1.6).astype(np.float32)
    stack = np.concatenate(
        [rho, surface_temperature(state, snap)[None], (snap.cls == 2).astype(np.float32)[None]]
    )
    scene = render_footprints(stack, state.ext.transform, state.grid.crs, true, shape)
    rho30, t30, water30 = scene[:7], scene[7], scene[8]
    t30 = ndimage.gaussian_filter(t30, 1.2, mode="nearest")

    # clouds, shadows, cirrus
    day = state.climate.index(date)
    fraction = cloud_fraction(rng, ls.cloud_probability, float(state.climate.cloudiness[day]))
    height_m = float(rng.uniform(600.0, 2500.0))
    length_px = shadow_length_px(height_m, sun_el)
    # clouds live on a canvas larger than the scene, so shadows of clouds
    # outside the scene fall into it
    pad = int(math.ceil(length_px)) + 2
    canvas = (height + 2 * pad, width + 2 * pad)
    field = gaussian_field(rng, canvas, float(rng.uniform(4.0, 12.0)))
    field = field + 0.35 * gaussian_field(rng, canvas, 1.5)
    if fraction >= 1.0:
        alpha_canvas = np.ones(canvas, dtype=np.float32)
    elif fraction <= 0.0:
        alpha_canvas = np.zeros(canvas, dtype=np.float32)
    else:
        threshold = np.quantile(field[pad:-pad, pad:-pad], 1.0 - fraction)
        alpha_canvas = np.clip((field - threshold) / 0.3 + 0.5, 0.0, 1.0).astype(np.float32)
    shadow_canvas = cast_shadow(alpha_canvas, length_px=length_px, sun_azimuth=sun_az)
    alpha = alpha_canvas[pad:-pad, pad:-pad]
    shadow = shadow_canvas[pad:-pad, pad:-pad]
    # optical thickness varies inside the clouds
    cloud_texture = 0.85 + 0.15 * np.tanh(field[pad:-pad, pad:-pad] - field.mean())
    if rng.random() < 0.12:
        ci_field = gaussian_field(rng, shape, float(rng.uniform(6.0, 15.0)))
        cirrus = np.clip(0.06 * (ci_field - 0.3), 0.0, 0.06).astype(np.float32)
    else:
        cirrus = np.zeros(shape, dtype=np.float32)
    cloud_scale = float(rng.uniform(0.85, 1.15))

    dn: dict[str, np.ndarray] = {}
    ground = rho30 * (1.0 - 0.8 * shadow)[None]
    for i, band in enumerate(Landsat8.reflective):
        n = Landsat8.bands[band]
        wl, esun = Landsat8.wavelength_um[band], Landsat8.esun[band]
        l_surf = at_sensor_radiance(ground[i], wl, esun, tau, mu_s, dist)
        l_cloud = at_sensor_radiance(
            CLOUD_SPECTRUM[i] * cloud_scale * cloud_texture, wl, esun, 0.2 * tau, mu_s, dist
        )
        l_cirrus = cirrus * esun * mu_s / (np.pi * dist**2)
        radiance = (1.0 - alpha) * l_surf + alpha * l_cloud + l_cirrus
        counts = (radiance - rescale.radiance_add[n]) / rescale.radiance_mult[n]
        noise = rng.normal(0.0, 1.0, shape) * (2.0 + 0.002 * np.abs(counts))
        dn[band] = to_dn(radiance + noise * rescale.radiance_mult[n], rescale, n)

    humidity = float(state.climate.humidity[day])
    deficit = float(np.clip(1.0 + 3.0 * tau + 0.03 * (humidity - 50.0), 0.3, 4.0))
    t_ground = t30 - 3.0 * shadow - deficit
    t_cloud = snap.air_temperature + 273.15 - 6.5e-3 * height_m
    l_tir = (1.0 - alpha) * thermal_radiance(t_ground) + alpha * thermal_radiance(
        np.float64(max(t_cloud, 200.0))
    )
    noise = rng.normal(0.0, 4.0, shape) * rescale.radiance_mult[10]
    dn["tir"] = to_dn(l_tir + noise, rescale, 10)

    cloud_mask = alpha >= 0.5
    soft = (alpha > 0.02) & ~cloud_mask
    dilated = (ndimage.binary_dilation(cloud_mask, iterations=DILATION_PX) | soft) & ~cloud_mask
    shadow_mask = (shadow >= 0.3) & ~cloud_mask
    cirrus_mask = cirrus > 0.02
    water_mask = water30 >= 0.5
    qa = qa_pixel(cloud_mask, soft, dilated, shadow_mask, cirrus_mask, water_mask)

    gcp_rng = rng_for(state.seed, "landsat8", "gcps", date.toordinal())
    gcps = _gcps(gcp_rng, true, width, height, ls.n_gcps, ls.gcp_noise_px)
    return RenderedScene(
        acquisition=acquisition,
        crs=state.grid.crs,
        nominal_transform=nominal,
        true_transform=true,
        dn=dn,
        qa=qa,
        cloud=alpha,
        shadow=shadow,
        cloud_mask=cloud_mask,
        dilated=dilated,
        shadow_mask=shadow_mask,
        cirrus_mask=cirrus_mask,
        water_mask=water_mask & ~cloud_mask & ~dilated,
        gcps=gcps,
        tau550=tau,
        sun_elevation=sun_el,
        sun_azimuth=sun_az,
        earth_sun_distance=dist,
        centre_time=centre_time,
        rescaling=rescale,
    )


def _mtl_fields(state: LandState, scene: RenderedScene) -> MtlFields:
    ls = state.settings.landsat8
    height, width = scene.shape
    t = scene.nominal_transform
    # MTL corners are pixel centres of the corner pixels
    centres = {
        "UL": t @ (0.5, 0.5),
        "UR": t @ (width - 0.5, 0.5),
        "LL": t @ (0.5, height - 0.5),
        "LR": t @ (width - 0.5, height - 0.5),
    }
    to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    latlon = {}
    for k, (x, y) in centres.items():
        lon, lat = to_ll.transform(x, y)
        latlon[k] = (float(lat), float(lon))
    return MtlFields(
        scene_id=scene.acquisition.scene_id,
        acquired=scene.acquisition.date,
        processed=scene.acquisition.processed,
        centre_time=scene.centre_time,
        wrs_path=ls.wrs_path,
        wrs_row=ls.wrs_row,
        cloud_cover=scene.cloud_cover,
        sun_azimuth=scene.sun_azimuth,
        sun_elevation=scene.sun_elevation,
        earth_sun_distance=scene.earth_sun_distance,
        utm_zone=int(state.settings.utm_zone or 0),
        lines=height,
        samples=width,
        corners_xy={k: (float(x), float(y)) for k, (x, y) in centres.items()},
        corners_latlon=latlon,
        rescaling=scene.rescaling,
    )


def gcp_table(scene: RenderedScene) -> str:
    """The ground control point table of a scene.

    Parameters
    ----------
    scene
        The rendered scene.

    Returns
    -------
    str
        CSV text ``id,col,row,x,y`` (col/row to 1e-4 px, x/y to the millimetre).
    """
    rows = ["id,col,row,x,y"]
    for i, (col, row, x, y) in enumerate(scene.gcps, start=1):
        rows.append(f"{i},{col:.4f},{row:.4f},{x:.3f},{y:.3f}")
    return "\n".join(rows) + "\n"


def write_landsat_scene(state: LandState, scene: RenderedScene, raw_dir: Path | str) -> list[Path]:
    """Write one scene folder (bands, QA_PIXEL, MTL, GCP table) atomically.

    The folder is assembled under a temporary name and renamed into place,
    so an interrupted run never leaves a partial scene.

    Parameters
    ----------
    state
        The hidden state (for the WRS path/row and the UTM zone).
    scene
        The rendered scene.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    list of pathlib.Path
        The written files (``layout.landsat_scene_files`` order).
    """
    sid = scene.acquisition.scene_id
    target = layout.landsat_scene_dir(raw_dir, sid)
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        for band, n in Landsat8.bands.items():
            write_geotiff(
                tmp / f"{sid}_B{n}.TIF",
                scene.dn[band],
                transform=scene.nominal_transform,
                crs=scene.crs,
                nodata=0,
            )
        write_geotiff(
            tmp / f"{sid}_QA_PIXEL.TIF", scene.qa, transform=scene.nominal_transform, crs=scene.crs
        )
        (tmp / f"{sid}_MTL.txt").write_text(mtl_text(_mtl_fields(state, scene)), encoding="ascii")
        (tmp / f"{sid}_GCP.csv").write_text(gcp_table(scene), encoding="ascii")
    return layout.landsat_scene_files(raw_dir, sid)
