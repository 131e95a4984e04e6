"""Station quality control, temporal aggregation and IDW interpolation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from coexplore.errors import ConfigError, DataError
from coexplore.grid import Grid
from coexplore.preprocess.meteo import aggregate, interpolate_to_grid, quality_control
from coexplore.sensors import Meteo

CRS = "EPSG:32650"
GRID = Grid.from_bounds(CRS, (500000.0, 4400000.0, 500100.0, 4400100.0), 10.0)  # 10 x 10
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def station_series(station: str, days: int, *, seed: int) -> pd.DataFrame:
    """A smooth daily record with small seeded noise, in file format."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    return pd.DataFrame(
        {
            "station_id": station,
            "lon": 117.0,
            "lat": 39.7,
            "elevation": 50.0,
            "time": pd.date_range("2023-01-01", periods=days, freq="D"),
            "temperature": 10 + 5 * np.sin(t / 9) + rng.normal(0, 0.5, days),
            "relative_humidity": 60 + 10 * np.cos(t / 7) + rng.normal(0, 1.0, days),
            "wind_speed": 3 + np.sin(t / 5) + rng.normal(0, 0.2, days),
            "solar_irradiance": 150 + 30 * np.sin(t / 11) + rng.normal(0, 5.0, days),
        }
    )


# --- quality control -------------------------------------------------------------------


@pytest.fixture
def dirty() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two stations with known injected problems, plus the clean reference."""
    a = station_series("A", 60, seed=1)
    b = station_series("B", 60, seed=2)
    reference = pd.concat([a, b], ignore_index=True)
    a = a.copy()
    b = b.copy()
    a.loc[10, "temperature"] = 999.0  # out of range
    a.loc[40, "wind_speed"] = -80.0  # out of range
    a.loc[25, "temperature"] += 20.0  # spike, in range
    a.loc[30, "solar_irradiance"] += 400.0  # spike, in range
    a.loc[5, "relative_humidity"] = np.nan  # gap in a value
    b.loc[50, "relative_humidity"] = 150.0  # out of range
    b.loc[45, "relative_humidity"] -= 45.0  # spike, in range
    b = b.drop(index=[12, 13, 14])  # missing rows
    # A: a block of five days out of time order, and two duplicated rows
    a = pd.concat([a.iloc[:20], a.iloc[25:], a.iloc[20:25]], ignore_index=True)
    dup = a.iloc[[3, 7]].assign(temperature=-5.0)  # later copies, different values
    df = pd.concat([a, b.iloc[:30], dup, b.iloc[30:]], ignore_index=True)
    return df, reference


def test_qc_counts_exactly_what_was_injected(dirty):
    df, _ = dirty
    clean, report = quality_control(df)
    assert report.index.tolist() == ["A", "B"]
    expected = {
        "A": {
            "rows": 62,
            "duplicate": 2,
            "unsorted": 5,
            "missing_days": 0,
            "missing_relative_humidity": 1,
            "out_of_range_temperature": 1,
            "out_of_range_wind_speed": 1,
            "spike_temperature": 1,
            "spike_solar_irradiance": 1,
        },
        "B": {
            "rows": 57,
            "missing_days": 3,
            "out_of_range_relative_humidity": 1,
            "spike_relative_humidity": 1,
        },
    }
    for station, counts in expected.items():
        for column in report.columns:
            assert report.loc[station, column] == counts.get(column, 0), (station, column)


def test_qc_cleans_sorts_and_keeps_first_duplicate(dirty):
    df, reference = dirty
    clean, _ = quality_control(df)
    assert list(clean.columns) == list(Meteo.columns)
    assert len(clean) == 60 + 57
    assert clean.index.equals(pd.RangeIndex(len(clean)))
    for _, rows in clean.groupby("station_id"):
        assert rows["time"].is_monotonic_increasing and rows["time"].is_unique
    ref = reference.set_index(["station_id", "time"])
    got = clean.set_index(["station_id", "time"])
    flagged = {
        ("A", 10, "temperature"),
        ("A", 40, "wind_speed"),
        ("A", 25, "temperature"),
        ("A", 30, "solar_irradiance"),
        ("A", 5, "relative_humidity"),
        ("B", 50, "relative_humidity"),
        ("B", 45, "relative_humidity"),
    }
    day0 = pd.Timestamp("2023-01-01")
    for (station, time), row in got.iterrows():
        day = (time - day0).days
        for var in Meteo.variables:
            if (station, day, var) in flagged:
                assert np.isnan(row[var]), (station, day, var)
            else:  # untouched, and the kept duplicate is the first one
                assert row[var] == pytest.approx(ref.loc[(station, time), var]), (station, day)


def test_qc_flat_series_has_no_spikes_but_catches_a_jump():
    df = station_series("A", 30, seed=0)
    df["wind_speed"] = 2.0  # MAD 0: falls back on the mean absolute deviation
    clean, report = quality_control(df)
    assert report.loc["A", "spike_wind_speed"] == 0
    df.loc[15, "wind_speed"] = 9.0
    clean, report = quality_control(df)
    assert report.loc["A", "spike_wind_speed"] == 1
    assert np.isnan(clean.loc[15, "wind_speed"])


def test_qc_errors():
    with pytest.raises(DataError, match="lacks column.s. solar_irradiance"):
        quality_control(station_series("A", 5, seed=0).drop(columns="solar_irradiance"))
    with pytest.raises(ConfigError, match="spike_threshold 0 must be positive"):
        quality_control(station_series("A", 5, seed=0), spike_threshold=0)
    with pytest.raises(ConfigError, match="spike_window 6 must be an odd number"):
        quality_control(station_series("A", 5, seed=0), spike_window=6)


def test_qc_valid_range_override():
    df = station_series("A", 20, seed=0)
    _, report = quality_control(df, valid_range={"temperature": (12.0, 60.0)})
    assert report.loc["A", "out_of_range_temperature"] == (df["temperature"] < 12.0).sum() > 0
    assert report.loc["A", "out_of_range_wind_speed"] == 0  # defaults kept for the others


# --- aggregation -----------------------------------------------------------------------


def test_aggregate_daily_to_monthly_means():
    days = pd.date_range("2023-01-01", "2023-03-31", freq="D")
    df = pd.DataFrame(
        {
            "station_id": "A",
            "lon": [np.nan] + [117.0] * (len(days) - 1),  # first valid coordinate is used
            "lat": 39.7,
            "elevation": 50.0,
            "time": days,
            "temperature": days.day.astype(float),  # mean of 1..n per month
            "relative_humidity": 50.0,
            "wind_speed": days.month.astype(float),
            "solar_irradiance": 100.0,
        }
    )
    feb_gap = (days.month == 2) & (days.day > 10)
    df.loc[feb_gap, "relative_humidity"] = np.nan  # February keeps 10 valid days
    out = aggregate(df, freq="MS", min_count=15)
    assert list(out.columns) == list(Meteo.columns)
    assert out["time"].tolist() == list(pd.date_range("2023-01-01", periods=3, freq="MS"))
    np.testing.assert_allclose(out["temperature"], [16.0, 14.5, 16.0])
    np.testing.assert_allclose(out["wind_speed"], [1.0, 2.0, 3.0])
    assert out["relative_humidity"].isna().tolist() == [False, True, False]
    assert (out["lon"] == 117.0).all()
    assert aggregate(df, freq="MS", min_count=10)["relative_humidity"].notna().all()


def test_aggregate_fixed_length_periods_from_an_origin():
    days = pd.date_range("2023-01-01", periods=20, freq="D")
    df = station_series("A", 20, seed=0).assign(temperature=np.arange(20.0), time=days)
    out = aggregate(df, freq="10D", min_count=6, origin=pd.Timestamp("2022-12-27"))
    # periods start 12-27 (days 0..4), 01-06 (5..14), 01-16 (15..19)
    assert out["time"].tolist() == [
        pd.Timestamp("2022-12-27"),
        pd.Timestamp("2023-01-06"),
        pd.Timestamp("2023-01-16"),
    ]
    np.testing.assert_allclose(out["temperature"], [np.nan, 9.5, np.nan])


def test_aggregate_errors():
    df = station_series("A", 5, seed=0)
    with pytest.raises(ConfigError, match="min_count 0 must be at least 1"):
        aggregate(df, min_count=0)
    with pytest.raises(ConfigError, match="freq 'monthly' is not a pandas offset"):
        aggregate(df, freq="monthly")
    with pytest.raises(DataError, match="lacks column.s. time"):
        aggregate(df.drop(columns="time"))


# --- interpolation ---------------------------------------------------------------------


def stations_at(xy: list[tuple[float, float]], values: list[float], elevations=None):
    lon, lat = TO_LONLAT.transform([p[0] for p in xy], [p[1] for p in xy])
    return pd.DataFrame(
        {
            "station_id": [f"S{i}" for i in range(len(xy))],
            "lon": lon,
            "lat": lat,
            "elevation": elevations if elevations is not None else [0.0] * len(xy),
            "value": values,
        }
    )


def cell_centre(row: int, col: int) -> tuple[float, float]:
    return float(GRID.x_coords()[col]), float(GRID.y_coords()[row])


def test_idw_returns_the_station_value_at_its_location():
    st = stations_at([cell_centre(2, 3), cell_centre(7, 8)], [4.0, 10.0])
    out = interpolate_to_grid(st, GRID)
    assert out.shape == GRID.shape
    assert out[2, 3] == pytest.approx(4.0, abs=1e-9)
    assert out[7, 8] == pytest.approx(10.0, abs=1e-9)
    assert 4.0 < out[5, 5] < 10.0


def test_idw_between_two_stations_is_the_distance_weighted_mean():
    # stations on row 4 at columns 0 and 9; cell (4, 3) is 30 m and 60 m away
    st = stations_at([cell_centre(4, 0), cell_centre(4, 9)], [0.0, 9.0])
    out = interpolate_to_grid(st, GRID, power=2.0)
    w1, w2 = 1 / 30.0**2, 1 / 60.0**2
    assert out[4, 3] == pytest.approx(9.0 * w2 / (w1 + w2), abs=1e-6)
    out1 = interpolate_to_grid(st, GRID, power=1.0)
    assert out1[4, 3] == pytest.approx(9.0 * (1 / 60) / (1 / 30 + 1 / 60), abs=1e-6)


def test_idw_station_outside_grid_contributes_and_nan_station_is_skipped():
    inside = cell_centre(4, 0)
    outside = (GRID.bounds[2] + 500.0, inside[1])  # 500 m east of the grid
    st = stations_at([inside, outside], [0.0, 10.0])
    out = interpolate_to_grid(st, GRID)
    x, y = cell_centre(4, 5)
    d1, d2 = abs(x - inside[0]), abs(outside[0] - x)
    expected = 10.0 * d2**-2 / (d1**-2 + d2**-2)
    assert out[4, 5] == pytest.approx(expected, rel=1e-6)
    st_nan = stations_at([inside, outside, cell_centre(9, 9)], [0.0, 10.0, np.nan])
    np.testing.assert_allclose(interpolate_to_grid(st_nan, GRID), out)


def test_idw_without_any_value_is_nan():
    st = stations_at([cell_centre(0, 0)], [np.nan])
    assert np.isnan(interpolate_to_grid(st, GRID)).all()


def test_lapse_rate_on_a_known_dem():
    # Two stations consistent with -6.5 K/km: both reduce to 15 degC at sea level,
    # so every cell is 15 degC + lapse * its DEM elevation.
    st = stations_at(
        [cell_centre(0, 0), cell_centre(9, 9)], [15.0 - 6.5, 15.0 - 1.3], elevations=[1000, 200]
    )
    dem = np.linspace(0.0, 2000.0, GRID.width * GRID.height).reshape(GRID.shape)
    dem[3, 3] = np.nan
    out = interpolate_to_grid(st, GRID, dem=dem, lapse_rate=-0.0065)
    expected = 15.0 - 0.0065 * dem
    np.testing.assert_allclose(out, expected, atol=1e-9)
    assert np.isnan(out[3, 3])
    # at a station's own cell and elevation its observation comes back
    dem2 = np.zeros(GRID.shape)
    dem2[0, 0] = 1000.0
    assert interpolate_to_grid(st, GRID, dem=dem2)[0, 0] == pytest.approx(8.5)


def test_interpolation_errors():
    st = stations_at([cell_centre(0, 0)], [1.0])
    with pytest.raises(
        DataError, match=r"DEM shape \(3, 3\) differs from the grid shape \(10, 10\)"
    ):
        interpolate_to_grid(st, GRID, dem=np.zeros((3, 3)))
    with pytest.raises(DataError, match="station.s. S0 have no elevation"):
        interpolate_to_grid(st.assign(elevation=np.nan), GRID, dem=np.zeros(GRID.shape))
    with pytest.raises(ConfigError, match="IDW power 0 must be positive"):
        interpolate_to_grid(st, GRID, power=0)
    with pytest.raises(DataError, match="lacks column.s. temperature"):
        interpolate_to_grid(st, GRID, column="temperature")
