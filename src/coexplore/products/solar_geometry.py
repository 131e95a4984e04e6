"""Sun geometry and the Liu-Jordan / Klein transposition of irradiance to a tilted surface.

See :mod:`coexplore.products.renewables` for how the factors enter the solar
map. References: Cooper (1969) declination; Klein (1977) mean days of the
months and monthly Rb; Liu and Jordan (1962) isotropic sky; Erbs, Klein and
Duffie (1982) diffuse fraction; Duffie and Beckman (2013), Solar Engineering
of Thermal Processes, ch. 1-2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from ..errors import DataError

SOLAR_CONSTANT = 1361.0
"""Total solar irradiance, W/m2 (Kopp and Lean 2011)."""

KLEIN_MEAN_DAYS: tuple[int, ...] = (17, 47, 75, 105, 135, 162, 198, 228, 258, 288, 318, 344)
"""Day of year whose extraterrestrial irradiation equals the month's mean (Klein 1977)."""

DAYS_IN_MONTH: tuple[int, ...] = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def declination_deg(day_of_year: np.ndarray | int) -> np.ndarray:
    """Solar declination (Cooper 1969): 23.45 sin(360 (284 + n) / 365) degrees."""
    n = np.asarray(day_of_year, dtype=np.float64)
    return 23.45 * np.sin(np.radians(360.0 * (284.0 + n) / 365.0))


def _sun_vectors(latitude_deg: float, day: int, steps_per_day: int) -> np.ndarray:
    """Unit vectors (east, north, up) towards the sun over one day (steps, 3)."""
    phi = np.radians(latitude_deg)
    delta = np.radians(declination_deg(day))
    omega = np.radians(-180.0 + (np.arange(steps_per_day) + 0.5) * 360.0 / steps_per_day)
    east = -np.cos(delta) * np.sin(omega)
    north = np.cos(phi) * np.sin(delta) - np.sin(phi) * np.cos(delta) * np.cos(omega)
    up = np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.cos(omega)
    return np.stack([east, north, up], axis=1)


def _surface_normals(slope_deg: np.ndarray, aspect_deg: np.ndarray) -> np.ndarray:
    b, a = np.radians(slope_deg), np.radians(aspect_deg)
    return np.stack([np.sin(b) * np.sin(a), np.sin(b) * np.cos(a), np.cos(b)], axis=-1)


def beam_ratio(
    slope_deg: np.ndarray | float,
    aspect_deg: np.ndarray | float,
    *,
    latitude_deg: float,
    days: Sequence[int] = KLEIN_MEAN_DAYS,
    day_weights: Sequence[float] | None = None,
    steps_per_day: int = 96,
) -> np.ndarray:
    """Ratio of extraterrestrial beam irradiation on a tilted and on a horizontal surface.

    For each day the beam on the surface, ``max(n . s, 0)`` while the sun is
    above the horizon, and on the horizontal, ``max(s_up, 0)``, are summed
    over the day; the ratio is taken of the (weighted) sums over ``days``.

    Parameters
    ----------
    slope_deg, aspect_deg
        Surface slope and aspect (degrees clockwise from north), broadcastable.
    latitude_deg
        Latitude (positive north).
    days
        Days of year to integrate over.
    day_weights
        Weight of each day (e.g. days per month); equal if ``None``.
    steps_per_day
        Hour-angle steps per day.

    Returns
    -------
    numpy.ndarray
        Beam ratio Rb (1 for a horizontal surface).

    Raises
    ------
    DataError
        If the sun never rises on the given days (polar night).

    Examples
    --------
    At an equinox a surface facing the equator at a slope equal to the
    latitude sees the sun as at the equator: Rb = 1 / cos(latitude).

    >>> rb = float(beam_ratio(40.0, 180.0, latitude_deg=40.0, days=[81]))
    >>> round(rb * float(np.cos(np.radians(40.0))), 9)
    1.0
    """
    normals = _surface_normals(
        *np.broadcast_arrays(np.asarray(slope_deg, float), np.asarray(aspect_deg, float))
    )
    w = np.ones(len(days)) if day_weights is None else np.asarray(day_weights, dtype=np.float64)
    tilted = np.zeros(normals.shape[:-1])
    horizontal = 0.0
    for day, weight in zip(days, w, strict=True):
        sun = _sun_vectors(latitude_deg, int(day), steps_per_day)
        sun = sun[sun[:, 2] > 0]
        if sun.size == 0:
            continue
        horizontal += weight * float(sun[:, 2].sum())
        tilted += weight * np.clip(normals @ sun.T, 0.0, None).sum(axis=-1)
    if horizontal == 0.0:
        raise DataError(
            f"the sun stays below the horizon at latitude {latitude_deg} on days {list(days)}"
        )
    return tilted / horizontal


def extraterrestrial_horizontal(
    latitude_deg: float, day_of_year: int, *, steps_per_day: int = 96
) -> float:
    """Daily mean extraterrestrial irradiance on a horizontal surface (W/m2).

    ``G_sc (1 + 0.033 cos(360 n / 365)) mean(max(cos theta_z, 0))`` over the day
    (Duffie and Beckman 2013, eq. 1.4.1b and 1.10.1).
    """
    sun = _sun_vectors(latitude_deg, day_of_year, steps_per_day)
    ecc = 1.0 + 0.033 * np.cos(np.radians(360.0 * day_of_year / 365.0))
    return float(SOLAR_CONSTANT * ecc * np.clip(sun[:, 2], 0.0, None).mean())


def erbs_diffuse_fraction(clearness_index: float, sunset_hour_angle_deg: float) -> float:
    """Monthly-average diffuse fraction Hd/H (Erbs, Klein and Duffie 1982).

    For a sunset hour angle <= 81.4 deg:
    ``1.391 - 3.560 K + 4.189 K**2 - 2.137 K**3``; otherwise
    ``1.311 - 3.022 K + 3.427 K**2 - 1.821 K**3``. K is clipped to the
    correlation's range 0.3..0.8.
    """
    k = float(np.clip(clearness_index, 0.3, 0.8))
    if sunset_hour_angle_deg <= 81.4:
        return 1.391 - 3.560 * k + 4.189 * k**2 - 2.137 * k**3
    return 1.311 - 3.022 * k + 3.427 * k**2 - 1.821 * k**3


def _sunset_hour_angle_deg(latitude_deg: float, day: int) -> float:
    x = -np.tan(np.radians(latitude_deg)) * np.tan(np.radians(declination_deg(day)))
    return float(np.degrees(np.arccos(np.clip(x, -1.0, 1.0))))


class TiltModel:
    """Annual Liu-Jordan transposition factor R(slope, aspect) at one latitude.

    The beam term is tabulated on 1-degree slope and 5-degree aspect nodes and
    interpolated bilinearly, so maps of any size cost one table.

    Parameters
    ----------
    latitude_deg
        Latitude of the study area.
    clearness_index
        Annual mean clearness index (GHI / extraterrestrial horizontal).
    albedo
        Ground reflectance for the reflected component.
    """

    def __init__(self, *, latitude_deg: float, clearness_index: float, albedo: float = 0.2) -> None:
        if not -66.0 < latitude_deg < 66.0:
            raise DataError(
                f"latitude {latitude_deg} is outside the supported band (-66, 66); the monthly "
                "transposition needs a sunrise on every mean day"
            )
        if not 0.0 <= albedo <= 1.0:
            raise DataError(f"albedo={albedo!r} must lie in [0, 1]")
        self.latitude_deg = latitude_deg
        self.albedo = albedo
        h0 = np.array([extraterrestrial_horizontal(latitude_deg, d) for d in KLEIN_MEAN_DAYS])
        month_w = h0 * np.array(DAYS_IN_MONTH)
        self.month_weights = month_w / month_w.sum()
        self.diffuse_fraction = np.array(
            [
                erbs_diffuse_fraction(clearness_index, _sunset_hour_angle_deg(latitude_deg, d))
                for d in KLEIN_MEAN_DAYS
            ]
        )
        slopes = np.arange(0.0, 91.0, 1.0)
        aspects = np.arange(0.0, 361.0, 5.0)
        ss, aa = np.meshgrid(slopes, aspects, indexing="ij")
        beam = np.zeros(ss.shape)
        for d, w, fd in zip(
            KLEIN_MEAN_DAYS, self.month_weights, self.diffuse_fraction, strict=True
        ):
            beam += w * (1.0 - fd) * beam_ratio(ss, aa, latitude_deg=latitude_deg, days=[d])
        self._beam = RegularGridInterpolator((slopes, aspects), beam)
        self.mean_diffuse_fraction = float(np.sum(self.month_weights * self.diffuse_fraction))

    def factor(self, slope_deg: np.ndarray, aspect_deg: np.ndarray) -> np.ndarray:
        """Ratio of annual irradiation on the surface to that on the horizontal."""
        s = np.clip(np.asarray(slope_deg, dtype=np.float64), 0.0, 90.0)
        a = np.asarray(aspect_deg, dtype=np.float64) % 360.0
        ok = np.isfinite(s) & np.isfinite(a)
        out = np.full(s.shape, np.nan)
        beam = self._beam(np.stack([s[ok], a[ok]], axis=-1))
        cos_b = np.cos(np.radians(s[ok]))
        out[ok] = (
            beam
            + self.mean_diffuse_fraction * (1.0 + cos_b) / 2.0
            + self.albedo * (1.0 - cos_b) / 2.0
        )
        return out


def annual_extraterrestrial_horizontal(latitude_deg: float) -> float:
    """Annual mean extraterrestrial irradiance on a horizontal surface (W/m2)."""
    h0 = np.array([extraterrestrial_horizontal(latitude_deg, d) for d in KLEIN_MEAN_DAYS])
    return float(np.sum(h0 * np.array(DAYS_IN_MONTH)) / 365.0)
