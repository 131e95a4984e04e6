"""Station records: quality control, temporal aggregation and spatial
interpolation onto the grid.

Quality control, in this order, on a table in the station-CSV format
(:attr:`coexplore.sensors.Meteo.columns`):

1. duplicates: rows repeating a (station_id, time) pair are dropped, the
   first in file order kept;
2. disorder: rows whose time is earlier than a time already seen for the
   same station (in file order) are counted, then every station is sorted;
3. physical range: values outside :attr:`Meteo.valid_range` become NaN;
4. spikes: daily values far from the median of the neighbouring days (a
   centred window, the day itself left out), in units of the robust spread
   (1.4826 x median absolute deviation, MAD) of all the station's residuals,
   become NaN (a Hampel filter with a global scale).

Every finding is counted per station and check in the report.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from pyproj import Transformer

from ..errors import ConfigError, DataError
from ..grid import Grid
from ..sensors import Meteo

#: MAD -> standard deviation of a normal distribution
MAD_TO_SIGMA = 1.4826
#: mean absolute deviation -> standard deviation of a normal distribution (sqrt(pi/2))
MEAN_AD_TO_SIGMA = 1.2533
#: stations closer than this (metres) to a cell centre give that cell their value
COINCIDENT_M = 1e-3

VARIABLES: tuple[str, ...] = tuple(Meteo.variables)


def _require(df: pd.DataFrame, columns: tuple[str, ...] | list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} lacks column(s) {', '.join(missing)}; read it with "
            "coexplore.io.meteo.read_stations (or tmy3_to_daily) first"
        )


def _spike_mask(
    times: pd.Series, values: np.ndarray, *, window: int, threshold: float
) -> np.ndarray:
    """True where a daily value deviates from the median of its neighbours by
    more than ``threshold`` robust standard deviations of all such residuals.

    The median is taken over the other days of a centred ``window``-day
    window (leave-one-out: a value is not its own reference, so the residuals'
    spread estimates the noise instead of shrinking towards 0; pandas'
    rolling median cannot leave the centre out, hence the window view here).
    Missing days stay missing, so a gap narrows the window instead of
    stretching it.
    """
    flags = np.zeros(len(values), dtype=bool)
    ok = np.isfinite(values)
    if ok.sum() < 3:
        return flags
    half = window // 2
    day = ((times - times.min()).dt.days).to_numpy()
    padded = np.full(day.max() + 1 + 2 * half, np.nan)
    padded[day[ok] + half] = values[ok]
    windows = sliding_window_view(padded, window)[day]
    neighbours = np.delete(windows, half, axis=1)
    enough = np.isfinite(neighbours).sum(axis=1) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        reference = np.nanmedian(neighbours, axis=1)
    usable = ok & enough
    if usable.sum() < 3:
        return flags
    resid = values[usable] - reference[usable]
    centred = np.abs(resid - np.median(resid))
    scale = MAD_TO_SIGMA * np.median(centred)
    if scale == 0.0:
        # More than half the residuals are equal (a flat series): fall back on
        # the mean absolute deviation as the Iglewicz-Hoaglin modified z-score does.
        scale = MEAN_AD_TO_SIGMA * centred.mean()
    if scale == 0.0:
        return flags
    flags[usable] = np.abs(resid) > threshold * scale
    return flags


def quality_control(
    df: pd.DataFrame,
    *,
    spike_window: int = 7,
    spike_threshold: float = 6.0,
    valid_range: dict[str, tuple[float, float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean station records and count what was found.

    Parameters
    ----------
    df
        Station records in the station-CSV format, in file order (as
        :func:`coexplore.io.meteo.read_stations` returns them).
    spike_window
        Width (days, odd) of the centred window whose other days give the
        reference median; gaps narrow the window instead of stretching it.
    spike_threshold
        A value is a spike when ``|x - reference median| > spike_threshold *
        1.4826 * MAD`` of the station's residuals.
    valid_range
        Plausible (low, high) per variable, overriding ``sensors.Meteo.valid_range``.

    Returns
    -------
    clean : pandas.DataFrame
        Same columns, duplicates dropped, sorted by station and time (index
        reset), out-of-range values and spikes set to NaN.
    report : pandas.DataFrame
        Indexed by station_id, int columns: ``rows`` (input rows),
        ``duplicate``, ``unsorted``, ``missing_days`` (days absent between
        the station's first and last record), then per variable
        ``missing_<var>`` (NaN in the input), ``out_of_range_<var>`` and
        ``spike_<var>``.

    Raises
    ------
    DataError
        If a column of the station-CSV format is missing.
    ConfigError
        If ``spike_threshold`` is not positive or ``spike_window`` not an odd
        number >= 3.

    Examples
    --------
    >>> clean, report = quality_control(read_stations("raw/meteo/stations.csv"))  # doctest: +SKIP
    >>> report.loc["ST01", "spike_temperature"]  # doctest: +SKIP
    3
    """
    _require(df, Meteo.columns, "station table")
    if not spike_threshold > 0:
        raise ConfigError(f"spike_threshold {spike_threshold!r} must be positive; use e.g. 6")
    if spike_window < 3 or spike_window % 2 == 0:
        raise ConfigError(
            f"spike_window {spike_window!r} must be an odd number of days >= 3; use 7"
        )
    ranges = {**Meteo.valid_range, **(valid_range or {})}
    work = df.loc[:, list(Meteo.columns)].reset_index(drop=True)
    stations = sorted(work["station_id"].unique())
    report = pd.DataFrame(index=pd.Index(stations, name="station_id"))
    report["rows"] = work.groupby("station_id").size()

    duplicate = work.duplicated(subset=["station_id", "time"], keep="first")
    report["duplicate"] = duplicate.groupby(work["station_id"]).sum()
    work = work.loc[~duplicate].reset_index(drop=True)

    seen = work.groupby("station_id")["time"].cummax().groupby(work["station_id"]).shift(1)
    unsorted = work["time"] < seen
    report["unsorted"] = unsorted.groupby(work["station_id"]).sum()
    work = work.sort_values(["station_id", "time"], kind="mergesort").reset_index(drop=True)

    day = work["time"].dt.normalize().groupby(work["station_id"])
    report["missing_days"] = (day.max() - day.min()).dt.days + 1 - day.nunique()

    for var in VARIABLES:
        report[f"missing_{var}"] = work[var].isna().groupby(work["station_id"]).sum()
    for var in VARIABLES:
        lo, hi = ranges[var]
        out = work[var].notna() & ~work[var].between(lo, hi)
        report[f"out_of_range_{var}"] = out.groupby(work["station_id"]).sum()
        work.loc[out, var] = np.nan
    for var in VARIABLES:
        flags = pd.Series(False, index=work.index)
        for _, rows in work.groupby("station_id"):
            flags.loc[rows.index] = _spike_mask(
                rows["time"],
                rows[var].to_numpy(dtype=np.float64),
                window=spike_window,
                threshold=spike_threshold,
            )
        report[f"spike_{var}"] = flags.groupby(work["station_id"]).sum()
        work.loc[flags, var] = np.nan
    return work, report.fillna(0).astype("int64")


def aggregate(
    df: pd.DataFrame,
    *,
    freq: str | pd.DateOffset = "MS",
    min_count: int = 15,
    origin: str | pd.Timestamp = "start_day",
) -> pd.DataFrame:
    """Per-station means over regular periods (daily -> monthly by default).

    Parameters
    ----------
    df
        Station records in the station-CSV format (quality-controlled).
    freq
        Period length, a pandas offset alias; periods are labelled by their
        start (``"MS"``: month starts).
    min_count
        A variable's mean needs at least this many valid records in the
        period, else it is NaN (15 = half a month of daily values).
    origin
        Where fixed-length periods (``"16D"``) start counting, as in
        :class:`pandas.Grouper`; calendar periods (``"MS"``) ignore it.

    Returns
    -------
    pandas.DataFrame
        Columns ``sensors.Meteo.columns``, one row per station and period
        with at least one record, ``time`` the period start; each station's
        lon/lat/elevation are its first valid ones.

    Raises
    ------
    DataError
        If a column of the station-CSV format is missing.
    ConfigError
        If ``min_count`` < 1 or ``freq`` is not a pandas offset.
    """
    _require(df, Meteo.columns, "station table")
    if min_count < 1:
        raise ConfigError(f"min_count {min_count!r} must be at least 1; use e.g. 15 for months")
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as exc:
        raise ConfigError(f"freq {freq!r} is not a pandas offset alias; use e.g. 'MS'") from exc
    fixed_length = isinstance(offset, pd.offsets.Tick | pd.offsets.Day)
    grouper = pd.Grouper(
        key="time",
        freq=offset,
        origin=origin if fixed_length else "start_day",  # calendar periods have no origin
        label="left",
        closed="left",
    )
    grouped = df.groupby(["station_id", grouper])[list(VARIABLES)]
    counts = grouped.count()
    means = grouped.mean().where(counts >= min_count)
    means = means.loc[grouped.size() > 0].reset_index()
    coords = df.groupby("station_id")[["lon", "lat", "elevation"]].first()
    out = means.merge(coords, left_on="station_id", right_index=True, how="left")
    return out.loc[:, list(Meteo.columns)].reset_index(drop=True)


def interpolate_to_grid(
    station_values: pd.DataFrame,
    grid: Grid,
    *,
    column: str = "value",
    dem: np.ndarray | None = None,
    power: float = 2.0,
    lapse_rate: float = -0.0065,
) -> np.ndarray:
    """Inverse-distance-weighted interpolation of station values onto the grid.

    ``z(cell) = sum_i w_i v_i / sum_i w_i`` with ``w_i = d_i^-power``, ``d_i``
    the distance (grid CRS metres) from the cell centre to station ``i``; a
    cell within 1 mm of a station takes its value. Stations outside the grid
    contribute; stations whose value is NaN are skipped.

    With a DEM (temperature), station values are first reduced to sea level
    with the lapse rate, ``v0 = v - lapse_rate * elevation``, interpolated,
    and brought back to the cell's elevation, ``z = z0 + lapse_rate * dem``.

    Parameters
    ----------
    station_values
        One row per station with ``lon``, ``lat`` (WGS84 degrees), the value
        ``column`` and, when ``dem`` is given, ``elevation`` (m).
    grid
        Target grid.
    column
        Column holding the values.
    dem
        (height, width) elevation (m) of the grid cells; NaN cells give NaN.
    power
        IDW exponent (2 = inverse squared distance).
    lapse_rate
        Change of the value with height per metre (-0.0065 degC/m, the ICAO
        standard atmosphere).

    Returns
    -------
    numpy.ndarray
        float64 (height, width); all NaN when no station has a value.

    Raises
    ------
    DataError
        If columns are missing, the DEM's shape differs from the grid's, or a
        station with a value has no elevation while a DEM is given.
    ConfigError
        If ``power`` is not positive.
    """
    # IDW rather than kriging: a study area has a handful of stations, too few
    # to fit a variogram, and neither scipy nor scikit-learn ships kriging; IDW
    # is a few array lines, so it is written out here.
    if not power > 0:
        raise ConfigError(f"IDW power {power!r} must be positive; use 2")
    needed = ["lon", "lat", column] + (["elevation"] if dem is not None else [])
    _require(station_values, needed, "station values")
    if dem is not None and np.shape(dem) != grid.shape:
        raise DataError(
            f"DEM shape {np.shape(dem)} differs from the grid shape {grid.shape}; "
            "resample the DEM onto the grid first"
        )
    rows = station_values.loc[station_values[column].notna()]
    if rows.empty:
        return np.full(grid.shape, np.nan)
    values = rows[column].to_numpy(dtype=np.float64)
    if dem is not None:
        elevation = rows["elevation"].to_numpy(dtype=np.float64)
        if np.isnan(elevation).any():
            names = rows.get("station_id", rows.index).to_numpy()[np.isnan(elevation)]
            raise DataError(
                f"station(s) {', '.join(map(str, names))} have no elevation, needed to reduce "
                f"{column} to sea level; give their elevation or interpolate without a DEM"
            )
        values = values - lapse_rate * elevation
    to_grid = Transformer.from_crs("EPSG:4326", grid.rio_crs.to_wkt(), always_xy=True)
    sx, sy = to_grid.transform(
        rows["lon"].to_numpy(dtype=np.float64), rows["lat"].to_numpy(dtype=np.float64)
    )
    gx = grid.x_coords()[None, :]
    gy = grid.y_coords()[:, None]
    num = np.zeros(grid.shape)
    den = np.zeros(grid.shape)
    hit_sum = np.zeros(grid.shape)
    hit_n = np.zeros(grid.shape)
    for x, y, v in zip(sx, sy, values, strict=True):
        d = np.hypot(gx - x, gy - y)
        hit = d < COINCIDENT_M
        w = np.where(hit, 0.0, np.maximum(d, COINCIDENT_M) ** -power)
        num += w * v
        den += w
        hit_sum += hit * v
        hit_n += hit
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(hit_n > 0, hit_sum / np.maximum(hit_n, 1), num / den)
    if dem is not None:
        out = out + lapse_rate * np.asarray(dem, dtype=np.float64)
    return out
