"""Regional daily weather of the study area and the water budgets it drives.

A continental monsoon climate (cold dry winters, hot wet summers, windy
springs) scaled by latitude: the seasonal cycle of temperature, a Markov
wet-day chain with gamma-distributed amounts peaking in July-August,
cloudiness and humidity tied to wet days, and a day-to-day wind factor.
Two leaky buckets turn precipitation into the state's moisture:

* soil moisture (e-folding 10 days) ``sm = 0.06 + 0.30 S / (S + 30 mm)``;
* the water level of ponds and lake margins (e-folding 45 days)
  ``level = -0.85 + 1.35 S / (S + 100 mm)`` metres, so shallow basins hold
  water in the wet season only and deeper ones most of the year.

The budgets spin up over one year before the study period, so the first
months do not start from an empty bucket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .streams import rng_for

REFERENCE_ELEVATION_M = 500.0
LAPSE_RATE_K_PER_M = -0.0065
SOIL_BUCKET_DAYS = 10.0
LEVEL_BUCKET_DAYS = 45.0


def _bell(doy: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (doy - centre + 182.5) % 365.0 - 182.5
    return np.exp(-((d / width) ** 2))


@dataclass(frozen=True, eq=False)
class Climate:
    """Daily regional weather over the study period.

    Attributes
    ----------
    days
        Daily dates of the study period.
    precipitation
        mm per day.
    temperature
        Daily mean air temperature (degC) at ``reference_elevation``.
    cloudiness
        Cloud cover fraction 0..1.
    humidity
        Daily mean relative humidity (%) at ``reference_elevation``.
    wind
        Daily mean 10 m wind speed (m/s) at a reference exposure.
    soil_moisture
        Regional surface soil moisture (m3 m-3).
    water_level
        Level of ponds and lake margins relative to their spill point (m).
    latitude
        Latitude of the area centre (degrees).
    greenup_shift
        Spring green-up shift by year (days; warm springs are early).
    greenness
        Peak vegetation vigour by year (0.7..1; dry summers are weak).
    """

    days: pd.DatetimeIndex
    precipitation: np.ndarray
    temperature: np.ndarray
    cloudiness: np.ndarray
    humidity: np.ndarray
    wind: np.ndarray
    soil_moisture: np.ndarray
    water_level: np.ndarray
    latitude: float
    greenup_shift: dict[int, float]
    greenness: dict[int, float]
    reference_elevation: float = REFERENCE_ELEVATION_M

    def index(self, date: dt.date) -> int:
        """Position of ``date`` in :attr:`days` (clipped to the period)."""
        i = (pd.Timestamp(date) - self.days[0]).days
        return int(np.clip(i, 0, len(self.days) - 1))

    def monthly_water_level(self, year: int) -> np.ndarray:
        """Mean water level of each month of ``year`` (NaN for months outside the period)."""
        s = pd.Series(self.water_level, index=self.days)
        s = s[s.index.year == year]
        out = np.full(12, np.nan)
        if len(s):
            means = s.groupby(s.index.month).mean()
            out[means.index.to_numpy() - 1] = means.to_numpy()
        return out

    def seasonal_doy(self, date: dt.date) -> float:
        """Day of year shifted by half a year in the southern hemisphere (season phase)."""
        doy = date.timetuple().tm_yday
        return float((doy + 182.5) % 365.0) if self.latitude < 0 else float(doy)


def generate_climate(seed: int, start: dt.date, end: dt.date, *, latitude: float) -> Climate:
    """Simulate the regional daily weather and water budgets.

    Parameters
    ----------
    seed
        Study area seed.
    start, end
        Study period (inclusive).
    latitude
        Latitude of the area (degrees): sets the temperature cycle and the
        season phase (southern hemisphere shifted by half a year).

    Returns
    -------
    Climate
    """
    rng = rng_for(seed, "climate")
    spin = dt.timedelta(days=365)
    days_all = pd.date_range(start - spin, end, freq="D")
    n = len(days_all)
    doy = days_all.day_of_year.to_numpy().astype(float)
    if latitude < 0:
        doy = (doy + 182.5) % 365.0
    alat = abs(latitude)

    # precipitation: Markov wet days, gamma amounts, wetter and heavier in the monsoon
    monsoon = _bell(doy, 205.0, 45.0)
    p_wet = 0.06 + 0.38 * monsoon
    mean_amount = 2.5 + 14.0 * monsoon
    years = days_all.year.to_numpy()
    year_factor = {y: float(np.exp(rng.normal(0.0, 0.25))) for y in np.unique(years)}
    u = rng.random(n)
    amounts = rng.gamma(0.75, 1.0, n)
    wet = np.zeros(n, dtype=bool)
    for i in range(n):
        # persistence: a wet day makes the next one likelier
        p = p_wet[i] + (0.2 if i and wet[i - 1] else 0.0)
        wet[i] = u[i] < min(p, 0.95)
    precip = np.where(wet, amounts * mean_amount / 0.75, 0.0)
    precip *= np.array([year_factor[y] for y in years])

    # temperature: seasonal cycle + AR(1) anomaly, wet days cooler
    t_mean = 27.0 - 0.4 * alat
    t_amp = 3.0 + 0.3 * alat
    clim = t_mean + t_amp * np.cos(2 * np.pi * (doy - 200.0) / 365.25)
    anomaly = np.zeros(n)
    shocks = rng.normal(0.0, 1.8, n)
    for i in range(1, n):
        anomaly[i] = 0.8 * anomaly[i - 1] + shocks[i]
    temperature = clim + anomaly - 1.5 * wet

    cloud = np.where(
        wet,
        0.7 + 0.3 * rng.random(n),
        np.clip(rng.beta(1.5, 4.0, n) + 0.25 * monsoon, 0.0, 1.0),
    )
    humidity = np.clip(
        40.0 + 30.0 * _bell(doy, 215.0, 55.0) + 25.0 * wet - 0.5 * anomaly + rng.normal(0, 6, n),
        8.0,
        100.0,
    )
    wind_log = np.zeros(n)
    wind_shocks = rng.normal(0.0, 0.25, n)
    for i in range(1, n):
        wind_log[i] = 0.6 * wind_log[i - 1] + wind_shocks[i]
    wind = (2.6 + 0.9 * _bell(doy, 100.0, 40.0)) * np.exp(wind_log)

    soil = np.zeros(n)
    level = np.zeros(n)
    ks, kl = np.exp(-1 / SOIL_BUCKET_DAYS), np.exp(-1 / LEVEL_BUCKET_DAYS)
    s_store, l_store = 10.0, 60.0
    for i in range(n):
        s_store = s_store * ks + precip[i]
        l_store = l_store * kl + precip[i]
        soil[i] = 0.06 + 0.30 * s_store / (s_store + 30.0)
        level[i] = -0.85 + 1.35 * l_store / (l_store + 100.0)

    keep = days_all >= pd.Timestamp(start)
    days = days_all[keep]
    greenup: dict[int, float] = {}
    vigour: dict[int, float] = {}
    clim_growing = float(np.sum(p_wet * mean_amount * _bell(doy, 185.0, 50.0)) / (n / 365.25))
    for y in range(start.year, end.year + 1):
        in_year = years == y
        spring = in_year & (doy >= 60) & (doy < 121)
        greenup[y] = float(-3.0 * anomaly[spring].mean()) if spring.any() else 0.0
        growing = float(np.sum(precip[in_year] * _bell(doy[in_year], 185.0, 50.0)))
        vigour[y] = float(np.clip(0.85 + 0.15 * (growing / clim_growing - 1.0), 0.7, 1.0))
    return Climate(
        days=days,
        precipitation=precip[keep],
        temperature=temperature[keep],
        cloudiness=cloud[keep],
        humidity=humidity[keep],
        wind=wind[keep],
        soil_moisture=soil[keep],
        water_level=level[keep],
        latitude=float(latitude),
        greenup_shift=greenup,
        greenness=vigour,
    )
