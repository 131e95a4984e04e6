"""Station CSV and NREL TMY3 readers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coexplore.errors import ConfigError, InputError, MetadataError
from coexplore.io.meteo import read_stations, read_tmy3, tmy3_to_daily
from coexplore.preprocess.meteo import aggregate, quality_control
from coexplore.sensors import Meteo

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
TMY3 = REALDATA / "meteo" / "723170TYA.CSV"

HEADER = ",".join(Meteo.columns)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# --- stations.csv ----------------------------------------------------------------------


def test_read_stations_types_order_and_coercion(tmp_path):
    path = write_csv(
        tmp_path / "stations.csv",
        [
            "note," + HEADER,  # an extra column first: dropped, order restored
            "x,ST01,117.1,39.9,120,2023-01-02,1.5,60,3.2,110.0",
            "x,ST01,117.1,39.9,120,2023-01-01,n/a,61,,111.0",
            "x, ST02 ,117.3,40.0,95.5,2023-01-01,2.0,55,2.0,999",
        ],
    )
    df = read_stations(path)
    assert list(df.columns) == list(Meteo.columns)
    assert len(df) == 3
    assert df["station_id"].tolist() == ["ST01", "ST01", "ST02"]  # file order kept
    assert df["time"].tolist() == [pd.Timestamp("2023-01-02"), pd.Timestamp("2023-01-01")] + [
        pd.Timestamp("2023-01-01")
    ]
    assert np.isnan(df.loc[1, "temperature"]) and np.isnan(df.loc[1, "wind_speed"])
    assert df.loc[2, "solar_irradiance"] == 999.0  # out of range is QC's business
    for col in ("lon", "lat", "elevation", *Meteo.variables):
        assert df[col].dtype == np.float64


def test_read_stations_missing_columns_are_named(tmp_path):
    cols = [c for c in Meteo.columns if c not in ("wind_speed", "solar_irradiance")]
    path = write_csv(tmp_path / "stations.csv", [",".join(cols), "ST01,1,2,3,2023-01-01,1,2"])
    with pytest.raises(InputError, match=r"missing column\(s\) wind_speed, solar_irradiance"):
        read_stations(path)


def test_read_stations_unparseable_time_names_first_bad_row(tmp_path):
    path = write_csv(
        tmp_path / "stations.csv",
        [
            HEADER,
            "ST01,117.1,39.9,120,2023-01-01,1,50,2,100",
            "ST01,117.1,39.9,120,2023-01-02,1,50,2,100",
            "ST01,117.1,39.9,120,2023-02-30,1,50,2,100",
            "ST01,117.1,39.9,120,03/01/2023,1,50,2,100",
        ],
    )
    with pytest.raises(InputError, match=r"unparseable time '2023-02-30' in data row 3 \(line 4\)"):
        read_stations(path)


def test_read_stations_missing_time_raises(tmp_path):
    path = write_csv(tmp_path / "stations.csv", [HEADER, "ST01,117.1,39.9,120,,1,50,2,100"])
    with pytest.raises(InputError, match=r"missing time in data row 1 \(line 2\)"):
        read_stations(path)


def test_read_stations_station_without_coordinates_raises(tmp_path):
    path = write_csv(
        tmp_path / "stations.csv",
        [HEADER, "ST01,117.1,39.9,120,2023-01-01,1,50,2,100", "ST02,,,80,2023-01-01,1,50,2,100"],
    )
    with pytest.raises(InputError, match="station.s. ST02 have no valid lon/lat"):
        read_stations(path)


def test_read_stations_coordinates_out_of_range_raise(tmp_path):
    path = write_csv(
        tmp_path / "stations.csv", [HEADER, "ST01,517.1,39.9,120,2023-01-01,1,50,2,100"]
    )
    with pytest.raises(InputError, match=r"lon/lat \(517.1, 39.9\) out of range"):
        read_stations(path)


def test_read_stations_missing_or_empty_file_raises(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_stations(tmp_path / "stations.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_stations(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="has a header but no data rows"):
        read_stations(write_csv(tmp_path / "header_only.csv", [HEADER]))


# --- TMY3 ------------------------------------------------------------------------------


def hourly_frame(days: int, values: np.ndarray) -> pd.DataFrame:
    """Hour-ending records from day 1 01:00 to day ``days`` 24:00 (UTC-5)."""
    tz = dt.timezone(dt.timedelta(hours=-5))
    index = pd.date_range("2021-03-01 01:00", periods=24 * days, freq="h", tz=tz, name="time")
    return pd.DataFrame({v: values for v in Meteo.variables}, index=index)


def test_tmy3_to_daily_groups_hour_ending_records_into_days():
    # Hours 1..24 of day 1 hold 1..24, of day 2 hold 101..124: the 24:00
    # record (stamped next midnight) closes its own day.
    values = np.concatenate([np.arange(1.0, 25.0), np.arange(101.0, 125.0)])
    meta = {"station_id": "723170", "lat": 36.1, "lon": -79.95, "elevation": 273.0}
    daily = tmy3_to_daily(meta, hourly_frame(2, values))
    assert list(daily.columns) == list(Meteo.columns)
    assert daily["time"].tolist() == [pd.Timestamp("2021-03-01"), pd.Timestamp("2021-03-02")]
    np.testing.assert_allclose(daily["temperature"], [12.5, 112.5])
    assert (daily["station_id"] == "723170").all()
    assert (daily["elevation"] == 273.0).all()


def test_tmy3_to_daily_needs_min_hours():
    values = np.arange(48.0)
    values[:7] = np.nan  # day 1 keeps 17 valid hours
    meta = {"station_id": "S", "lat": 0.0, "lon": 0.0, "elevation": 0.0}
    daily = tmy3_to_daily(meta, hourly_frame(2, values), min_hours=18)
    assert np.isnan(daily["wind_speed"].iloc[0])
    assert daily["wind_speed"].iloc[1] == pytest.approx(np.mean(np.arange(24.0, 48.0)))
    with pytest.raises(ConfigError, match="min_hours 0 must be within 1..24"):
        tmy3_to_daily(meta, hourly_frame(1, values[:24]), min_hours=0)


def test_read_tmy3_rejects_a_station_csv(tmp_path):
    path = write_csv(
        tmp_path / "stations.csv", [HEADER, "ST01,117.1,39.9,120,2023-01-01,1,50,2,100"]
    )
    with pytest.raises(MetadataError, match="is this an NREL TMY3 file"):
        read_tmy3(path)


def test_read_tmy3_missing_columns_and_bad_times(tmp_path):
    meta = '723170,"GREENSBORO",NC,-5.0,36.100,-79.950,273'
    path = write_csv(tmp_path / "a.csv", [meta, "Date (MM/DD/YYYY),Time (HH:MM),GHI (W/m^2)"])
    with pytest.raises(InputError, match=r"missing TMY3 column\(s\) Dry-bulb \(C\), RHum"):
        read_tmy3(path)
    header = "Date (MM/DD/YYYY),Time (HH:MM),GHI (W/m^2),Dry-bulb (C),RHum (%),Wspd (m/s)"
    path = write_csv(
        tmp_path / "b.csv", [meta, header, "01/01/1988,01:00,0,1,50,2", "01/01/1988,1am,0,1,50,2"]
    )
    with pytest.raises(InputError, match=r"unparseable date/time '01/01/1988' '1am' in data row 2"):
        read_tmy3(path)


@pytest.fixture
def tmy3_path() -> Path:
    if not TMY3.exists():
        pytest.skip(f"real sample {TMY3} absent (../shared/realdata beside the repo)")
    return TMY3


@pytest.mark.realdata
def test_read_tmy3_real_file(tmy3_path):
    meta, hourly = read_tmy3(tmy3_path)
    assert meta["station_id"] == "723170"
    assert meta["name"] == "GREENSBORO PIEDMONT TRIAD INT"
    assert (meta["lat"], meta["lon"], meta["elevation"], meta["utc_offset"]) == (
        36.1,
        -79.95,
        273.0,
        -5.0,
    )
    assert len(hourly) == 8760
    assert list(hourly.columns) == list(Meteo.variables)
    assert hourly.index.tz.utcoffset(None) == dt.timedelta(hours=-5)
    assert hourly.index[0] == pd.Timestamp("1988-01-01 01:00", tz=hourly.index.tz)
    # the closing 12/31 24:00 record is midnight of the next day
    assert hourly.index[-1] == pd.Timestamp("1981-01-01 00:00", tz=hourly.index.tz)
    assert hourly.notna().all().all()
    assert -30 < hourly["temperature"].min() < 0 < 30 < hourly["temperature"].max() < 45
    assert hourly["relative_humidity"].between(0, 100).all()
    assert hourly["wind_speed"].between(0, 40).all()
    assert hourly["solar_irradiance"].between(0, 1200).all()
    assert (hourly["solar_irradiance"] == 0).mean() > 0.4  # nights


@pytest.mark.realdata
def test_real_tmy3_daily_through_qc_and_monthly(tmy3_path):
    meta, hourly = read_tmy3(tmy3_path, coerce_year=2021)
    assert hourly.index.is_monotonic_increasing
    daily = tmy3_to_daily(meta, hourly)
    assert len(daily) == 365
    assert daily["time"].iloc[0] == pd.Timestamp("2021-01-01")
    assert daily["time"].iloc[-1] == pd.Timestamp("2021-12-31")
    clean, report = quality_control(daily)
    assert report.loc["723170", "rows"] == 365
    assert report.loc["723170", ["duplicate", "unsorted", "missing_days"]].sum() == 0
    assert report.filter(like="out_of_range").sum().sum() == 0
    assert report.filter(like="spike").sum().sum() <= 0.01 * 4 * 365  # real weather kept
    monthly = aggregate(clean, freq="MS", min_count=15)
    assert len(monthly) == 12
    temps = monthly.set_index("time")["temperature"]
    assert temps[pd.Timestamp("2021-07-01")] > temps[pd.Timestamp("2021-01-01")] + 15
    ghi = monthly.set_index("time")["solar_irradiance"]
    assert 50 < ghi.min() < ghi.max() < 350  # daily-mean GHI in W/m2
    # daily means of the (unflagged) hours average back to the annual mean
    assert daily["temperature"].mean() == pytest.approx(hourly["temperature"].mean(), abs=0.01)
