"""Landsat 8 radiometry: DN to radiance, TOA reflectance, brightness temperature,
QA masks and a dark-object atmospheric correction.

Formulas (USGS Landsat 8 Data Users Handbook, section 5):

* radiance ``L = M_L Q + A_L``;
* TOA reflectance ``rho' = M_rho Q + A_rho``, sun-angle corrected
  ``rho = rho' / sin(sun_elevation)``;
* brightness temperature ``T = K2 / ln(K1 / L + 1)``.

The atmospheric correction inverts the shared model of
:mod:`coexplore.preprocess.atmosphere` with an aerosol optical depth estimated
from dark objects: clear water away from shores (QA water flag) in the red
and NIR, else the darkest pixels of the scene; when neither is dark enough to
be water (clouds hiding every lake) a climatological tau550 is used and
recorded as such.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import DataError
from ..io.landsat import Mtl
from ..sensors import Landsat8
from . import atmosphere

log = logging.getLogger(__name__)

#: bits of the pre-Collection Landsat 8 BQA band (LDCM-CDP-3-2: "Landsat 8
#: Quality Assessment Band", 2013-2016 products, as in the real 2015 crop).
#: Single bits: 0 designated fill, 1 dropped frame, 2 terrain occlusion.
#: Two-bit confidences (0 not determined, 1 low, 2 medium, 3 high): 4-5 water,
#: 8-9 vegetation, 10-11 snow/ice, 12-13 cirrus, 14-15 cloud.
#: The layout has no cloud-shadow and no dilated-cloud flag; those names are
#: ignored for it. A flag counts when its confidence is high (3), the USGS advice.
PRE_COLLECTION_QA: dict[str, tuple[int, int]] = {
    "fill": (0, 1),
    "dropped_frame": (1, 1),
    "terrain_occlusion": (2, 1),
    "water": (4, 2),
    "vegetation": (8, 2),
    "snow": (10, 2),
    "cirrus": (12, 2),
    "cloud": (14, 2),
}

#: bits of the Collection 1 BQA band (single bits 0 fill, 1 terrain occlusion,
#: 4 cloud; two-bit confidences 5-6 cloud, 7-8 cloud shadow, 9-10 snow/ice,
#: 11-12 cirrus). No dilated-cloud flag. High confidence (3) counts.
COLLECTION1_QA: dict[str, tuple[int, int]] = {
    "fill": (0, 1),
    "terrain_occlusion": (1, 1),
    "cloud": (4, 1),
    "cloud_shadow": (7, 2),
    "snow": (9, 2),
    "cirrus": (11, 2),
}

DEFAULT_QA_EXCLUDE: tuple[str, ...] = (
    "fill",
    "dilated_cloud",
    "cirrus",
    "cloud",
    "cloud_shadow",
    "snow",
)

#: bands whose dark-object path radiance gives the aerosol optical depth
DARK_OBJECT_BANDS: tuple[str, ...] = ("red", "nir")

#: search interval of the per-band estimates. It extends below zero on
#: purpose: a band whose dark target is darker than assumed gives a negative
#: (unphysical) estimate, and clipping it to zero before averaging the bands
#: would bias the mean upwards; only the mean is clipped to TAU_BOUNDS.
TAU_SEARCH_BOUNDS: tuple[float, float] = (-1.0, 3.0)
TAU_BOUNDS: tuple[float, float] = (0.0, 3.0)

#: per-band dark-object estimates above this mean the darkest pixels are not
#: clear water (vegetation or soil, e.g. when clouds hide the water): in the
#: NIR a land surface (0.1-0.4) implies tau550 > 2. The price: a truly hazy
#: scene (tau550 above ~0.8) is treated as having no dark object.
MAX_DARK_OBJECT_TAU550: float = 1.0

#: aerosol optical depth used when the scene has no usable dark object: the
#: global mean over land at 550 nm is 0.15-0.2 in AERONET and MODIS
#: climatologies (Remer et al. 2008, J. Geophys. Res. 113, D14S07)
FALLBACK_TAU550: float = 0.15

#: smallest clear-water sample used as dark object (else the darkest pixels
#: of the whole scene are used)
MIN_WATER_PIXELS: int = 9


def dn_to_radiance(
    dn: np.ndarray, mult: float, add: float, *, fill_value: int | None = 0
) -> np.ndarray:
    """At-sensor spectral radiance ``L = mult * DN + add`` (W m-2 sr-1 um-1).

    Parameters
    ----------
    dn
        Quantised calibrated digital numbers.
    mult, add
        ``RADIANCE_MULT_BAND_n`` and ``RADIANCE_ADD_BAND_n`` of the MTL.
    fill_value
        DN marking fill pixels (NaN in the output); None keeps every pixel.

    Returns
    -------
    numpy.ndarray
        float32 radiance.

    Examples
    --------
    >>> float(dn_to_radiance(np.array([10000]), 0.01, -50.0)[0])
    50.0
    """
    q = np.asarray(dn)
    out = (mult * q.astype(np.float64) + add).astype(np.float32)
    if fill_value is not None:
        out[q == fill_value] = np.nan
    return out


def toa_reflectance(
    dn: np.ndarray,
    mult: float,
    add: float,
    sun_elevation_deg: float,
    *,
    fill_value: int | None = 0,
) -> np.ndarray:
    """Top-of-atmosphere reflectance ``(mult * DN + add) / sin(sun_elevation)``.

    Parameters
    ----------
    dn
        Quantised calibrated digital numbers.
    mult, add
        ``REFLECTANCE_MULT_BAND_n`` and ``REFLECTANCE_ADD_BAND_n`` of the MTL.
    sun_elevation_deg
        ``SUN_ELEVATION`` of the MTL (scene centre), degrees.
    fill_value
        DN marking fill pixels (NaN in the output); None keeps every pixel.

    Returns
    -------
    numpy.ndarray
        float32 sun-angle-corrected TOA reflectance.

    Raises
    ------
    DataError
        If the sun is not above the horizon.
    """
    if not 0.0 < sun_elevation_deg <= 90.0:
        raise DataError(
            f"sun elevation {sun_elevation_deg} deg is not in (0, 90]; "
            "night or polar scenes cannot be converted to reflectance"
        )
    q = np.asarray(dn)
    rho = (mult * q.astype(np.float64) + add) / np.sin(np.radians(sun_elevation_deg))
    out = rho.astype(np.float32)
    if fill_value is not None:
        out[q == fill_value] = np.nan
    return out


def brightness_temperature(radiance: np.ndarray, k1: float, k2: float) -> np.ndarray:
    """At-sensor brightness temperature ``K2 / ln(K1 / L + 1)`` in kelvin.

    Parameters
    ----------
    radiance
        Thermal-band radiance (W m-2 sr-1 um-1); non-positive values give NaN.
    k1, k2
        ``K1_CONSTANT_BAND_10`` and ``K2_CONSTANT_BAND_10`` of the MTL.

    Returns
    -------
    numpy.ndarray
        float32 temperature (K).
    """
    lum = np.asarray(radiance, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = k2 / np.log(k1 / lum + 1.0)
    t[~(lum > 0)] = np.nan
    return t.astype(np.float32)


def _field(qa: np.ndarray, start: int, width: int) -> np.ndarray:
    return (qa >> start) & ((1 << width) - 1)


def qa_flag(qa: np.ndarray, name: str, *, layout: str = "collection2") -> np.ndarray:
    """Boolean array of one QA condition.

    Parameters
    ----------
    qa
        Integer QA array (``QA_PIXEL`` or ``BQA``).
    name
        Flag name: ``fill, dilated_cloud, cirrus, cloud, cloud_shadow, snow,
        clear, water`` for Collection 2; see :data:`PRE_COLLECTION_QA` and
        :data:`COLLECTION1_QA` for the older layouts.
    layout
        ``"collection2"``, ``"collection1"`` or ``"pre-collection"``.

    Returns
    -------
    numpy.ndarray
        True where the flag is set (two-bit confidences: high confidence).
        A flag the layout does not have gives all False.

    Raises
    ------
    DataError
        On an unknown layout or flag name.
    """
    q = np.asarray(qa).astype(np.uint32)
    if layout == "collection2":
        if name not in Landsat8.qa_bits:
            raise DataError(
                f"unknown QA flag {name!r}; Collection 2 QA_PIXEL has {list(Landsat8.qa_bits)}"
            )
        return _field(q, Landsat8.qa_bits[name], 1).astype(bool)
    tables = {"pre-collection": PRE_COLLECTION_QA, "collection1": COLLECTION1_QA}
    if layout not in tables:
        raise DataError(
            f"unknown QA layout {layout!r}; use 'collection2', 'collection1' or 'pre-collection'"
        )
    known = set(tables["pre-collection"]) | set(tables["collection1"]) | set(Landsat8.qa_bits)
    if name not in known:
        raise DataError(f"unknown QA flag {name!r}; known flags: {sorted(known)}")
    if name not in tables[layout]:
        return np.zeros(q.shape, dtype=bool)
    start, width = tables[layout][name]
    value = _field(q, start, width)
    return value == (1 << width) - 1


def qa_clear_mask(
    qa: np.ndarray,
    *,
    exclude: Sequence[str] = DEFAULT_QA_EXCLUDE,
    layout: str = "collection2",
) -> np.ndarray:
    """Pixels where none of the ``exclude`` QA conditions hold.

    Parameters
    ----------
    qa
        Integer QA array.
    exclude
        Flag names that make a pixel unusable (see :func:`qa_flag`).
    layout
        QA bit layout of ``qa``.

    Returns
    -------
    numpy.ndarray
        Boolean clear mask.

    Raises
    ------
    DataError
        On an unknown layout or flag name.

    Examples
    --------
    >>> qa_clear_mask(np.array([0b1000000, 0b1000, 1]), exclude=("fill", "cloud")).tolist()
    [True, False, False]
    """
    bad = np.zeros(np.shape(qa), dtype=bool)
    for name in exclude:
        bad |= qa_flag(qa, name, layout=layout)
    return ~bad


def _dark_reflectance(value: float | Mapping[str, float], band: str) -> float:
    if isinstance(value, Mapping):
        if band not in value:
            raise DataError(f"dark_reflectance has no value for band {band!r}")
        return float(value[band])
    return float(value)


def dark_object_pixels(
    valid_mask: np.ndarray,
    *,
    water_mask: np.ndarray | None = None,
    min_pixels: int = MIN_WATER_PIXELS,
) -> tuple[np.ndarray, str]:
    """Pixels to take the dark-object radiance from.

    Clear water away from shores and cloud edges (the valid water mask eroded
    by one pixel, which drops mixed shore pixels: a 30 m shore pixel with a
    quarter of land is as bright in the NIR as hazy air) when it has at least
    ``min_pixels`` pixels, else all valid pixels.

    Parameters
    ----------
    valid_mask
        Clear, non-fill pixels.
    water_mask
        Water pixels (e.g. the QA water flag), or None.
    min_pixels
        Smallest usable water sample.

    Returns
    -------
    mask : numpy.ndarray
        Boolean candidate pixels.
    source : str
        ``"water"`` or ``"scene"``.
    """
    valid = np.asarray(valid_mask, dtype=bool)
    if water_mask is not None:
        water = valid & np.asarray(water_mask, dtype=bool)
        core = ndimage.binary_erosion(water, iterations=1, border_value=0)
        if core.sum() >= min_pixels:
            return core, "water"
    return valid, "scene"


def dark_object_tau550(
    radiance_by_band: Mapping[str, np.ndarray],
    valid_mask: np.ndarray,
    mtl: Mtl,
    *,
    dark_reflectance: float | Mapping[str, float] = 0.01,
    percentile: float = 1.0,
    bands: Sequence[str] = DARK_OBJECT_BANDS,
    water_mask: np.ndarray | None = None,
    water_percentile: float = 25.0,
    min_water_pixels: int = MIN_WATER_PIXELS,
    max_iter: int = 10,
) -> dict[str, dict[str, Any]]:
    """Per-band dark-object radiance and the aerosol optical depth it implies.

    The dark-object radiance ``L_dark`` of a band is the ``water_percentile``-th
    percentile of clear water pixels (see :func:`dark_object_pixels`), or,
    without enough water, the ``percentile``-th percentile of all valid
    pixels. A surface of reflectance ``rho_dark`` under an atmosphere of
    optical depth ``tau`` would give
    ``L_dark = L_path(tau) + E mu_s T(tau) rho_dark / (pi d^2)``; the path part
    ``L_dark - E mu_s T rho_dark / (pi d^2)`` is inverted with
    :func:`atmosphere.invert_tau550`, and since ``T`` depends on ``tau`` the
    two steps are iterated to a fixed point (converges in 2-4 steps because
    ``T`` varies slowly with ``tau``).

    Returns
    -------
    dict
        ``{band: {"l_dark", "l_path", "tau550", "source", "n_pixels"}}``; the
        per-band tau550 may be negative (see :data:`TAU_SEARCH_BOUNDS`).

    Raises
    ------
    DataError
        If a band is missing, has no ESUN, or has no valid pixel.
    """
    candidates, source = dark_object_pixels(
        valid_mask, water_mask=water_mask, min_pixels=min_water_pixels
    )
    q = water_percentile if source == "water" else percentile
    mu_s, d = mtl.mu_s, mtl.earth_sun_distance
    out: dict[str, dict[str, Any]] = {}
    for band in bands:
        if band not in radiance_by_band:
            raise DataError(f"dark-object band {band!r} not among {list(radiance_by_band)}")
        if band not in Landsat8.esun:
            raise DataError(f"band {band!r} has no ESUN; use reflective bands")
        lum = np.asarray(radiance_by_band[band])
        sample = lum[candidates & np.isfinite(lum)]
        if sample.size == 0:
            raise DataError(f"band {band!r} has no valid pixel for the dark-object estimate")
        l_dark = float(np.percentile(sample, q))
        lam, esun = Landsat8.wavelength_um[band], Landsat8.esun[band]
        rho = _dark_reflectance(dark_reflectance, band)
        tau = 0.0
        for _ in range(max_iter):
            t = float(atmosphere.total_transmittance(lam, tau, mu_s))
            l_path = l_dark - esun * mu_s * t * rho / (np.pi * d**2)
            new = atmosphere.invert_tau550(l_path, lam, esun, mu_s, d, bounds=TAU_SEARCH_BOUNDS)
            converged = abs(new - tau) < 1e-5
            tau = new
            if converged:
                break
        out[band] = {
            "l_dark": l_dark,
            "l_path": float(l_path),
            "tau550": float(tau),
            "source": source,
            "n_pixels": int(sample.size),
        }
    return out


def _combine(
    per_band: Mapping[str, Mapping[str, Any]], *, max_tau550: float, fallback_tau550: float
) -> tuple[float, str]:
    """Mean of the per-band estimates, or the fallback when the dark object is not dark."""
    taus = {b: float(v["tau550"]) for b, v in per_band.items()}
    if max(taus.values()) > max_tau550:
        log.warning(
            "dark-object estimates %s exceed %.2f: the darkest pixels are not clear water; "
            "using tau550 = %.2f",
            {b: round(t, 3) for b, t in taus.items()},
            max_tau550,
            fallback_tau550,
        )
        return float(fallback_tau550), "fallback"
    mean = float(np.mean(list(taus.values())))
    return float(np.clip(mean, *TAU_BOUNDS)), str(next(iter(per_band.values()))["source"])


def estimate_tau550(
    radiance_by_band: Mapping[str, np.ndarray],
    valid_mask: np.ndarray,
    mtl: Mtl,
    *,
    dark_reflectance: float | Mapping[str, float] = 0.01,
    percentile: float = 1.0,
    bands: Sequence[str] = DARK_OBJECT_BANDS,
    water_mask: np.ndarray | None = None,
    water_percentile: float = 25.0,
    max_tau550: float = MAX_DARK_OBJECT_TAU550,
    fallback_tau550: float = FALLBACK_TAU550,
) -> float:
    """Aerosol optical depth at 550 nm from dark objects (clear water).

    Dark objects: clear water pixels away from shores when a water mask (the
    QA water flag) provides at least :data:`MIN_WATER_PIXELS` of them, their
    ``water_percentile``-th percentile (the lower quartile: clear water,
    robust against a few turbid or mixed pixels);
    otherwise the ``percentile``-th percentile of all valid pixels (the
    classic dark-object subtraction, which needs dark water or shade to
    cover more than ``percentile`` % of the scene).

    Band choice: red and NIR. Clear deep water is the darkest and best-known
    surface there (red ~0.01-0.02, NIR ~0.005-0.01), so an assumed
    ``dark_reflectance`` of 0.01 lies inside both ranges and its errors have
    opposite signs in the two bands (too dark in red -> tau too high, too
    bright in NIR -> tau too low); the mean of the two estimates cancels much
    of that uncertainty. Blue and coastal are avoided because water-leaving
    reflectance there is high and variable (0.02-0.06); SWIR because the
    aerosol signal (``tau_a ~ lambda^-1.3``) is too weak to constrain tau.

    Parameters
    ----------
    radiance_by_band
        At-sensor radiance per band name.
    valid_mask
        Clear, non-fill pixels (cloud shadows must be excluded: they are dark too).
    mtl
        Scene metadata (sun elevation, Earth-Sun distance).
    dark_reflectance
        Assumed surface reflectance of the dark objects, one value or per band.
    percentile
        Percentile of the valid radiances taken as the dark-object radiance
        without a usable water mask (robust against single noisy pixels).
    bands
        Bands to estimate from; the result is the mean of their estimates.
    water_mask
        Water pixels, or None.
    water_percentile
        Percentile of the clear water radiances taken as the dark-object radiance.
    max_tau550
        A band estimate above this means there is no dark water in the scene
        (see :data:`MAX_DARK_OBJECT_TAU550`); ``fallback_tau550`` is returned.
    fallback_tau550
        Aerosol optical depth used without a usable dark object.

    Returns
    -------
    float
        tau550: the mean of the per-band estimates clipped to :data:`TAU_BOUNDS`,
        or ``fallback_tau550``.

    Raises
    ------
    DataError
        If a band is missing or has no valid pixel.
    """
    per_band = dark_object_tau550(
        radiance_by_band,
        valid_mask,
        mtl,
        dark_reflectance=dark_reflectance,
        percentile=percentile,
        bands=bands,
        water_mask=water_mask,
        water_percentile=water_percentile,
    )
    return _combine(per_band, max_tau550=max_tau550, fallback_tau550=fallback_tau550)[0]


def atmospheric_correction(
    radiance_by_band: Mapping[str, np.ndarray],
    mtl: Mtl,
    valid_mask: np.ndarray,
    *,
    dark_reflectance: float | Mapping[str, float] = 0.01,
    percentile: float = 1.0,
    dark_bands: Sequence[str] = DARK_OBJECT_BANDS,
    water_mask: np.ndarray | None = None,
    water_percentile: float = 25.0,
    max_tau550: float = MAX_DARK_OBJECT_TAU550,
    fallback_tau550: float = FALLBACK_TAU550,
    tau550: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Surface reflectance of the reflective bands by inverting the shared atmosphere model.

    ``rho = pi d^2 (L - L_path) / (E_sun mu_s T_s T_v)`` with the path
    radiance and transmittances of :mod:`atmosphere` at the estimated tau550,
    ``mu_s = sin(SUN_ELEVATION)``, ``d = EARTH_SUN_DISTANCE`` and a nadir view.

    Parameters
    ----------
    radiance_by_band
        At-sensor radiance of reflective bands (names of ``Landsat8.reflective``).
    mtl
        Scene metadata.
    valid_mask
        Clear, non-fill pixels; reflectance is NaN elsewhere.
    dark_reflectance, percentile, dark_bands, water_mask, water_percentile, max_tau550, fallback_tau550
        Options of :func:`estimate_tau550` (``dark_bands`` is its ``bands``).
    tau550
        Use this aerosol optical depth instead of estimating it.

    Returns
    -------
    reflectance_by_band : dict
        float32 surface reflectance per band.
    info : dict
        ``tau550``, ``tau550_by_band``, ``dark_object_source`` (``"water"``,
        ``"scene"``, ``"fallback"``, or ``"given"``), ``dark_object_pixels``
        and ``l_dark`` (dark-object estimates),
        ``l_path`` and ``transmittance`` (``T_s T_v``) per band, ``mu_s``.

    Raises
    ------
    DataError
        If a band has no ESUN (thermal) or a dark-object band is missing.
    """
    for band in radiance_by_band:
        if band not in Landsat8.esun:
            raise DataError(
                f"band {band!r} has no solar irradiance; atmospheric correction takes "
                f"reflective bands only ({list(Landsat8.reflective)})"
            )
    valid = np.asarray(valid_mask, dtype=bool)
    info: dict[str, Any] = {"mu_s": mtl.mu_s}
    if tau550 is None:
        per_band = dark_object_tau550(
            radiance_by_band,
            valid,
            mtl,
            dark_reflectance=dark_reflectance,
            percentile=percentile,
            bands=dark_bands,
            water_mask=water_mask,
            water_percentile=water_percentile,
        )
        tau550, source = _combine(per_band, max_tau550=max_tau550, fallback_tau550=fallback_tau550)
        info["dark_object_source"] = source
        info["dark_object_pixels"] = next(iter(per_band.values()))["n_pixels"]
        info["tau550_by_band"] = {b: v["tau550"] for b, v in per_band.items()}
        info["l_dark"] = {b: v["l_dark"] for b, v in per_band.items()}
    else:
        info["dark_object_source"] = "given"
    info["tau550"] = float(tau550)
    mu_s, d = mtl.mu_s, mtl.earth_sun_distance
    reflectance: dict[str, np.ndarray] = {}
    info["l_path"], info["transmittance"] = {}, {}
    for band, lum in radiance_by_band.items():
        lam, esun = Landsat8.wavelength_um[band], Landsat8.esun[band]
        tau = atmosphere.rayleigh_optical_depth(lam) + atmosphere.aerosol_optical_depth(lam, tau550)
        t_s = float(atmosphere.transmittance(tau, mu_s))
        t_v = float(atmosphere.transmittance(tau, 1.0))
        l_path = float(atmosphere.path_radiance(lam, esun, tau550, mu_s, d))
        rho = atmosphere.surface_reflectance(
            np.asarray(lum, dtype=np.float64), l_path, t_s, t_v, esun, mu_s, d
        ).astype(np.float32)
        rho[~valid] = np.nan
        reflectance[band] = rho
        info["l_path"][band] = l_path
        info["transmittance"][band] = t_s * t_v
    return reflectance, info
