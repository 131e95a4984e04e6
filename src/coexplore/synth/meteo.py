"""Meteorological station records with the defects real ones have.

Stations: about half inside the study area (away from water), the others
1-6 km outside it; elevation from the terrain surface; a wind exposure
growing with elevation. Daily values from the regional weather
(:mod:`coexplore.synth.climate`):

* temperature: regional + lapse rate ``-6.5 K/km`` x (elevation - 500 m) +
  a station bias + weather noise;
* relative humidity: regional, lower where warmer, + noise, 5..100 %;
* wind speed: regional x exposure x lognormal gusts;
* solar irradiance (daily mean GHI): Angstrom-Prescott
  ``H0 (0.25 + 0.5 (1 - cloudiness))`` with ``H0`` the daily mean
  extraterrestrial irradiance at the station latitude.

Defects to exercise quality control: missing rows in runs of 1-10 days and
NaN cells (``gap_fraction`` of the rows and of the cells, half each),
spikes ``999`` and ``-80`` (``outlier_fraction`` of the cells, at least one),
a few exact duplicate rows and one block of rows out of time order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from .. import layout
from ..io.atomic import atomic_path
from ..sensors import Meteo
from .solar import daily_extraterrestrial_irradiance
from .state import LandState
from .streams import rng_for

SPIKES = (999.0, -80.0)
VARIABLES = tuple(Meteo.variables)


@dataclass(frozen=True)
class Station:
    """A station's id, position (area CRS and WGS 84), elevation and wind exposure."""

    station_id: str
    x: float
    y: float
    lon: float
    lat: float
    elevation: float
    exposure: float


def station_layout(state: LandState) -> list[Station]:
    """Place the stations: about half inside the area (off water), the rest 1-6 km outside.

    Parameters
    ----------
    state
        The hidden state (seed, area, terrain, ``synth.meteo.n_stations``).

    Returns
    -------
    list of Station
        Ids ``ST01``, ``ST02``...
    """
    rng = rng_for(state.seed, "meteo", "layout")
    n = state.settings.meteo.n_stations
    inside = max(1, math.ceil(n / 2))
    left, bottom, right, top = state.grid.bounds
    cx, cy = (left + right) / 2, (bottom + top) / 2
    half = max(right - left, top - bottom) / 2
    inv = ~state.ext.transform
    to_ll = Transformer.from_crs(state.grid.crs, "EPSG:4326", always_xy=True)
    stations: list[Station] = []
    while len(stations) < n:
        if len(stations) < inside:
            x = left + (right - left) * float(rng.uniform(0.1, 0.9))
            y = bottom + (top - bottom) * float(rng.uniform(0.1, 0.9))
            col, row = inv @ (x, y)
            if state.water_potential[int(row), int(col)] > -1.0 or state.river[int(row), int(col)]:
                continue
        else:
            angle = float(rng.uniform(0, 2 * np.pi))
            dist = half + float(rng.uniform(1000.0, 6000.0))
            x, y = cx + dist * math.cos(angle), cy + dist * math.sin(angle)
        elevation = float(state.scenery.elevation(x, y))
        exposure = float(np.clip(1.0 + (elevation - 520.0) / 200.0 + rng.normal(0, 0.1), 0.6, 1.6))
        lon, lat = to_ll.transform(x, y)
        stations.append(
            Station(
                station_id=f"ST{len(stations) + 1:02d}",
                x=x,
                y=y,
                lon=float(lon),
                lat=float(lat),
                elevation=round(elevation, 1),
                exposure=exposure,
            )
        )
    return stations


def station_records(state: LandState) -> pd.DataFrame:
    """Clean daily records of every station.

    Parameters
    ----------
    state
        The hidden state (its climate drives the records).

    Returns
    -------
    pandas.DataFrame
        Columns ``sensors.Meteo.columns``, sorted by station and day, no gaps.
    """
    climate = state.climate
    days = climate.days
    doy = days.day_of_year.to_numpy()
    frames = []
    for st in station_layout(state):
        rng = rng_for(state.seed, "meteo", "records", st.station_id)
        n = len(days)
        dz = st.elevation - climate.reference_elevation
        temperature = (
            climate.temperature - 0.0065 * dz + rng.normal(0.0, 0.5) + rng.normal(0.0, 0.8, n)
        )
        humidity = np.clip(
            climate.humidity - 2.0 * (temperature - climate.temperature) + rng.normal(0, 4, n),
            5.0,
            100.0,
        )
        wind = np.maximum(climate.wind * st.exposure * np.exp(rng.normal(0.0, 0.15, n)), 0.1)
        h0 = daily_extraterrestrial_irradiance(st.lat, doy)
        solar = np.maximum(
            h0 * (0.25 + 0.5 * (1.0 - climate.cloudiness)) * (1.0 + rng.normal(0.0, 0.03, n)), 0.0
        )
        frames.append(
            pd.DataFrame(
                {
                    "station_id": st.station_id,
                    "lon": round(st.lon, 5),
                    "lat": round(st.lat, 5),
                    "elevation": st.elevation,
                    "time": days.strftime("%Y-%m-%d"),
                    "temperature": np.round(temperature, 1),
                    "relative_humidity": np.round(humidity, 1),
                    "wind_speed": np.round(wind, 1),
                    "solar_irradiance": np.round(solar, 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(Meteo.columns)]


def inject_defects(
    records: pd.DataFrame,
    rng: np.random.Generator,
    *,
    gap_fraction: float,
    outlier_fraction: float,
) -> pd.DataFrame:
    """Add missing rows, NaN cells, spikes, duplicate rows and one out-of-order block.

    Parameters
    ----------
    records
        Clean records sorted by station and time.
    rng
        Random source.
    gap_fraction
        Share of rows dropped (in runs) plus share of cells set to NaN, half each.
    outlier_fraction
        Share of variable cells replaced by a spike (999 or -80); at least one
        when positive.

    Returns
    -------
    pandas.DataFrame
        The defective table (new index).
    """
    df = records.copy()
    n = len(df)
    n_drop = int(round(n * gap_fraction / 2))
    drop = np.zeros(n, dtype=bool)
    while drop.sum() < n_drop:
        start = int(rng.integers(0, n))
        drop[start : start + int(rng.integers(1, 11))] = True
    df = df.loc[~drop].reset_index(drop=True)

    values = df[list(VARIABLES)].to_numpy(dtype=float, copy=True)
    n_cells = values.size
    n_nan = int(round(n_cells * gap_fraction / 2))
    if n_nan:
        values.flat[rng.choice(n_cells, n_nan, replace=False)] = np.nan
    n_spikes = max(1, int(round(n_cells * outlier_fraction))) if outlier_fraction > 0 else 0
    if n_spikes:
        cells = rng.choice(n_cells, n_spikes, replace=False)
        values.flat[cells] = rng.choice(SPIKES, n_spikes)
    df[list(VARIABLES)] = values

    # a few exact duplicates, each right after its original
    n_dup = min(len(df), 3 + int(rng.integers(0, 4)))
    dup_rows = np.sort(rng.choice(len(df), n_dup, replace=False))
    order = np.concatenate([np.arange(len(df)), dup_rows])
    order = order[
        np.argsort(np.concatenate([np.arange(len(df)) * 2, dup_rows * 2 + 1]), kind="stable")
    ]
    df = df.iloc[order].reset_index(drop=True)

    # one block of rows of a station moved after the block that followed it
    station = df["station_id"].iloc[int(rng.integers(0, len(df)))]
    idx = np.flatnonzero(df["station_id"].to_numpy() == station)
    size = int(min(rng.integers(5, 16), max(len(idx) // 3, 1)))
    if len(idx) >= 2 * size + 1:
        a = int(rng.integers(0, len(idx) - 2 * size))
        first, second = idx[a : a + size], idx[a + size : a + 2 * size]
        order = np.arange(len(df))
        order[np.concatenate([first, second])] = np.concatenate([second, first])
        df = df.iloc[order].reset_index(drop=True)
    return df


def write_stations(state: LandState, raw_dir: Path | str) -> Path:
    """Write ``meteo/stations.csv`` (defective daily records) atomically.

    Parameters
    ----------
    state
        The hidden state.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    cfg = state.settings.meteo
    df = inject_defects(
        station_records(state),
        rng_for(state.seed, "meteo", "defects"),
        gap_fraction=cfg.gap_fraction,
        outlier_fraction=cfg.outlier_fraction,
    )
    path = layout.meteo_path(raw_dir)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, na_rep="")
    return path
