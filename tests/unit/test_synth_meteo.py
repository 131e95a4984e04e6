"""Station records: climate signals and the injected defects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coexplore import layout
from coexplore.sensors import Meteo
from coexplore.synth import generate_state
from coexplore.synth.meteo import (
    SPIKES,
    inject_defects,
    station_layout,
    station_records,
    write_stations,
)


def area(**meteo) -> dict:
    return {
        "id": "met",
        "seed": 5,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501600, 4401600],
        },
        "time": {"start": "2021-01-01", "end": "2022-12-31"},
        "sources": ["meteo"],
        "synth": {"meteo": {"n_stations": 4, **meteo}},
    }


@pytest.fixture(scope="module")
def state():
    return generate_state(area())


@pytest.fixture(scope="module")
def written(state, tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    path = write_stations(state, raw)
    return path, pd.read_csv(path, dtype={"station_id": str})


def test_stations_inside_and_outside_the_area(state):
    stations = station_layout(state)
    assert [s.station_id for s in stations] == ["ST01", "ST02", "ST03", "ST04"]
    left, bottom, right, top = state.grid.bounds
    inside = [left <= s.x <= right and bottom <= s.y <= top for s in stations]
    assert sum(inside) == 2
    for s in stations:
        if not (left <= s.x <= right and bottom <= s.y <= top):
            d = max(left - s.x, s.x - right, bottom - s.y, s.y - top)
            assert 100 < d < 7000
        assert s.elevation == pytest.approx(float(state.scenery.elevation(s.x, s.y)), abs=0.06)
        assert 39 < s.lat < 40.5 and 116.9 < s.lon < 117.2


def test_clean_records_carry_the_climate(state):
    df = station_records(state)
    assert tuple(df.columns) == Meteo.columns
    assert len(df) == 4 * len(state.climate.days)
    df["month"] = pd.to_datetime(df["time"]).dt.month
    by_month = df.groupby("month")[list(Meteo.variables)].mean()
    assert by_month.loc[7, "temperature"] > by_month.loc[1, "temperature"] + 20
    assert by_month.loc[6, "solar_irradiance"] > 2 * by_month.loc[12, "solar_irradiance"]
    for var, (lo, hi) in Meteo.valid_range.items():
        assert df[var].between(lo, hi).all(), var
    # lapse rate: each station departs from the regional series at the reference
    # elevation by -6.5 K/km x (elevation - 500 m), up to its small bias
    for sid, g in df.groupby("station_id"):
        departure = float(np.mean(g["temperature"].to_numpy() - state.climate.temperature))
        expected = -0.0065 * (g["elevation"].iloc[0] - state.climate.reference_elevation)
        assert departure == pytest.approx(expected, abs=1.5), sid
    # windier where exposed
    exposure = {s.station_id: s.exposure for s in station_layout(state)}
    wind = df.groupby("station_id")["wind_speed"].mean()
    assert np.corrcoef([exposure[k] for k in wind.index], wind.to_numpy())[0, 1] > 0.9


def test_written_csv_has_every_defect(state, written):
    path, df = written
    assert path == layout.meteo_path(path.parents[1])
    assert tuple(df.columns) == Meteo.columns
    days = len(state.climate.days)
    # gaps: missing days and empty cells
    unique = df.drop_duplicates()
    assert (unique.groupby("station_id")["time"].nunique() < days).any()
    assert df[list(Meteo.variables)].isna().any().any()
    # spikes outside the valid ranges
    spikes = df[list(Meteo.variables)].isin(SPIKES)
    assert spikes.any().any()
    for var, (lo, hi) in Meteo.valid_range.items():
        bad = ~df[var].between(lo, hi) & df[var].notna()
        assert df.loc[bad, var].isin(SPIKES).all()
    # exact duplicate rows
    assert 3 <= df.duplicated().sum() <= 6
    # one block out of time order
    unsorted = [
        sid
        for sid, g in df.drop_duplicates().groupby("station_id", sort=False)
        if not pd.to_datetime(g["time"]).is_monotonic_increasing
    ]
    assert len(unsorted) == 1
    # dates are ISO days
    assert df["time"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_defect_rates_follow_the_config(state):
    clean = station_records(state)
    rng = np.random.default_rng(0)
    df = inject_defects(clean, rng, gap_fraction=0.2, outlier_fraction=0.01)
    cells = df[list(Meteo.variables)]
    n_cells = cells.size
    assert cells.isna().sum().sum() / n_cells == pytest.approx(0.1, abs=0.01)
    assert cells.isin(SPIKES).sum().sum() / n_cells == pytest.approx(0.01, abs=0.002)
    assert 1 - len(df.drop_duplicates()) / len(clean) == pytest.approx(0.1, abs=0.01)


def test_zero_rates_leave_only_duplicates_and_disorder(state):
    clean = station_records(state)
    df = inject_defects(clean, np.random.default_rng(1), gap_fraction=0.0, outlier_fraction=0.0)
    assert not df.isna().any().any()
    assert not df[list(Meteo.variables)].isin(SPIKES).any().any()
    restored = df.drop_duplicates().sort_values(["station_id", "time"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        restored, clean.sort_values(["station_id", "time"]).reset_index(drop=True)
    )


def test_records_are_deterministic(state):
    again = generate_state(area())
    pd.testing.assert_frame_equal(station_records(state), station_records(again))
