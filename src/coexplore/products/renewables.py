"""Solar and wind resource maps in physical units, with exclusion masks.

Solar
-----
Station global horizontal irradiance (GHI, W/m2, interpolated to the grid by
the cube) is

1. corrected for the spatial pattern of cloudiness seen by the optical masks
   with the Kasten and Czeplak (1980) cloud model
   ``G = G_clear (1 - 0.75 N**3.4)``: the cloud frequency ``f`` of each cell
   stands in for the cloud cover fraction N, and since the station GHI
   already contains the clouds of the reference cloud frequency ``f_ref``
   (the area mean unless given), the factor is
   ``(1 - 0.75 f**3.4) / (1 - 0.75 f_ref**3.4)``;
2. transposed to the sloping terrain with the Liu and Jordan (1962)
   isotropic-sky model in Klein's (1977) monthly form::

       R = (1 - Fd) Rb + Fd (1 + cos b) / 2 + albedo (1 - cos b) / 2

   where ``b`` is the slope, ``Rb`` the ratio of extraterrestrial beam
   irradiance on the tilted and on the horizontal surface, integrated over
   the sun's path on Klein's mean day of each month at the study area's
   latitude (declination of Cooper 1969, 15-minute steps; a surface facing
   away from the sun receives no beam), and ``Fd`` the diffuse fraction from
   the monthly clearness index with the Erbs et al. (1982) monthly
   correlation. The clearness index is the area-mean GHI over the mean
   extraterrestrial horizontal irradiance, held constant through the year.
   The monthly factors are averaged with weights of the monthly horizontal
   irradiation. Terrain shading by the horizon is not modelled.

The results are the annual mean irradiance on the surface (W/m2) and the
annual energy ``G * 8760 h / 1000`` (kWh/m2/yr).

Wind
----
The 10 m wind is raised to hub height with the logarithmic profile
``v(h) = v_ref ln(h / z0) / ln(h_ref / z0)`` using a roughness length ``z0``
from the land use (:data:`ROUGHNESS_LENGTH_M`), or with the power law
``v(h) = v_ref (h / h_ref)**alpha``. The gridded 10 m wind is read as the
local 10 m wind over each cell's own surface (the log law then gives the
stronger shear of rougher surfaces); a transfer from the station's exposure
through the geostrophic drag law (as in the European Wind Atlas) is beyond
this model. Wind power density is
``0.5 rho E[v**3] = 0.5 rho c**3 Gamma(1 + 3/k)`` for a Weibull distribution
of shape k and scale c, fitted per pixel by the moment method (Justus et al.
1978) or given; air density follows the ideal gas law with the pressure of
the International Standard Atmosphere at the cell's elevation.

A missing DEM falls back to flat terrain at sea level with a
:class:`FlatTerrainWarning` (no slope/aspect correction, no slope exclusion,
air density at sea-level pressure).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from pyproj import Transformer
from scipy import special
from scipy import stats as st

from ..errors import DataError
from ..features import terrain
from ..grid import Grid
from ._common import BARE, BUILT_UP, MINING, NODATA, RECLAIMED, VEGETATION, WATER, check_aligned
from .solar_geometry import (
    DAYS_IN_MONTH,
    KLEIN_MEAN_DAYS,
    SOLAR_CONSTANT,
    TiltModel,
    annual_extraterrestrial_horizontal,
    beam_ratio,
    declination_deg,
    erbs_diffuse_fraction,
    extraterrestrial_horizontal,
)

HOURS_PER_YEAR = 8760.0

ROUGHNESS_LENGTH_M: dict[int, float] = {
    VEGETATION: 0.1,
    WATER: 0.0002,
    BUILT_UP: 1.0,
    BARE: 0.01,
    MINING: 0.05,
    RECLAIMED: 0.05,
}
"""Aerodynamic roughness length (m) per land-use class.

* water 0.0002: open sea/lakes (Wieringa 1992, class "sea"; WMO-No. 8, 2008, Annex 5.B);
* bare land 0.01: featureless bare soil 0.005 to flat open terrain 0.03
  (Wieringa 1992 classes 2-3; Manwell et al. 2009, Table 2.2);
* vegetation 0.1: low crops and scattered obstacles, "roughly open"
  (Wieringa 1992 class 4; Davenport classification);
* built-up 1.0: regular large obstacle coverage, suburbs/towns
  (Wieringa 1992 class 7, "skimming");
* mining and reclaimed 0.05: spoil heaps and pits, or young grass cover on
  reclaimed land, between open flat terrain (0.03) and low crops (0.1).
"""

__all__ = [
    "DAYS_IN_MONTH",
    "KLEIN_MEAN_DAYS",
    "ROUGHNESS_LENGTH_M",
    "SOLAR_CONSTANT",
    "FlatTerrainWarning",
    "TiltModel",
    "air_density",
    "annual_extraterrestrial_horizontal",
    "beam_ratio",
    "cloud_factor",
    "declination_deg",
    "erbs_diffuse_fraction",
    "exclusion_mask",
    "extraterrestrial_horizontal",
    "fit_weibull",
    "grid_latitude",
    "log_law",
    "power_law",
    "roughness_length",
    "slope_aspect",
    "solar_potential",
    "weibull_moments",
    "weibull_power_density",
    "wind_potential",
]

# International Standard Atmosphere (ISO 2533) and gas constants
_P0 = 101325.0  # Pa, sea-level pressure
_T0 = 288.15  # K, sea-level temperature
_LAPSE = 0.0065  # K/m, tropospheric lapse rate
_G = 9.80665  # m/s2
_M_AIR = 0.0289644  # kg/mol, molar mass of dry air
_R_UNIVERSAL = 8.31446  # J/(mol K)
_R_DRY = _R_UNIVERSAL / _M_AIR  # 287.05 J/(kg K)

DEFAULT_EXCLUDED_CLASSES: tuple[int, ...] = (WATER, BUILT_UP, MINING)


class FlatTerrainWarning(UserWarning):
    """No DEM was given: flat terrain at sea level is assumed."""


# --------------------------------------------------------------------------- terrain


def grid_latitude(grid: Grid) -> float:
    """Latitude (degrees north) of the centre of a grid, for the sun geometry.

    Parameters
    ----------
    grid
        The study area's grid.

    Returns
    -------
    float
        Geodetic latitude of the grid centre (WGS 84).
    """
    left, bottom, right, top = grid.bounds
    to_wgs84 = Transformer.from_crs(grid.rio_crs, "EPSG:4326", always_xy=True)
    _, lat = to_wgs84.transform((left + right) / 2.0, (bottom + top) / 2.0)
    return float(lat)


def slope_aspect(elevation: np.ndarray, *, pixel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect of a north-up DEM (Horn 1981, via :mod:`coexplore.features.terrain`).

    Parameters
    ----------
    elevation
        Elevation (y, x) in metres; row 0 is the northern edge.
    pixel_size
        Pixel edge in metres.

    Returns
    -------
    slope_deg : numpy.ndarray
        Slope in degrees (0 = flat).
    aspect_deg : numpy.ndarray
        Direction the slope faces, degrees clockwise from north (0..360); 0 on
        flat cells, where it does not matter (the tilted-surface factor has
        sin(slope) = 0 there).

    Raises
    ------
    DataError
        If the DEM is not 2-D (at least 2x2) or ``pixel_size`` is not positive.
    """
    slope, aspect = terrain.slope_aspect(
        np.asarray(elevation, dtype=np.float64), dx=pixel_size, dy=pixel_size
    )
    return slope, np.where(np.isfinite(slope) & np.isnan(aspect), 0.0, aspect)


def cloud_factor(cloud_frequency: np.ndarray, *, reference: float | None = None) -> np.ndarray:
    """Kasten-Czeplak cloud correction of station GHI (see the module docstring).

    Parameters
    ----------
    cloud_frequency
        Fraction of cloudy observations per cell, 0..1 (NaN allowed).
    reference
        Cloud frequency already contained in the station GHI; the mean of
        the finite cells if ``None``.

    Returns
    -------
    numpy.ndarray
        Multiplicative factor (1 where the cell is as cloudy as the reference).

    Raises
    ------
    DataError
        If a frequency lies outside [0, 1] or none is finite.
    """
    f = np.asarray(cloud_frequency, dtype=np.float64)
    fin = np.isfinite(f)
    if not fin.any():
        raise DataError("cloud frequency has no finite cell; pass the optical cloud frequency map")
    if np.any((f[fin] < 0) | (f[fin] > 1)):
        raise DataError(
            f"cloud frequency ranges {f[fin].min():.3g}..{f[fin].max():.3g}, outside [0, 1]; "
            "pass the fraction of cloudy observations, not a percentage or a count"
        )
    ref = float(np.mean(f[fin])) if reference is None else float(reference)
    if not 0.0 <= ref <= 1.0:
        raise DataError(f"reference cloud frequency {ref!r} must lie in [0, 1]")
    return (1.0 - 0.75 * f**3.4) / (1.0 - 0.75 * ref**3.4)


# --------------------------------------------------------------------------- wind


def roughness_length(
    landuse: np.ndarray, *, table: Mapping[int, float] = ROUGHNESS_LENGTH_M
) -> np.ndarray:
    """Roughness length (m) of each land-use cell, NaN at nodata.

    Raises
    ------
    DataError
        If a class has no entry in ``table`` or a length is not positive.
    """
    lu = np.asarray(landuse)
    if any(not v > 0 for v in table.values()):
        raise DataError(f"roughness lengths {dict(table)} must all be positive")
    classes = [int(c) for c in np.unique(lu) if c != NODATA]
    missing = [c for c in classes if c not in table]
    if missing:
        raise DataError(
            f"land-use classes {missing} have no roughness length; add them to the table"
        )
    out = np.full(lu.shape, np.nan)
    for c in classes:
        out[lu == c] = table[c]
    return out


def log_law(
    v_ref: np.ndarray | float,
    *,
    height: float,
    z0: np.ndarray | float,
    ref_height: float = 10.0,
) -> np.ndarray:
    """Wind speed at ``height`` from the logarithmic profile (neutral stability).

    ``v(h) = v_ref ln(h / z0) / ln(h_ref / z0)``.

    Raises
    ------
    DataError
        If a roughness length is not positive or not below both heights.
    """
    z = np.asarray(z0, dtype=np.float64)
    zf = z[np.isfinite(z)]
    if np.any(zf <= 0) or np.any(zf >= min(height, ref_height)):
        raise DataError(
            f"roughness lengths must lie in (0, {min(height, ref_height)}) m for heights "
            f"{ref_height} and {height} m, got {zf.min() if zf.size else z}..{zf.max() if zf.size else z}"
        )
    return np.asarray(v_ref, dtype=np.float64) * np.log(height / z) / np.log(ref_height / z)


def power_law(
    v_ref: np.ndarray | float, *, height: float, ref_height: float = 10.0, alpha: float = 1.0 / 7.0
) -> np.ndarray:
    """Wind speed at ``height`` from the power law ``v_ref (h / h_ref)**alpha``.

    The default ``alpha = 1/7`` is the classic neutral open-terrain exponent.

    Raises
    ------
    DataError
        If a height is not positive.
    """
    if not (height > 0 and ref_height > 0):
        raise DataError(f"heights {height} and {ref_height} m must be positive")
    return np.asarray(v_ref, dtype=np.float64) * (height / ref_height) ** alpha


def air_density(
    temperature_c: np.ndarray | float, elevation_m: np.ndarray | float = 0.0
) -> np.ndarray:
    """Dry-air density (kg/m3) from temperature and elevation.

    ``rho = p / (R_d T)`` with the ISA pressure
    ``p = p0 (1 - L z / T0)**(g M / (R L))``.

    Examples
    --------
    >>> round(float(air_density(15.0, 0.0)), 3)
    1.225
    """
    t = np.asarray(temperature_c, dtype=np.float64) + 273.15
    z = np.asarray(elevation_m, dtype=np.float64)
    if np.any(t[np.isfinite(t)] <= 0):
        raise DataError("temperature below absolute zero; give temperature in degrees Celsius")
    p = _P0 * (1.0 - _LAPSE * z / _T0) ** (_G * _M_AIR / (_R_UNIVERSAL * _LAPSE))
    return p / (_R_DRY * t)


def fit_weibull(speeds: np.ndarray, *, method: str = "mle") -> tuple[float, float]:
    """Weibull shape k and scale c of a wind-speed sample.

    Parameters
    ----------
    speeds
        Wind speeds (m/s); NaN ignored. Calms (0) are dropped for the
        maximum-likelihood fit (the log-likelihood is undefined at 0).
    method
        ``"mle"``: ``scipy.stats.weibull_min.fit`` with ``floc=0``;
        ``"moments"``: Justus et al. (1978), ``k = (sigma / mean)**-1.086``,
        ``c = mean / Gamma(1 + 1/k)``.

    Returns
    -------
    tuple of float
        (k, c).

    Raises
    ------
    DataError
        If fewer than 10 positive values are given, a value is negative or
        the method is unknown.
    """
    v = np.asarray(speeds, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if np.any(v < 0):
        raise DataError(f"wind speeds must be >= 0, got a minimum of {v.min()}")
    pos = v[v > 0]
    if pos.size < 10:
        raise DataError(
            f"a Weibull fit needs at least 10 positive wind speeds, got {pos.size}; "
            "use a longer station record"
        )
    if method == "mle":
        k, _, c = st.weibull_min.fit(pos, floc=0)
        return float(k), float(c)
    if method == "moments":
        k, c = weibull_moments(v.mean(), v.std(ddof=1))
        return float(k), float(c)
    raise DataError(f"Weibull fit method {method!r} is unknown; use 'mle' or 'moments'")


def weibull_moments(
    mean: np.ndarray | float, std: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Weibull (k, c) from the mean and standard deviation (Justus et al. 1978), vectorised.

    k is clipped to 1..10 (zero variance would give an infinite k).
    """
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(std, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.clip((s / m) ** -1.086, 1.0, 10.0)
    c = m / special.gamma(1.0 + 1.0 / k)
    return k, c


def weibull_power_density(
    k: np.ndarray | float, c: np.ndarray | float, *, rho: np.ndarray | float = 1.225
) -> np.ndarray:
    """Mean wind power density ``0.5 rho c**3 Gamma(1 + 3/k)`` (W/m2)."""
    k = np.asarray(k, dtype=np.float64)
    return (
        0.5 * np.asarray(rho) * np.asarray(c, dtype=np.float64) ** 3 * special.gamma(1.0 + 3.0 / k)
    )


# --------------------------------------------------------------------------- exclusions and maps


def exclusion_mask(
    landuse: np.ndarray | None,
    slope_deg: np.ndarray | None,
    *,
    max_slope_deg: float,
    classes: Sequence[int] = DEFAULT_EXCLUDED_CLASSES,
) -> np.ndarray:
    """Cells unavailable for development (True = excluded).

    Excluded are the land-use ``classes`` (default water, built-up and
    active mining), land-use nodata, slopes steeper than ``max_slope_deg``
    and cells with an unknown slope.

    Raises
    ------
    DataError
        If both inputs are None or their grids differ.
    """
    shape = check_aligned(landuse=landuse, slope=slope_deg)
    excluded = np.zeros(shape, dtype=bool)
    if landuse is not None:
        lu = np.asarray(landuse)
        excluded |= np.isin(lu, np.asarray(list(classes))) | (lu == NODATA)
    if slope_deg is not None:
        s = np.asarray(slope_deg, dtype=np.float64)
        excluded |= ~np.isfinite(s) | (s > max_slope_deg)
    return excluded


def _terrain(
    elevation: np.ndarray | None, shape: tuple[int, ...], pixel_size: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    if elevation is None:
        warnings.warn(
            "no DEM given: assuming flat terrain at sea level (no slope/aspect correction, "
            "no slope exclusion, air density at sea-level pressure); pass the dem layer",
            FlatTerrainWarning,
            stacklevel=3,
        )
        zeros = np.zeros(shape)
        return zeros, zeros, zeros.copy(), False
    z = np.asarray(elevation, dtype=np.float64)
    if not np.isfinite(z).any():
        raise DataError("the DEM has no finite elevation; check the dem layer of the study area")
    slope, aspect = slope_aspect(z, pixel_size=pixel_size)
    return z, slope, aspect, True


def _mean_over_time(arr: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if a.ndim == 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(a, axis=0)
    if a.ndim != 2:
        raise DataError(f"{name} has shape {a.shape}; expected (y, x) or (time, y, x)")
    return a


def solar_potential(
    ghi: np.ndarray,
    *,
    pixel_size: float,
    latitude_deg: float,
    cloud_frequency: np.ndarray | None = None,
    elevation: np.ndarray | None = None,
    landuse: np.ndarray | None = None,
    reference_cloud_frequency: float | None = None,
    albedo: float = 0.2,
    max_slope_deg: float = 30.0,
    excluded_classes: Sequence[int] = DEFAULT_EXCLUDED_CLASSES,
) -> xr.Dataset:
    """Solar resource on the terrain surface, with exclusions.

    Parameters
    ----------
    ghi
        Station GHI interpolated to the grid, W/m2 daily mean: (y, x), or
        (time, y, x) averaged over time.
    pixel_size
        Pixel edge in metres.
    latitude_deg
        Latitude of the study area (e.g. of the grid centre).
    cloud_frequency
        Optical cloud frequency (y, x), 0..1; no cloud correction if None.
    elevation
        DEM (y, x); None falls back to flat terrain with a :class:`FlatTerrainWarning`.
    landuse
        Land-use map for the exclusions (none by class if None).
    reference_cloud_frequency
        See :func:`cloud_factor`.
    albedo
        Ground albedo of the reflected component.
    max_slope_deg
        Steeper cells are excluded.
    excluded_classes
        Land-use classes excluded from development.

    Returns
    -------
    xarray.Dataset
        Dims (y, x): ``ghi_horizontal`` (cloud corrected, W/m2),
        ``tilt_factor``, ``cloud_factor``, ``irradiance_surface`` (W/m2, NaN
        where excluded), ``energy`` (kWh/m2/yr, NaN where excluded),
        ``energy_resource`` (kWh/m2/yr before exclusions, for the conflict
        analysis), ``slope_deg``, ``aspect_deg`` and ``excluded``; units in attrs.

    Raises
    ------
    DataError
        If inputs are misaligned, GHI is negative or has no finite cell.
    """
    g = _mean_over_time(ghi, "ghi")
    shape = check_aligned(
        ghi=g, cloud_frequency=cloud_frequency, elevation=elevation, landuse=landuse
    )
    fin = np.isfinite(g)
    if not fin.any():
        raise DataError("GHI has no finite cell; check the meteo cube's solar_irradiance band")
    if np.any(g[fin] < 0):
        raise DataError(f"GHI has negative values (min {g[fin].min():.3g} W/m2); check units")
    _, slope, aspect, has_dem = _terrain(elevation, shape, pixel_size)
    cf = (
        np.ones(shape)
        if cloud_frequency is None
        else cloud_factor(cloud_frequency, reference=reference_cloud_frequency)
    )
    horiz = g * cf
    k_t = float(np.nanmean(horiz)) / annual_extraterrestrial_horizontal(latitude_deg)
    tilt = TiltModel(latitude_deg=latitude_deg, clearness_index=k_t, albedo=albedo).factor(
        slope, aspect
    )
    surface = horiz * tilt
    excluded = np.zeros(shape, dtype=bool)
    if landuse is not None or has_dem:
        excluded = exclusion_mask(
            landuse,
            slope if has_dem else None,
            max_slope_deg=max_slope_deg,
            classes=excluded_classes,
        )
    excluded |= ~np.isfinite(surface)
    resource = surface * HOURS_PER_YEAR / 1000.0
    surface = np.where(excluded, np.nan, surface)
    energy = surface * HOURS_PER_YEAR / 1000.0
    dims = ("y", "x")
    ds = xr.Dataset(
        {
            "ghi_horizontal": (dims, horiz.astype(np.float32), {"units": "W m-2"}),
            "cloud_factor": (dims, np.asarray(cf, np.float32), {"units": "1"}),
            "tilt_factor": (dims, tilt.astype(np.float32), {"units": "1"}),
            "irradiance_surface": (dims, surface.astype(np.float32), {"units": "W m-2"}),
            "energy": (dims, energy.astype(np.float32), {"units": "kWh m-2 yr-1"}),
            "energy_resource": (dims, resource.astype(np.float32), {"units": "kWh m-2 yr-1"}),
            "slope_deg": (dims, slope.astype(np.float32), {"units": "degree"}),
            "aspect_deg": (dims, aspect.astype(np.float32), {"units": "degree"}),
            "excluded": (dims, excluded),
        },
        attrs={
            "latitude_deg": latitude_deg,
            "clearness_index": k_t,
            "albedo": albedo,
            "flat_terrain_fallback": int(not has_dem),
        },
    )
    return ds


def wind_potential(
    wind_speed: np.ndarray,
    *,
    landuse: np.ndarray,
    temperature_c: np.ndarray | float,
    pixel_size: float,
    elevation: np.ndarray | None = None,
    hub_height: float = 100.0,
    ref_height: float = 10.0,
    profile: str = "log",
    alpha: float = 1.0 / 7.0,
    weibull_k: float | None = None,
    roughness: Mapping[int, float] = ROUGHNESS_LENGTH_M,
    max_slope_deg: float = 20.0,
    excluded_classes: Sequence[int] = DEFAULT_EXCLUDED_CLASSES,
) -> xr.Dataset:
    """Wind resource at hub height (mean speed, Weibull k and c, power density), with exclusions.

    Parameters
    ----------
    wind_speed
        10 m wind speed interpolated to the grid: (time, y, x) samples, or
        (y, x) means (then ``weibull_k`` is required).
    landuse
        Land-use map (roughness and exclusions).
    temperature_c
        Mean air temperature (degC), (y, x) / (time, y, x) or scalar.
    pixel_size
        Pixel edge in metres.
    elevation
        DEM (y, x); None falls back to flat terrain at sea level with a
        :class:`FlatTerrainWarning`.
    hub_height, ref_height
        Turbine hub and measurement heights (m).
    profile
        ``"log"`` (roughness length from land use) or ``"power"`` (``alpha``).
    alpha
        Power-law exponent.
    weibull_k
        Shape parameter to use instead of the per-cell moment fit; pass the
        station's MLE k (:func:`fit_weibull` on its raw records) when the
        grid holds monthly means, whose variance understates the wind's.
    roughness
        Land-use class -> roughness length (m).
    max_slope_deg
        Steeper cells are excluded.
    excluded_classes
        Land-use classes excluded from development.

    Returns
    -------
    xarray.Dataset
        Dims (y, x): ``speed_hub`` (mean, m/s), ``weibull_k``, ``weibull_c``
        (m/s), ``air_density`` (kg/m3), ``power_density`` (W/m2, NaN where
        excluded), ``power_density_resource`` (W/m2 before exclusions),
        ``roughness_m``, ``slope_deg`` and ``excluded``.

    Raises
    ------
    DataError
        If inputs are misaligned, speeds are negative, ``profile`` is unknown,
        or (y, x) means are given without ``weibull_k``.
    """
    if profile not in ("log", "power"):
        raise DataError(f"profile {profile!r} is unknown; use 'log' or 'power'")
    v = np.asarray(wind_speed, dtype=np.float64)
    if v.ndim not in (2, 3):
        raise DataError(f"wind_speed has shape {v.shape}; expected (time, y, x) or (y, x)")
    if v.ndim == 2 and weibull_k is None:
        raise DataError(
            "wind_speed holds one mean per cell, so no Weibull shape can be fitted; pass weibull_k "
            "(e.g. fit_weibull on the station record) or a (time, y, x) series"
        )
    temp = np.asarray(temperature_c, dtype=np.float64)
    temp2d = _mean_over_time(temp, "temperature_c") if temp.ndim >= 2 else temp
    shape = check_aligned(
        wind_speed=v,
        landuse=landuse,
        elevation=elevation,
        temperature=temp2d if np.ndim(temp2d) >= 2 else None,
    )
    fin = v[np.isfinite(v)]
    if fin.size == 0:
        raise DataError("wind_speed has no finite value; check the meteo cube's wind_speed band")
    if np.any(fin < 0):
        raise DataError(f"wind speeds must be >= 0, got a minimum of {fin.min():.3g} m/s")
    z, slope, _, has_dem = _terrain(elevation, shape, pixel_size)
    z0 = roughness_length(landuse, table=roughness)
    if profile == "log":
        factor = log_law(1.0, height=hub_height, z0=z0, ref_height=ref_height)
    else:
        factor = np.where(
            np.isfinite(z0),
            power_law(1.0, height=hub_height, ref_height=ref_height, alpha=alpha),
            np.nan,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if v.ndim == 3:
            mean10 = np.nanmean(v, axis=0)
            std10 = np.nanstd(v, axis=0, ddof=1)
        else:
            mean10, std10 = v, np.full(shape, np.nan)
    mean_hub = mean10 * factor
    if weibull_k is not None:
        k = np.full(shape, float(weibull_k))
        c = mean_hub / special.gamma(1.0 + 1.0 / k)
    else:
        # the log/power scaling multiplies every sample by the same factor, so
        # k (set by the coefficient of variation) is unchanged and c scales
        k, c = weibull_moments(mean_hub, std10 * factor)
    rho = air_density(temp2d, z)
    pd_map = weibull_power_density(k, c, rho=rho)
    excluded = exclusion_mask(
        landuse, slope if has_dem else None, max_slope_deg=max_slope_deg, classes=excluded_classes
    )
    excluded |= ~np.isfinite(pd_map)
    dims = ("y", "x")
    return xr.Dataset(
        {
            "speed_hub": (dims, mean_hub.astype(np.float32), {"units": "m s-1"}),
            "weibull_k": (dims, np.asarray(k, np.float32), {"units": "1"}),
            "weibull_c": (dims, np.asarray(c, np.float32), {"units": "m s-1"}),
            "air_density": (
                dims,
                np.broadcast_to(rho, shape).astype(np.float32),
                {"units": "kg m-3"},
            ),
            "power_density": (
                dims,
                np.where(excluded, np.nan, pd_map).astype(np.float32),
                {"units": "W m-2"},
            ),
            "power_density_resource": (dims, pd_map.astype(np.float32), {"units": "W m-2"}),
            "roughness_m": (dims, z0.astype(np.float32), {"units": "m"}),
            "slope_deg": (dims, slope.astype(np.float32), {"units": "degree"}),
            "excluded": (dims, excluded),
        },
        attrs={
            "hub_height_m": hub_height,
            "profile": profile,
            "flat_terrain_fallback": int(not has_dem),
        },
    )
