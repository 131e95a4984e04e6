"""Meteorological station records.

Two formats:

* ``raw/meteo/stations.csv``, the project format: one row per station and day
  with the columns of :attr:`coexplore.sensors.Meteo.columns` (``time`` as
  ``YYYY-MM-DD``; temperature degC, relative humidity %, wind speed m/s,
  solar irradiance as the daily mean global horizontal irradiance W/m2).
* NREL TMY3 hourly files (``723170TYA.CSV``): a metadata line (station id,
  name, state, UTC offset, latitude, longitude, elevation), a header line and
  8760 hour-ending rows in local standard time (``24:00`` closes the day).
  :func:`tmy3_to_daily` turns one into rows of the project format.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError, MetadataError
from ..sensors import Meteo

#: TMY3 column -> project variable
TMY3_COLUMNS: dict[str, str] = {
    "Dry-bulb (C)": "temperature",
    "RHum (%)": "relative_humidity",
    "Wspd (m/s)": "wind_speed",
    "GHI (W/m^2)": "solar_irradiance",
}
TMY3_DATE = "Date (MM/DD/YYYY)"
TMY3_TIME = "Time (HH:MM)"

_NUMERIC = ("lon", "lat", "elevation", *Meteo.variables)


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "file does not exist", "check the path and the raw folder layout")
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            path,
            f"not a readable CSV table ({exc})",
            "check that it is a comma-separated text file",
        ) from exc


def read_stations(path: str | Path) -> pd.DataFrame:
    """Read a station CSV in the project format.

    Parameters
    ----------
    path
        ``raw/meteo/stations.csv``.

    Returns
    -------
    pandas.DataFrame
        Exactly the columns of ``sensors.Meteo.columns`` in that order, in
        file order (duplicates and disorder are left to
        :func:`coexplore.preprocess.meteo.quality_control`): ``station_id``
        str, ``time`` datetime64 (day), the others float64 with non-numeric
        entries as NaN. Extra columns are dropped.

    Raises
    ------
    InputError
        If the file is missing, not a CSV or has no rows; if columns are
        missing (all named); if a time is missing or not ``YYYY-MM-DD`` (the first bad row
        and value named); if a station has no valid lon/lat anywhere or a
        coordinate is out of range.
    """
    path = Path(path)
    raw = _read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
    missing = [c for c in Meteo.columns if c not in raw.columns]
    if missing:
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)} (found {', '.join(map(str, raw.columns))})",
            f"give the header {','.join(Meteo.columns)}",
        )
    if raw.empty:
        raise InputError(path, "has a header but no data rows", "add the station records")
    df = raw.loc[:, list(Meteo.columns)].copy()
    text = df["time"].str.strip()
    times = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = times.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = df["time"].iloc[i]
        what = "missing time" if pd.isna(value) else f"unparseable time {value!r}"
        raise InputError(
            path,
            f"{what} in data row {i + 1} (line {i + 2}); {int(bad.sum())} bad time value(s) in all",
            "write every time as YYYY-MM-DD",
        )
    df["time"] = times
    station = df["station_id"].str.strip()
    if station.isna().any() or (station == "").any():
        i = int(np.flatnonzero((station.isna() | (station == "")).to_numpy())[0])
        raise InputError(
            path, f"data row {i + 1} (line {i + 2}) has no station_id", "fill in station_id"
        )
    df["station_id"] = station.astype(str)
    for col in _NUMERIC:
        df[col] = pd.to_numeric(df[col].str.strip(), errors="coerce").astype("float64")
    lon_ok = df["lon"].between(-180.0, 180.0) | df["lon"].isna()
    lat_ok = df["lat"].between(-90.0, 90.0) | df["lat"].isna()
    if not (lon_ok & lat_ok).all():
        i = int(np.flatnonzero(~(lon_ok & lat_ok).to_numpy())[0])
        raise InputError(
            path,
            f"lon/lat ({df['lon'].iloc[i]}, {df['lat'].iloc[i]}) out of range in data row {i + 1}",
            "give lon in -180..180 and lat in -90..90 degrees (WGS84)",
        )
    located = df.dropna(subset=["lon", "lat"])["station_id"].unique()
    unlocated = sorted(set(df["station_id"]) - set(located))
    if unlocated:
        raise InputError(
            path,
            f"station(s) {', '.join(unlocated)} have no valid lon/lat in any row",
            "give each station's WGS84 lon and lat",
        )
    return df


def _tmy3_meta(path: Path) -> dict:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        first = next(csv.reader(fh), [])
    if len(first) < 7:
        raise MetadataError(
            path,
            f"first line has {len(first)} field(s), expected 7 (id, name, state, UTC offset, "
            "lat, lon, elevation)",
            "is this an NREL TMY3 file?",
        )
    try:
        return {
            "station_id": first[0].strip(),
            "name": first[1].strip(),
            "state": first[2].strip(),
            "utc_offset": float(first[3]),
            "lat": float(first[4]),
            "lon": float(first[5]),
            "elevation": float(first[6]),
        }
    except ValueError as exc:
        raise MetadataError(
            path,
            f"first line {','.join(first)!r} has a non-numeric UTC offset, lat, lon or elevation",
            "is this an NREL TMY3 file?",
        ) from exc


def read_tmy3(path: str | Path, *, coerce_year: int | None = None) -> tuple[dict, pd.DataFrame]:
    """Read an NREL TMY3 hourly file.

    Parameters
    ----------
    path
        A TMY3 CSV (``723170TYA.CSV``).
    coerce_year
        Put every row in this year (a typical year stitches months of
        different years); the closing ``12/31 24:00`` row then falls on
        1 January of the next year, as hour-ending data should. None keeps
        the years of the file.

    Returns
    -------
    meta : dict
        station_id, name, state, lat, lon, elevation (m), utc_offset (hours).
    hourly : pandas.DataFrame
        Columns temperature, relative_humidity, wind_speed, solar_irradiance
        (float64, non-numeric as NaN), indexed by the hour-ending time,
        tz-aware in the station's standard time (fixed UTC offset), named
        ``time``; ``24:00`` is midnight of the next day.

    Raises
    ------
    MetadataError
        If the first line is not TMY3 station metadata.
    InputError
        If the file is missing, a needed column is missing (named), or a
        date/time cannot be parsed (first bad row named).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file does not exist", "check the path")
    meta = _tmy3_meta(path)
    needed = [TMY3_DATE, TMY3_TIME, *TMY3_COLUMNS]
    table = _read_csv(path, skiprows=1, dtype=str)
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(
            path,
            f"missing TMY3 column(s) {', '.join(missing)}",
            "is this an NREL TMY3 file (second line the header)?",
        )
    dates = pd.to_datetime(table[TMY3_DATE].str.strip(), format="%m/%d/%Y", errors="coerce")
    clock = table[TMY3_TIME].str.strip().str.extract(r"^(\d{1,2}):(\d{2})$").astype(float)
    hours = clock[0] + clock[1] / 60.0
    bad = dates.isna() | hours.isna() | ~hours.between(0.0, 24.0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            f"unparseable date/time {table[TMY3_DATE].iloc[i]!r} {table[TMY3_TIME].iloc[i]!r} "
            f"in data row {i + 1} (line {i + 3})",
            "dates must be MM/DD/YYYY and times HH:MM",
        )
    if coerce_year is not None:
        # Feb 29 of a leap source year has no place in a common year.
        try:
            dates = pd.to_datetime(
                {"year": coerce_year, "month": dates.dt.month, "day": dates.dt.day}
            )
        except ValueError as exc:
            raise ConfigError(
                f"TMY3 coerce_year={coerce_year} cannot hold every date of {path} ({exc}); "
                "choose a leap year"
            ) from exc
    stamps = dates + pd.to_timedelta(hours, unit="h")
    tz = dt.timezone(dt.timedelta(hours=meta["utc_offset"]))
    index = pd.DatetimeIndex(stamps, name="time").tz_localize(tz)
    hourly = pd.DataFrame(
        {
            var: pd.to_numeric(table[col].str.strip(), errors="coerce").to_numpy(dtype="float64")
            for col, var in TMY3_COLUMNS.items()
        },
        index=index,
    )
    return meta, hourly


def tmy3_to_daily(meta: dict, hourly: pd.DataFrame, *, min_hours: int = 18) -> pd.DataFrame:
    """Daily means of TMY3 hourly data as rows of the station-CSV format.

    A day is the 24 hour-ending records from ``01:00`` to ``24:00`` local
    standard time. Solar irradiance is the mean over all 24 hours (nights
    included), i.e. the daily mean GHI of the project format.

    Parameters
    ----------
    meta, hourly
        As returned by :func:`read_tmy3`.
    min_hours
        A variable's daily mean needs at least this many valid hours, else NaN.

    Returns
    -------
    pandas.DataFrame
        Columns ``sensors.Meteo.columns``, one row per day in time order,
        ``time`` a naive local date.

    Raises
    ------
    ConfigError
        If ``min_hours`` is not in 1..24.
    """
    if not 1 <= min_hours <= 24:
        raise ConfigError(f"min_hours {min_hours!r} must be within 1..24; use e.g. 18")
    index = pd.DatetimeIndex(hourly.index)
    local = index.tz_localize(None) if index.tz is not None else index
    # Hour-ending stamps: the record stamped 24:00 (next day 00:00) closes the day.
    day = (local - pd.Timedelta(hours=1)).normalize()
    values = hourly[list(Meteo.variables)].set_axis(day, axis=0)
    grouped = values.groupby(level=0, sort=True)
    daily = grouped.mean().where(grouped.count() >= min_hours)
    daily.index.name = "time"
    out = daily.reset_index()
    out.insert(0, "station_id", str(meta["station_id"]))
    out.insert(1, "lon", float(meta["lon"]))
    out.insert(2, "lat", float(meta["lat"]))
    out.insert(3, "elevation", float(meta["elevation"]))
    return out.loc[:, list(Meteo.columns)]
