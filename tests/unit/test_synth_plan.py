"""Acquisition plan, config checks and the small formulas of coexplore.synth."""

from __future__ import annotations

import copy
import datetime as dt
import re

import numpy as np
import pytest

from coexplore import layout
from coexplore.errors import ConfigError
from coexplore.sensors import Landsat8, Sentinel1
from coexplore.synth import plan_acquisitions, planned_files
from coexplore.synth.fields import distance_to_polyline, ellipse_radius, gaussian_field
from coexplore.synth.plan import sentinel1_acquisitions
from coexplore.synth.settings import parse_area
from coexplore.synth.solar import (
    daily_extraterrestrial_irradiance,
    earth_sun_distance,
    solar_declination,
    sun_position,
    utc_at_local_solar_time,
)
from coexplore.synth.streams import rng_for
from coexplore.synth.surface import phenology


def tiny(**synth_overrides) -> dict:
    area = {
        "id": "tiny",
        "seed": 7,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501600, 4401600],
        },
        "time": {"start": "2021-01-01", "end": "2022-12-31", "freq": "MS"},
        "sources": ["landsat8", "sentinel1", "drone", "meteo"],
        "synth": {
            "landsat8": {"revisit_days": 32, "margin_m": 300, "n_gcps": 10},
            "sentinel1": {"start": "2021-01-01", "end": "2022-12-31", "revisit_days": 24},
            "drone": {"dates": ["2022-06-20"], "resolution": 0.1, "size_m": 100},
            "meteo": {"n_stations": 3},
        },
    }
    for source, values in synth_overrides.items():
        area["synth"][source].update(values)
    return area


def test_plan_is_deterministic_and_seeded():
    a = plan_acquisitions(tiny())
    assert a == plan_acquisitions(tiny())
    other = tiny()
    other["seed"] = 8
    assert plan_acquisitions(other)["landsat8"] != a["landsat8"]


def test_plan_ids_follow_the_product_patterns():
    plan = plan_acquisitions(tiny())
    assert plan["drone"] == ["UAV_20220620"]
    assert len(plan["landsat8"]) == 23
    for sid in plan["landsat8"]:
        assert re.fullmatch(Landsat8.scene_pattern, sid)
        assert sid.startswith("LC08_L1TP_123032_")
    for pid in plan["sentinel1"]:
        assert re.fullmatch(Sentinel1.safe_pattern, pid + ".SAFE")


def test_landsat_revisit_interval():
    ids = plan_acquisitions(tiny())["landsat8"]
    dates = [dt.datetime.strptime(s.split("_")[3], "%Y%m%d").date() for s in ids]
    assert {(b - a).days for a, b in zip(dates, dates[1:], strict=False)} == {32}
    assert dates[0] - dt.date(2021, 1, 1) < dt.timedelta(days=32)
    assert dates[-1] <= dt.date(2022, 12, 31) < dates[-1] + dt.timedelta(days=32)
    processed = [dt.datetime.strptime(s.split("_")[4], "%Y%m%d").date() for s in ids]
    assert all(7 <= (p - d).days <= 26 for p, d in zip(processed, dates, strict=True))


def test_sentinel1_revisit_and_orbits():
    acqs = sentinel1_acquisitions(parse_area(tiny()))
    assert len(acqs) == 31 or len(acqs) == 30
    days = {(b.start.date() - a.start.date()).days for a, b in zip(acqs, acqs[1:], strict=False)}
    assert days == {24}
    # 175 orbits per 12-day cycle: 350 orbits in 24 days, same track
    assert {b.absolute_orbit - a.absolute_orbit for a, b in zip(acqs, acqs[1:], strict=False)} == {
        350
    }
    assert len({a.relative_orbit for a in acqs}) == 1
    first = acqs[0]
    assert first.product_id.split("_")[6] == f"{first.absolute_orbit:06d}"
    assert first.product_id.split("_")[7] == f"{first.datatake:06X}"
    assert first.file_stem("vh").endswith("-002")
    assert first.file_stem("vv").startswith(f"s1a-iw-grd-vv-{first.start:%Y%m%dt%H%M%S}-")


def test_sentinel1_window_is_clipped_to_the_period():
    acqs = sentinel1_acquisitions(
        parse_area(tiny(sentinel1={"start": "2020-01-01", "end": "2021-03-31"}))
    )
    assert acqs and all(dt.date(2021, 1, 1) <= a.start.date() <= dt.date(2021, 3, 31) for a in acqs)


def test_sources_not_listed_give_empty_plans():
    area = tiny()
    area["sources"] = ["meteo"]
    assert plan_acquisitions(area) == {"landsat8": [], "sentinel1": [], "drone": []}


def test_planned_files_lists_every_product(tmp_path):
    area = tiny()
    files = planned_files(area, tmp_path)
    plan = plan_acquisitions(area)
    assert layout.truth_landuse_path(tmp_path, 2021) in files
    assert layout.truth_landuse_path(tmp_path, 2022) in files
    assert layout.truth_ore_path(tmp_path) in files
    assert layout.static_path(tmp_path, "dem") in files
    assert layout.meteo_path(tmp_path) in files
    assert layout.drone_path(tmp_path, "UAV_20220620") in files
    for sid in plan["landsat8"]:
        assert set(layout.landsat_scene_files(tmp_path, sid)) <= set(files)
    safe = [f for f in files if ".SAFE" in str(f)]
    assert len(safe) == 9 * len(plan["sentinel1"])
    # 2 land-use years + ore zone + DEM + geology + stations; 11 files per scene; 1 flight
    assert len(files) == len(set(files)) == 6 + 11 * len(plan["landsat8"]) + len(safe) + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a["grid"].update(crs="EPSG:4326"), "not a projected CRS in metres"),
        (lambda a: a["grid"].update(crs="EPSG:3857"), "not a WGS 84 UTM zone"),
        (
            lambda a: a["grid"].update(extent=[500000, 4400000, 500300, 4400300]),
            "smaller than 500 m",
        ),
        (lambda a: a["time"].update(end="2020-01-01"), "before time.start"),
        (lambda a: a["time"].update(start="2021-13-01"), "is not a date"),
        (lambda a: a["synth"]["drone"].update(dates=["2030-01-01"]), "outside the study period"),
        (lambda a: a["synth"]["drone"].update(dates=["2021-05-01", "2021-05-01"]), "repeat a date"),
        (lambda a: a["synth"]["drone"].update(size_m=5000), "exceeds the study area side"),
        (
            lambda a: a["synth"]["sentinel1"].update(start="2015-01-01", end="2016-01-01"),
            "does not overlap",
        ),
        (
            lambda a: a["synth"]["sentinel1"].update(end="2020-01-01"),
            "before synth.sentinel1.start",
        ),
        (lambda a: a["synth"]["landsat8"].update(n_gcps=2), "too few for an affine fit"),
        (lambda a: a["synth"]["landsat8"].update(revisit_days=0), "revisit_days = 0 must be > 0"),
        (lambda a: a["synth"]["landsat8"].update(revisit_days=1.5), "must be a whole number"),
        (lambda a: a["synth"]["landsat8"].update(cloud_probability=1.5), r"must lie in \[0, 1\]"),
        (lambda a: a["synth"]["meteo"].update(gap_fraction="lots"), "is not a number"),
        (lambda a: a.update(seed=-1), "non-negative integer"),
        (lambda a: a.update(sources=["landsat9"]), "unknown"),
        (lambda a: a.pop("time"), "has no 'time' block"),
        (lambda a: a.update(synth={"drone": "yes"}), "must be a mapping"),
    ],
)
def test_bad_config_raises_config_error(change, message):
    area = copy.deepcopy(tiny())
    change(area)
    with pytest.raises(ConfigError, match=message):
        plan_acquisitions(area)


def test_missing_synth_block_takes_schema_defaults():
    area = tiny()
    del area["synth"]
    area["time"] = {"start": "2022-01-01", "end": "2023-12-31"}
    s = parse_area(area)
    assert s.landsat8.revisit_days == 16 and s.landsat8.margin_m == 600
    assert s.drone.dates == (dt.date(2023, 3, 20), dt.date(2023, 6, 20), dt.date(2023, 9, 20))
    assert s.meteo.n_stations == 5 and s.utm_zone == 50


def test_rng_for_streams_are_reproducible_and_independent():
    assert rng_for(1, "a", 3).random() == rng_for(1, "a", 3).random()
    assert rng_for(1, "a", 3).random() != rng_for(1, "a", 4).random()
    assert rng_for(1, "a").random() != rng_for(2, "a").random()


def test_gaussian_field_is_standardised_and_correlated():
    f = gaussian_field(np.random.default_rng(0), (64, 80), 4.0)
    assert f.shape == (64, 80) and f.dtype == np.float32
    assert abs(float(f.mean())) < 1e-5 and abs(float(f.std()) - 1) < 1e-5
    lag1 = np.corrcoef(f[:, :-1].ravel(), f[:, 1:].ravel())[0, 1]
    # Gaussian kernel sigma 4: correlation at lag 1 is exp(-1 / (4 sigma^2)) ~ 0.98
    assert lag1 > 0.95


def test_distance_to_polyline_known_answers():
    line = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]
    d = distance_to_polyline(
        np.array([5.0, 13.0, -3.0, 10.0]), np.array([2.0, 5.0, -4.0, 12.0]), line
    )
    np.testing.assert_allclose(d, [2.0, 3.0, 5.0, 2.0])


def test_ellipse_radius_known_answers():
    r = ellipse_radius(
        np.array([4.0, 0.0, 0.0]), np.array([0.0, 2.0, 4.0]), (0.0, 0.0), (4.0, 2.0), 0.0
    )
    np.testing.assert_allclose(r, [1.0, 1.0, 2.0])
    rotated = ellipse_radius(np.array([0.0]), np.array([4.0]), (0.0, 0.0), (4.0, 2.0), 90.0)
    np.testing.assert_allclose(rotated, [1.0])


def test_solar_formulas_known_answers():
    assert float(earth_sun_distance(4)) == pytest.approx(0.98328, abs=1e-5)
    assert float(earth_sun_distance(186)) == pytest.approx(1.0167, abs=2e-4)
    assert float(solar_declination(172)) == pytest.approx(23.44, abs=0.1)
    assert float(solar_declination(355)) == pytest.approx(-23.43, abs=0.1)
    # equator at the March equinox: G_sc / pi / d^2 = 433 / 0.9915
    assert float(daily_extraterrestrial_irradiance(0.0, 80)) == pytest.approx(437.0, abs=1.0)
    # 40 N: ~41.7 MJ m-2 at the June solstice, ~13.5 MJ m-2 in December
    assert float(daily_extraterrestrial_irradiance(40.0, 172)) * 86400 / 1e6 == pytest.approx(
        41.7, abs=0.3
    )
    assert float(daily_extraterrestrial_irradiance(40.0, 355)) * 86400 / 1e6 == pytest.approx(
        13.5, abs=0.3
    )


def test_sun_position_known_answers():
    noon = utc_at_local_solar_time(dt.date(2021, 3, 20), 117.0, 12.0)
    elevation, _ = sun_position(0.0, 117.0, noon)
    assert elevation == pytest.approx(90.0, abs=0.6)
    # 40 N, June solstice, local noon: 90 - 40 + 23.44
    elevation, azimuth = sun_position(
        40.0, 117.0, utc_at_local_solar_time(dt.date(2021, 6, 21), 117.0, 12.0)
    )
    assert elevation == pytest.approx(73.44, abs=0.1)
    assert azimuth == pytest.approx(180.0, abs=0.5)
    # mid-morning: sun in the south-east
    _, azimuth = sun_position(
        40.0, 117.0, utc_at_local_solar_time(dt.date(2021, 6, 21), 117.0, 10.5)
    )
    assert 90.0 < azimuth < 180.0


def test_phenology_known_answers():
    assert phenology(200.0) == pytest.approx(1.0, abs=1e-3)
    assert phenology(15.0) == pytest.approx(0.0, abs=1e-3)
    assert phenology(118.0) == pytest.approx(0.5, abs=0.01)
    assert phenology(130.0, green_up=140.0) < phenology(130.0)
