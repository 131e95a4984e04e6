"""The atmospheric model shared by the sensor forward model (synth) and the
atmospheric correction (ingest).

Documented model (single scattering, plane-parallel, nadir view by default):

* Rayleigh optical depth (Hansen & Travis 1974)
  ``tau_r = 0.008569 l^-4 (1 + 0.0113 l^-2 + 0.00013 l^-4)``, ``l`` in um.
* Aerosol optical depth by the Angstrom law ``tau_a = tau550 (l / 0.55)^-alpha``.
* Direct-beam transmittance (Beer-Lambert) ``T = exp(-tau / mu)`` on the sun
  path (``mu_s = cos theta_s``) and the view path (``mu_v``).
* Path reflectance by single scattering
  ``rho_path = (tau_r P_r + omega_a tau_a P_a) / (4 mu_s mu_v)``,
  Rayleigh phase ``P_r = 3/4 (1 + cos^2 Theta)``, aerosol Henyey-Greenstein
  phase with asymmetry ``g``, scattering angle from sun and view geometry;
  ``L_path = E_sun mu_s rho_path / (pi d^2)``.
* Surface reflectance
  ``rho = pi d^2 (L_sat - L_path) / (E_sun mu_s T_s T_v)``.

The forward model is the exact inverse of the correction, so the only error
of the correction is in estimating ``L_path`` (dark objects) and ``tau550``
from the scene, which is what the known-answer tests measure.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

OMEGA_AEROSOL = 0.9
ASYMMETRY_AEROSOL = 0.65
ANGSTROM_ALPHA = 1.3


def rayleigh_optical_depth(wavelength_um: float | np.ndarray) -> float | np.ndarray:
    """Rayleigh optical depth at sea level (Hansen & Travis 1974)."""
    lam = np.asarray(wavelength_um, dtype=float)
    return 0.008569 * lam**-4 * (1 + 0.0113 * lam**-2 + 0.00013 * lam**-4)


def aerosol_optical_depth(
    wavelength_um: float | np.ndarray, tau550: float, *, alpha: float = ANGSTROM_ALPHA
) -> float | np.ndarray:
    """Aerosol optical depth from the optical depth at 550 nm (Angstrom law)."""
    return tau550 * (np.asarray(wavelength_um, dtype=float) / 0.55) ** -alpha


def transmittance(tau: float | np.ndarray, mu: float) -> float | np.ndarray:
    """Direct-beam transmittance ``exp(-tau / mu)``."""
    return np.exp(-np.asarray(tau, dtype=float) / mu)


def _cos_scattering_angle(mu_s: float, mu_v: float, rel_azimuth_deg: float) -> float:
    sin_s = np.sqrt(max(0.0, 1 - mu_s**2))
    sin_v = np.sqrt(max(0.0, 1 - mu_v**2))
    return float(-mu_s * mu_v + sin_s * sin_v * np.cos(np.radians(rel_azimuth_deg)))


def path_reflectance(
    wavelength_um: float | np.ndarray,
    tau550: float,
    mu_s: float,
    *,
    mu_v: float = 1.0,
    rel_azimuth_deg: float = 0.0,
) -> float | np.ndarray:
    """Single-scattering path reflectance of the atmosphere."""
    cos_t = _cos_scattering_angle(mu_s, mu_v, rel_azimuth_deg)
    p_r = 0.75 * (1 + cos_t**2)
    g = ASYMMETRY_AEROSOL
    p_a = (1 - g**2) / (1 + g**2 - 2 * g * cos_t) ** 1.5
    tau_r = rayleigh_optical_depth(wavelength_um)
    tau_a = aerosol_optical_depth(wavelength_um, tau550)
    return (tau_r * p_r + OMEGA_AEROSOL * tau_a * p_a) / (4 * mu_s * mu_v)


def path_radiance(
    wavelength_um: float | np.ndarray,
    esun: float | np.ndarray,
    tau550: float,
    mu_s: float,
    earth_sun_distance: float,
    *,
    mu_v: float = 1.0,
) -> float | np.ndarray:
    """Path radiance (W m-2 sr-1 um-1) for the given geometry and aerosol load."""
    rho_p = path_reflectance(wavelength_um, tau550, mu_s, mu_v=mu_v)
    return np.asarray(esun) * mu_s * rho_p / (np.pi * earth_sun_distance**2)


def total_transmittance(
    wavelength_um: float | np.ndarray, tau550: float, mu_s: float, *, mu_v: float = 1.0
) -> float | np.ndarray:
    """``T_s * T_v`` for Rayleigh plus aerosol extinction."""
    tau = rayleigh_optical_depth(wavelength_um) + aerosol_optical_depth(wavelength_um, tau550)
    return transmittance(tau, mu_s) * transmittance(tau, mu_v)


def at_sensor_radiance(
    rho: np.ndarray,
    wavelength_um: float,
    esun: float,
    tau550: float,
    mu_s: float,
    earth_sun_distance: float,
    *,
    mu_v: float = 1.0,
) -> np.ndarray:
    """Forward model: at-sensor radiance of a surface of reflectance ``rho``."""
    t = total_transmittance(wavelength_um, tau550, mu_s, mu_v=mu_v)
    l_path = path_radiance(wavelength_um, esun, tau550, mu_s, earth_sun_distance, mu_v=mu_v)
    return l_path + esun * mu_s * t * np.asarray(rho) / (np.pi * earth_sun_distance**2)


def surface_reflectance(
    radiance: np.ndarray,
    l_path: float,
    t_s: float,
    t_v: float,
    esun: float,
    mu_s: float,
    earth_sun_distance: float,
) -> np.ndarray:
    """Invert ``rho = pi d^2 (L_sat - L_path) / (E_sun mu_s T_s T_v)``."""
    return (
        np.pi * earth_sun_distance**2 * (np.asarray(radiance) - l_path) / (esun * mu_s * t_s * t_v)
    )


def invert_tau550(
    l_path: float,
    wavelength_um: float,
    esun: float,
    mu_s: float,
    earth_sun_distance: float,
    *,
    mu_v: float = 1.0,
    bounds: tuple[float, float] = (0.0, 3.0),
) -> float:
    """Aerosol optical depth at 550 nm that explains an observed path radiance.

    Returns the bound when the observation lies outside what the model can
    produce in ``bounds`` (clear Rayleigh atmosphere, or very hazy).
    """

    def f(t: float) -> float:
        return float(
            path_radiance(wavelength_um, esun, t, mu_s, earth_sun_distance, mu_v=mu_v) - l_path
        )

    lo, hi = bounds
    if f(lo) >= 0:
        return lo
    if f(hi) <= 0:
        return hi
    return float(brentq(f, lo, hi, xtol=1e-6))
