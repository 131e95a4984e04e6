"""What the surface looks like on a given day: classes, green cover, moisture,
surface reflectance (Landsat 8 reflective bands) and temperature.

Reflectance is a linear mixture of endmember spectra per 10 m pixel,
modulated by:

* green cover from phenology (logistic green-up around day 118, shifted by
  the spring temperature, senescence around day 288, vigour by the growing
  season rainfall) for vegetation, gardens, sparse cover on bare land and
  the slowly greening reclaimed land (``0.75 (1 - exp(-age / 1.8 yr))``);
* soil moisture darkening, strongest in the SWIR bands;
* hydrothermal alteration over and around the ore: clays deepen the 2.2 um
  absorption (swir2 lower, so swir2/swir1 drops) and iron oxides raise red
  against blue;
* a spatially correlated brightness factor and a static fine-scale
  variation (within-class variability), plus 1 % noise per date;
* water: deep clear water (red ~0.014, nir ~0.007) mixed with a brighter,
  turbid shallow-water spectrum by depth.

The endmembers overlap on purpose (bare soil vs fresh rock, sparse natural
vegetation vs reclaimed grass, dry pond beds vs bare land).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..sensors import Landsat8
from .fields import gaussian_field
from .solar import sun_position, utc_at_local_solar_time
from .state import (
    ALLUVIUM,
    BARE_LAND,
    BUILT_UP,
    GRANITE,
    LIMESTONE,
    MINING,
    RECLAIMED,
    SANDSTONE,
    SCHIST,
    VEGETATION,
    WATER,
    LandState,
    date_of,
)
from .streams import rng_for

N_BANDS = len(Landsat8.reflective)

# Endmember spectra, bands coastal, blue, green, red, nir, swir1, swir2.
GREEN_CANOPY = np.array([0.025, 0.035, 0.075, 0.038, 0.42, 0.21, 0.09], dtype=np.float32)
LITTER = np.array([0.06, 0.075, 0.10, 0.13, 0.24, 0.30, 0.20], dtype=np.float32)
GRASS = np.array([0.03, 0.04, 0.09, 0.05, 0.36, 0.24, 0.12], dtype=np.float32)
BUILT = np.array([0.11, 0.12, 0.14, 0.16, 0.20, 0.23, 0.21], dtype=np.float32)
SPOIL = np.array([0.11, 0.13, 0.17, 0.21, 0.26, 0.33, 0.28], dtype=np.float32)
WATER_DEEP = np.array([0.035, 0.03, 0.03, 0.014, 0.007, 0.003, 0.002], dtype=np.float32)
WATER_SHALLOW = np.array([0.06, 0.07, 0.09, 0.07, 0.035, 0.012, 0.006], dtype=np.float32)
#: dry soil by lithology code
SOIL = {
    GRANITE: np.array([0.10, 0.12, 0.16, 0.21, 0.27, 0.34, 0.27]),
    SANDSTONE: np.array([0.09, 0.11, 0.16, 0.24, 0.30, 0.38, 0.31]),
    LIMESTONE: np.array([0.14, 0.17, 0.22, 0.26, 0.30, 0.36, 0.30]),
    SCHIST: np.array([0.07, 0.08, 0.11, 0.14, 0.19, 0.24, 0.20]),
    ALLUVIUM: np.array([0.08, 0.10, 0.13, 0.17, 0.22, 0.28, 0.23]),
}
#: fresh rock in the pit relative to the weathered soil of the same lithology
ROCK_FACTOR = np.array([1.15, 1.12, 1.10, 1.04, 1.05, 1.06, 1.10], dtype=np.float32)
#: relative darkening at full moisture (0.4 m3 m-3)
MOISTURE_DARKENING = np.array([0.25, 0.25, 0.27, 0.28, 0.30, 0.40, 0.42], dtype=np.float32)
#: relative change at full alteration intensity (clays: swir2 down; iron oxides: red up, blue down)
ALTERATION_RESPONSE = np.array([-0.08, -0.08, 0.02, 0.15, 0.03, 0.04, -0.22], dtype=np.float32)

LOCAL_OVERPASS_HOURS = 10.5
LAPSE_RATE = -0.0065  # K per metre


def phenology(doy: float, *, green_up: float = 118.0, senescence: float = 288.0) -> float:
    """Seasonal green fraction 0..1: logistic green-up minus logistic senescence.

    Parameters
    ----------
    doy
        Day of year (season phase).
    green_up, senescence
        Days of the half-way points (widths 7 and 9 days).

    Returns
    -------
    float

    Examples
    --------
    >>> round(phenology(200.0), 2), round(phenology(15.0), 2)
    (1.0, 0.0)
    """
    up = 1.0 / (1.0 + np.exp(-(doy - green_up) / 7.0))
    down = 1.0 / (1.0 + np.exp(-(doy - senescence) / 9.0))
    return float(np.clip(up - down, 0.0, 1.0))


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The surface on one day, on the extended grid of the state.

    Attributes
    ----------
    date, year
        The day.
    cls
        Land-use class of the day: the annual class, except that basins are
        water exactly when wet that day (a dry pond bed shows as bare land).
    green
        Green vegetation cover fraction 0..1.
    soil_moisture
        Surface soil moisture (m3 m-3).
    water_depth
        Water depth (metres) where ``cls`` is water.
    reclaim_age
        Years since reclamation (NaN where not reclaimed).
    activity
        Day-to-day change of the working faces in the pits (standard normal field).
    air_temperature
        Regional daily mean air temperature at the reference elevation (degC).
    water_temperature
        Temperature of open water (degC; the month-lagged air temperature).
    sun_elevation
        Solar elevation at the 10:30 overpass at the area centre (degrees).
    """

    date: dt.date
    year: int
    cls: np.ndarray
    green: np.ndarray
    soil_moisture: np.ndarray
    water_depth: np.ndarray
    reclaim_age: np.ndarray
    activity: np.ndarray
    air_temperature: float
    water_temperature: float
    sun_elevation: float


def surface_snapshot(state: LandState, date: dt.date | str) -> Snapshot:
    """The state of the surface on ``date``.

    Parameters
    ----------
    state
        The hidden state.
    date
        Any day (dates outside the study period use the nearest day's weather).

    Returns
    -------
    Snapshot
    """
    date = date_of(date)
    climate = state.climate
    i = climate.index(date)
    year = int(np.clip(date.year, state.years[0], state.years[-1]))
    annual = state.landuse(year, extended=True)
    depth = state.water_potential + np.float32(climate.water_level[i])
    wet_basin = depth > 0
    cls = annual.copy()
    refillable = np.isin(annual, (VEGETATION, BARE_LAND, WATER))
    cls[wet_basin & refillable] = WATER
    cls[(annual == WATER) & ~wet_basin & ~state.river] = BARE_LAND
    depth = np.where(state.river, np.maximum(depth, 1.2), depth).astype(np.float32)

    doy = climate.seasonal_doy(date)
    shift = climate.greenup_shift.get(year, 0.0)
    vigour = climate.greenness.get(year, 0.85)
    pheno = phenology(doy, green_up=118.0 + shift)
    grass = phenology(doy, green_up=105.0 + shift, senescence=275.0)

    green = np.zeros(state.ext.shape, dtype=np.float32)
    veg = cls == VEGETATION
    green[veg] = state.veg_density[veg] * (0.2 + 0.8 * vigour * pheno)
    bare = cls == BARE_LAND
    green[bare] = 0.12 * state.veg_density[bare] * pheno
    built = cls == BUILT_UP
    green[built] = state.garden[built] * (0.3 + 0.7 * pheno)
    age = np.full(state.ext.shape, np.nan, dtype=np.float32)
    rec = cls == RECLAIMED
    t = date.year + (date.timetuple().tm_yday - 1) / 365.25
    age[rec] = np.maximum(t - state.reclaim_year[rec], 0.0)
    green[rec] = 0.75 * (1.0 - np.exp(-age[rec] / 1.8)) * (0.25 + 0.75 * grass)

    sm = climate.soil_moisture[i] * (0.6 + 0.8 * state.wetness)
    sm = np.where((depth > -0.25) & (cls != WATER), 0.4, sm)
    sm = np.clip(sm, 0.03, 0.45).astype(np.float32)

    activity = gaussian_field(
        rng_for(state.seed, "surface", "activity", date.toordinal()), state.ext.shape, 6.0
    )
    lon, lat = state.settings.centre_lonlat
    elevation, _ = sun_position(lat, lon, utc_at_local_solar_time(date, lon, LOCAL_OVERPASS_HOURS))
    water_t = float(np.mean(climate.temperature[max(0, i - 30) : i + 1])) + 1.0
    return Snapshot(
        date=date,
        year=year,
        cls=cls,
        green=green,
        soil_moisture=sm,
        water_depth=np.where(cls == WATER, np.maximum(depth, 0.05), 0.0).astype(np.float32),
        reclaim_age=age,
        activity=activity,
        air_temperature=float(climate.temperature[i]),
        water_temperature=max(water_t, 0.5),
        sun_elevation=elevation,
    )


def _moisture(sm: np.ndarray, weight: float = 1.0) -> np.ndarray:
    return 1.0 - np.float32(weight) * MOISTURE_DARKENING[:, None] * np.clip(
        (sm - 0.05) / 0.35, 0.0, 1.2
    )


def _altered(a: np.ndarray) -> np.ndarray:
    return 1.0 + ALTERATION_RESPONSE[:, None] * np.asarray(a, dtype=np.float32)


def reflectance(state: LandState, snap: Snapshot) -> np.ndarray:
    """Surface reflectance (7, rows, cols) float32 of a snapshot on the extended grid.

    Parameters
    ----------
    state
        The hidden state.
    snap
        The day's surface (:func:`surface_snapshot`).

    Returns
    -------
    numpy.ndarray
        Bands in ``sensors.Landsat8.reflective`` order, unitless 0..1.
    """
    shape = state.ext.shape
    rho = np.zeros((N_BANDS, shape[0] * shape[1]), dtype=np.float32)
    soil_table = np.stack([SOIL.get(k, SOIL[ALLUVIUM]) for k in range(6)]).astype(np.float32)
    cls = snap.cls.ravel()
    order = np.argsort(cls, kind="stable")
    bounds = np.searchsorted(cls[order], np.arange(8))
    green, moisture = snap.green.ravel(), snap.soil_moisture.ravel()
    alteration, bright_all = state.alteration.ravel(), state.brightness.ravel()
    lithology, depth = state.lithology.ravel(), snap.water_depth.ravel()
    activity = snap.activity.ravel()
    for code in (VEGETATION, BARE_LAND, MINING, BUILT_UP, RECLAIMED, WATER):
        idx = order[bounds[code] : bounds[code + 1]]
        if idx.size == 0:
            continue
        f = green[idx][None, :]
        sm = moisture[idx]
        alt = alteration[idx]
        soil = soil_table[lithology[idx]].T  # (7, n)
        bright = bright_all[idx][None, :]
        if code == VEGETATION:
            under = 0.6 * LITTER[:, None] + 0.4 * soil * _moisture(sm) * _altered(alt)
            values = (f * GREEN_CANOPY[:, None] + (1 - f) * under) * bright
        elif code == BARE_LAND:
            ground = soil * _moisture(sm) * _altered(np.float32(0.8) * alt)
            values = (f * GREEN_CANOPY[:, None] + (1 - f) * ground) * bright
        elif code == MINING:
            act = 1.0 + np.float32(0.08) * activity[idx][None, :]
            values = soil * ROCK_FACTOR[:, None] * _moisture(sm, 0.5) * _altered(alt) * bright * act
        elif code == BUILT_UP:
            values = (1 - f) * BUILT[:, None] * bright + f * GREEN_CANOPY[:, None]
        elif code == RECLAIMED:
            ground = SPOIL[:, None] * _moisture(sm) * _altered(np.float32(0.5) * alt)
            values = f * GRASS[:, None] + (1 - f) * ground * bright
        else:
            shallow = np.exp(-depth[idx] / np.float32(0.8))[None, :]
            values = shallow * WATER_SHALLOW[:, None] + (1 - shallow) * WATER_DEEP[:, None]
        rho[:, idx] = values
    rho = rho.reshape(N_BANDS, *shape)
    rho *= np.where(snap.cls != WATER, 1.0 + state.speckle, np.float32(1.0))[None]
    noise = rng_for(state.seed, "surface", "noise", snap.date.toordinal()).standard_normal(
        rho.shape, dtype=np.float32
    )
    rho *= 1.0 + 0.01 * noise
    return np.clip(rho, 0.001, 1.0)


def surface_temperature(state: LandState, snap: Snapshot) -> np.ndarray:
    """Land surface temperature at the morning overpass on the extended grid.

    Air temperature with the lapse rate, plus a class-dependent excess that
    grows with insolation and dryness (bare, rock, roofs) and shrinks with
    green cover (transpiration); open water follows the month-lagged air
    temperature.

    Parameters
    ----------
    state
        The hidden state.
    snap
        The day's surface.

    Returns
    -------
    numpy.ndarray
        float32 temperature (K).
    """
    ins = max(np.sin(np.radians(snap.sun_elevation)), 0.1)
    t_air = snap.air_temperature + 2.0 + LAPSE_RATE * (state.elevation - 500.0)
    dry = np.clip(1.0 - 1.6 * (snap.soil_moisture - 0.05), 0.3, 1.0)
    t_veg = t_air + 0.5 + 5.0 * (1.0 - snap.green) * ins
    t_bare = t_air + (2.0 + 11.0 * ins) * dry
    out = np.select(
        [
            snap.cls == WATER,
            snap.cls == VEGETATION,
            snap.cls == BARE_LAND,
            snap.cls == MINING,
            snap.cls == BUILT_UP,
        ],
        [
            np.full(state.ext.shape, snap.water_temperature),
            t_veg,
            t_bare,
            t_bare + 1.5,
            t_air + 3.0 + 9.0 * ins,
        ],
        default=snap.green * t_veg + (1 - snap.green) * t_bare,
    )
    out = out + 0.4 * (state.brightness - 1.0) / 0.1
    return (out + 273.15).astype(np.float32)


def hidden_surface_reflectance(
    state: LandState, date: dt.date | str, *, extended: bool = False
) -> np.ndarray:
    """The true surface reflectance of the study area on ``date``.

    Free of atmosphere, clouds, terrain illumination and sensor effects: the
    reference an atmospheric correction aims at.

    Parameters
    ----------
    state
        The hidden state (:func:`coexplore.synth.generate_state`).
    date
        The day.
    extended
        Return the extended grid (area plus sensor margin) instead of the study area.

    Returns
    -------
    numpy.ndarray
        (7, rows, cols) float32 on the 10 m grid, bands in
        ``sensors.Landsat8.reflective`` order.
    """
    rho = reflectance(state, surface_snapshot(state, date))
    return rho if extended else state.crop(rho)
