"""Station records -> a (time, band, y, x) cube on the grid.

Read ``raw/meteo/stations.csv``, quality-control it, average each station
over the cube's time steps and interpolate every step and variable onto the
grid by inverse distance weighting (temperature through the lapse rate when
a DEM is given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

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


class MeteoFields:
    """The meteorological cube (time, band, y, x) as an array that computes
    only the window it is sliced with.

    Slicing ``fields[t0:t1, b0:b1, y0:y1, x0:x1]`` interpolates the station
    aggregates of those steps and variables onto those cells (the DEM read
    for that window only), so a cube can be built tile by tile
    (:func:`coexplore.cube.fill_cube_tiles`) without the whole cube in
    memory; the cells get the numbers of the whole-grid interpolation, which
    is per cell.

    Parameters
    ----------
    periods
        Station aggregates per time step (:func:`coexplore.preprocess.meteo.aggregate`).
    grid, time_index
        The cube's grid and time axis.
    dem
        (height, width) elevation with NumPy slicing (array, DataArray), or None.
    power, lapse_rate
        As :func:`coexplore.preprocess.meteo.interpolate_to_grid`.
    """

    dtype = np.dtype("float32")

    def __init__(
        self,
        periods: pd.DataFrame,
        grid: Grid,
        time_index: pd.DatetimeIndex,
        *,
        dem: Any = None,
        power: float = 2.0,
        lapse_rate: float = -0.0065,
    ) -> None:
        self.grid, self.time_index = grid, pd.DatetimeIndex(time_index)
        self.dem, self.power, self.lapse_rate = dem, power, lapse_rate
        self._rows = {t: periods.loc[periods["time"] == t] for t in self.time_index}
        self.shape = (len(self.time_index), len(VARIABLES), grid.height, grid.width)
        self.ndim = 4

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        if (
            not isinstance(key, tuple)
            or len(key) != 4
            or not all(isinstance(k, slice) for k in key)
        ):
            raise TypeError("MeteoFields takes four slices: [time, band, y, x]")
        (t0, t1, ts), (b0, b1, bs), (y0, y1, ys), (x0, x1, xs) = (
            k.indices(n) for k, n in zip(key, self.shape, strict=True)
        )
        if (ts, bs, ys, xs) != (1, 1, 1, 1):
            raise TypeError("MeteoFields takes slices with step 1")
        sub = Grid(
            self.grid.crs,
            self.grid.transform @ Affine.translation(x0, y0),
            max(x1 - x0, 0),
            max(y1 - y0, 0),
        )
        out = np.full((max(t1 - t0, 0), max(b1 - b0, 0), sub.height, sub.width), np.nan, "f4")
        dem = None
        if self.dem is not None and "temperature" in VARIABLES[b0:b1]:
            dem = np.asarray(self.dem[y0:y1, x0:x1], dtype=np.float64)
        for ti, t in enumerate(self.time_index[t0:t1]):
            rows = self._rows[t]
            if rows.empty:
                continue
            for vi, var in enumerate(VARIABLES[b0:b1]):
                out[ti, vi] = interpolate_to_grid(
                    rows,
                    sub,
                    column=var,
                    dem=dem if var == "temperature" else None,
                    power=self.power,
                    lapse_rate=self.lapse_rate,
                )
        return out


def meteo_fields(
    path: str | Path,
    grid: Grid,
    *,
    time_index: pd.DatetimeIndex,
    dem: Any = None,
    min_count: int = 15,
    power: float = 2.0,
    lapse_rate: float = -0.0065,
    spike_threshold: float = 6.0,
) -> tuple[MeteoFields, pd.DataFrame, pd.DataFrame]:
    """Read, quality-control and aggregate a station CSV into :class:`MeteoFields`.

    Parameters are those of :func:`ingest_meteo` (``dem`` may be any array
    with NumPy slicing, e.g. a lazily loaded DataArray).

    Returns
    -------
    fields : MeteoFields
        The cube, computed window by window when sliced.
    clean : pandas.DataFrame
        The quality-controlled daily records.
    report : pandas.DataFrame
        The quality-control counts per station and check.
    """
    time_index = pd.DatetimeIndex(time_index)
    if len(time_index) == 0:
        raise ConfigError("time_index is empty; give the cube's time axis (pandas.date_range)")
    if dem is not None and tuple(np.shape(dem)) != grid.shape:
        raise DataError(
            f"DEM shape {np.shape(dem)} differs from the grid shape {grid.shape}; "
            "resample the DEM onto the grid first"
        )
    offset = _time_offset(time_index)
    clean, report = quality_control(read_stations(path), spike_threshold=spike_threshold)
    periods = aggregate(clean, freq=offset, min_count=min_count, origin=time_index[0])
    fields = MeteoFields(periods, grid, time_index, dem=dem, power=power, lapse_rate=lapse_rate)
    return fields, clean, report


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
    fields, clean, report = meteo_fields(
        path,
        grid,
        time_index=time_index,
        dem=dem,
        min_count=min_count,
        power=power,
        lapse_rate=lapse_rate,
        spike_threshold=spike_threshold,
    )
    cube = fields[:, :, :, :]
    arr = xr.DataArray(
        cube,
        dims=("time", "band", "y", "x"),
        coords={
            "time": fields.time_index,
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
