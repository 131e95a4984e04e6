"""Clouds, cloud shadows and the Collection 2 QA_PIXEL band of the Landsat forward model."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ..sensors import Landsat8

PIXEL = 30.0
QA = Landsat8.qa_bits
#: QA confidence pair offsets (2 bits each: 1 low, 2 medium, 3 high)
CONF_CLOUD, CONF_SHADOW, CONF_SNOW, CONF_CIRRUS = 8, 10, 12, 14


def qa_pixel(
    cloud: np.ndarray,
    soft_cloud: np.ndarray,
    dilated: np.ndarray,
    shadow: np.ndarray,
    cirrus: np.ndarray,
    water: np.ndarray,
) -> np.ndarray:
    """Collection 2 QA_PIXEL from boolean masks.

    Bits: 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 6 clear (neither
    cloud nor dilated cloud, as in C2: shadow and cirrus pixels stay clear),
    7 water; confidence pairs (low 1 / medium 2 / high 3): cloud 8-9 (high on
    clouds, medium on their soft edges), shadow 10-11, snow/ice 12-13 (low),
    cirrus 14-15. A clear land pixel is 21824, clear water 21952, cloud 22280.

    Parameters
    ----------
    cloud, soft_cloud, dilated, shadow, cirrus, water
        Masks of the same shape.

    Returns
    -------
    numpy.ndarray
        uint16 QA values.

    Examples
    --------
    >>> f = np.zeros((1, 1), bool); t = ~f
    >>> int(qa_pixel(f, f, f, f, f, f)[0, 0]), int(qa_pixel(t, t, f, f, f, f)[0, 0])
    (21824, 22280)
    """
    clear = ~cloud & ~dilated
    qa = np.zeros(cloud.shape, dtype=np.uint16)
    qa |= dilated.astype(np.uint16) << QA["dilated_cloud"]
    qa |= cirrus.astype(np.uint16) << QA["cirrus"]
    qa |= cloud.astype(np.uint16) << QA["cloud"]
    qa |= shadow.astype(np.uint16) << QA["cloud_shadow"]
    qa |= clear.astype(np.uint16) << QA["clear"]
    qa |= (water & clear).astype(np.uint16) << QA["water"]
    cloud_conf = np.where(cloud, 3, np.where(soft_cloud, 2, 1)).astype(np.uint16)
    qa |= cloud_conf << CONF_CLOUD
    qa |= np.where(shadow, 3, 1).astype(np.uint16) << CONF_SHADOW
    qa |= np.uint16(1) << CONF_SNOW
    qa |= np.where(cirrus, 3, 1).astype(np.uint16) << CONF_CIRRUS
    return qa


def cloud_fraction(rng: np.random.Generator, probability: float, cloudiness: float) -> float:
    """Cloud fraction of one scene.

    The scene is cloudy with probability ``probability (0.4 + 1.2 cloudiness)``
    (likelier on cloudy days; at most 0.97). A cloudy scene is partly cloudy
    (fraction 0.05-0.5) 60 % of the time, heavily cloudy (0.5-0.95) 30 % and
    overcast (1.0) 10 %; a non-cloudy scene is clear (0) or has a few puffs
    (< 0.03), half and half.

    Parameters
    ----------
    rng
        Random source.
    probability
        ``synth.landsat8.cloud_probability``.
    cloudiness
        The day's regional cloud cover 0..1.

    Returns
    -------
    float
        Fraction of the scene under cloud (0..1).
    """
    p = float(np.clip(probability * (0.4 + 1.2 * cloudiness), 0.0, 0.97))
    if rng.random() >= p:
        return 0.0 if rng.random() < 0.5 else float(rng.uniform(0.0, 0.03))
    kind = rng.choice(3, p=[0.6, 0.3, 0.1])
    if kind == 0:
        return float(rng.uniform(0.05, 0.5))
    if kind == 1:
        return float(rng.uniform(0.5, 0.95))
    return 1.0


def shadow_length_px(cloud_height_m: float, sun_elevation: float) -> float:
    """Horizontal cloud-to-shadow distance ``H / tan(elevation)`` in 30 m pixels.

    Parameters
    ----------
    cloud_height_m
        Cloud height above ground (metres).
    sun_elevation
        Solar elevation (degrees; below 10 deg taken as 10).

    Returns
    -------
    float
        Distance in pixels.
    """
    return cloud_height_m / math.tan(math.radians(max(sun_elevation, 10.0))) / PIXEL


def cast_shadow(alpha: np.ndarray, *, length_px: float, sun_azimuth: float) -> np.ndarray:
    """Shadow strength: the cloud opacity displaced ``length_px`` away from the sun.

    With the sun at azimuth ``az`` (clockwise from north) the shadow lies
    towards ``az + 180``: ``length cos(az)`` rows down (south) and
    ``-length sin(az)`` columns (east).

    Parameters
    ----------
    alpha
        Cloud opacity 0..1 (rows, cols).
    length_px
        Displacement (pixels).
    sun_azimuth
        Solar azimuth (degrees clockwise from north).

    Returns
    -------
    numpy.ndarray
        float32 shadow strength 0..1.

    Examples
    --------
    >>> a = np.zeros((21, 21), np.float32); a[10, 10] = 1
    >>> s = cast_shadow(a, length_px=5, sun_azimuth=180.0)
    >>> np.unravel_index(np.argmax(s), s.shape)
    (np.int64(5), np.int64(10))
    """
    az = math.radians(sun_azimuth)
    shifted = ndimage.shift(
        alpha, (length_px * math.cos(az), -length_px * math.sin(az)), order=1, mode="nearest"
    )
    return np.clip(shifted, 0.0, 1.0).astype(np.float32)
