"""Station records -> a (time, band, y, x) cube on the grid.

Read ``raw/meteo/stations.csv``, quality-control it, average each station
over the cube's time steps and interpolate every step and variable onto the
grid by inverse distance weighting (temperature through the lapse rate when
a DEM is given).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ..errors import ConfigError, DataError
from ..grid import Grid
from ..io.meteo import read_stations
from ..preprocess.meteo import VARIABLES, aggregate, interpolate_to_grid, quality_control
from ..sensors import Meteo

SOURCE = "meteo"


def _time_offset(time_index: pd.DatetimeIndex) -> pd.DateOffset:
    """The regular step of the cube's time axis."""
    if time_index.freq is not None:
        return time_index.freq
    inferred = pd.infer_freq(time_index) if len(time_index) >= 3 else None
    if inferred is None:
        raise ConfigError(
            f"time_index {list(time_index[:3].astype(str))}... has no regular frequency; "
            "build it with pandas.date_range(start, end, freq='MS')"
        )
    return pd.tseries.frequencies.to_offset(inferred)


def ingest_meteo(
    path: str | Path,
    grid: Grid,
    *,
    time_index: pd.DatetimeIndex,
    dem: np.ndarray | None = None,
    min_count: int = 15,
    power: float = 2.0,
    lapse_rate: float = -0.0065,
    spike_threshold: float = 6.0,
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Build the meteorological cube from a station CSV.

    Parameters
    ----------
    path
        ``raw/meteo/stations.csv`` (format: ``sensors.Meteo.columns``).
    grid
        The common grid.
    time_index
        The cube's regular time axis (month starts by default); step ``i``
        covers ``[time_index[i], time_index[i] + freq)``.
    dem
        (height, width) elevation of the grid cells (m); when given,
        temperature is interpolated at sea level and brought to the DEM
        elevation with ``lapse_rate``.
    min_count
        Minimum number of valid daily records of a station in a step.
    power
        IDW exponent.
    lapse_rate
        Temperature change per metre of height (degC/m).
    spike_threshold
        Spike threshold of quality control (robust standard deviations).

    Returns
    -------
    cube : xarray.DataArray
        float32 (time, band, y, x) with bands ``sensors.Meteo.variables``
        (units in attrs ``units``), grid coordinates and CRS; a step with no
        station value for a variable is NaN.
    report : pandas.DataFrame
        The quality-control counts per station and check
        (:func:`coexplore.preprocess.meteo.quality_control`).

    Raises
    ------
    InputError
        If the CSV is missing or malformed (see ``read_stations``).
    ConfigError
        If ``time_index`` is empty or has no regular frequency.
    DataError
        If the DEM does not match the grid.
    """
    time_index = pd.DatetimeIndex(time_index)
    if len(time_index) == 0:
        raise ConfigError("time_index is empty; give the cube's time axis (pandas.date_range)")
    if dem is not None and np.shape(dem) != grid.shape:
        raise DataError(
            f"DEM shape {np.shape(dem)} differs from the grid shape {grid.shape}; "
            "resample the DEM onto the grid first"
        )
    offset = _time_offset(time_index)
    clean, report = quality_control(read_stations(path), spike_threshold=spike_threshold)
    periods = aggregate(clean, freq=offset, min_count=min_count, origin=time_index[0])
    cube = np.full((len(time_index), len(VARIABLES), *grid.shape), np.nan, dtype=np.float32)
    for ti, t in enumerate(time_index):
        rows = periods.loc[periods["time"] == t]
        if rows.empty:
            continue
        for vi, var in enumerate(VARIABLES):
            cube[ti, vi] = interpolate_to_grid(
                rows,
                grid,
                column=var,
                dem=dem if var == "temperature" else None,
                power=power,
                lapse_rate=lapse_rate,
            )
    arr = xr.DataArray(
        cube,
        dims=("time", "band", "y", "x"),
        coords={
            "time": time_index,
            "band": list(VARIABLES),
            "y": grid.y_coords(),
            "x": grid.x_coords(),
        },
        attrs={
            "source": SOURCE,
            "units": [Meteo.variables[v] for v in VARIABLES],
            "stations": sorted(map(str, clean["station_id"].unique())),
            "interpolation": f"idw power={power}"
            + (f", temperature lapse rate {lapse_rate} degC/m" if dem is not None else ""),
        },
    ).rio.write_crs(grid.crs)
    return arr, report
