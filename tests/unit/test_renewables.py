"""Tests of coexplore.products.renewables: solar transposition, wind profiles, Weibull, exclusions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as st

from coexplore.errors import DataError
from coexplore.grid import Grid
from coexplore.products.renewables import (
    ROUGHNESS_LENGTH_M,
    FlatTerrainWarning,
    TiltModel,
    air_density,
    beam_ratio,
    cloud_factor,
    exclusion_mask,
    fit_weibull,
    grid_latitude,
    log_law,
    power_law,
    roughness_length,
    slope_aspect,
    solar_potential,
    weibull_power_density,
    wind_potential,
)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def test_log_and_power_law_known_answers() -> None:
    # v(h) = v_ref ln(h / z0) / ln(h_ref / z0): ln(1000) / ln(100) = 1.5
    assert log_law(5.0, height=100.0, z0=0.1) == pytest.approx(7.5)
    np.testing.assert_allclose(
        log_law(np.array([4.0, 4.0]), height=80.0, z0=np.array([0.0002, 1.0]), ref_height=10.0),
        [4.0 * np.log(80 / 0.0002) / np.log(10 / 0.0002), 4.0 * np.log(80.0) / np.log(10.0)],
    )
    assert power_law(5.0, height=100.0) == pytest.approx(5.0 * 10 ** (1 / 7))
    assert power_law(5.0, height=40.0, alpha=0.25) == pytest.approx(5.0 * np.sqrt(2.0))
    with pytest.raises(DataError, match="roughness lengths must lie in"):
        log_law(5.0, height=100.0, z0=20.0)


def test_weibull_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(42)
    sample = st.weibull_min.rvs(2.2, scale=7.5, size=20_000, random_state=rng)
    k, c = fit_weibull(sample)
    assert k == pytest.approx(2.2, rel=0.02) and c == pytest.approx(7.5, rel=0.02)
    km, cm = fit_weibull(sample, method="moments")
    assert km == pytest.approx(2.2, rel=0.05) and cm == pytest.approx(7.5, rel=0.03)
    with pytest.raises(DataError, match="at least 10 positive"):
        fit_weibull(np.array([1.0, 2.0, 0.0]))
    with pytest.raises(DataError, match="unknown"):
        fit_weibull(sample, method="ls")


def test_power_density_and_air_density() -> None:
    # k = 2: E[v^3] = c^3 Gamma(2.5) = c^3 * 0.75 sqrt(pi)
    assert weibull_power_density(2.0, 8.0, rho=1.225) == pytest.approx(
        0.5 * 1.225 * 512 * 0.75 * np.sqrt(np.pi)
    )
    rng = np.random.default_rng(1)
    v = st.weibull_min.rvs(2.0, scale=8.0, size=200_000, random_state=rng)
    assert weibull_power_density(2.0, 8.0) == pytest.approx(0.5 * 1.225 * np.mean(v**3), rel=0.02)
    assert air_density(15.0, 0.0) == pytest.approx(1.225, abs=1e-3)
    # ISA at 1000 m: 89875 Pa, 8.5 degC -> 1.112 kg/m3
    assert air_density(8.5, 1000.0) == pytest.approx(1.112, abs=2e-3)


def test_roughness_table_and_nodata() -> None:
    lu = np.array([[1, 2, 3], [4, 5, 0]], np.uint8)
    z0 = roughness_length(lu)
    np.testing.assert_allclose(z0[0], [0.1, 0.0002, 1.0])
    assert z0[1, 1] == ROUGHNESS_LENGTH_M[5] and np.isnan(z0[1, 2])
    with pytest.raises(DataError, match=r"classes \[9\] have no roughness"):
        roughness_length(np.array([[9]]))


def test_slope_aspect_of_planes() -> None:
    east_rising = np.tile(np.arange(6.0), (6, 1))  # 1 m per 10 m pixel eastwards -> faces west
    slope, aspect = slope_aspect(east_rising, pixel_size=10.0)
    assert slope[3, 3] == pytest.approx(np.degrees(np.arctan(0.1)))
    assert aspect[3, 3] == pytest.approx(270.0)
    north_rising = np.tile(
        np.arange(6.0)[::-1, None], (1, 6)
    )  # row 0 (north) highest -> faces south
    _, aspect = slope_aspect(north_rising, pixel_size=10.0)
    assert aspect[3, 3] == pytest.approx(180.0)
    slope, _ = slope_aspect(np.full((4, 4), 7.0), pixel_size=10.0)
    assert not slope.any()


def test_beam_ratio_known_answers() -> None:
    # equinox (day 81, declination 0): a south-facing slope equal to the latitude sees the
    # sun as a horizontal surface at the equator: Rb = 1 / cos(latitude)
    assert beam_ratio(35.0, 180.0, latitude_deg=35.0, days=[81]) == pytest.approx(
        1 / np.cos(np.radians(35.0))
    )
    assert beam_ratio(0.0, 90.0, latitude_deg=35.0) == pytest.approx(1.0)
    south, north = beam_ratio(np.array([30.0, 30.0]), np.array([180.0, 0.0]), latitude_deg=35.0)
    assert south > 1.0 > north
    # southern hemisphere: north-facing slopes gain
    assert beam_ratio(30.0, 0.0, latitude_deg=-35.0) > 1.0


def test_tilt_model_and_cloud_factor() -> None:
    tilt = TiltModel(latitude_deg=35.0, clearness_index=0.55)
    f = tilt.factor(np.array([0.0, 25.0, 25.0]), np.array([0.0, 180.0, 0.0]))
    assert f[0] == pytest.approx(1.0)
    assert f[1] > 1.0 > f[2]
    assert 0.2 < tilt.mean_diffuse_fraction < 0.6
    # Kasten-Czeplak: (1 - 0.75 f^3.4) / (1 - 0.75 f_ref^3.4)
    cf = cloud_factor(np.array([0.0, 0.5, 1.0]), reference=0.5)
    ref = 1 - 0.75 * 0.5**3.4
    np.testing.assert_allclose(cf, [1 / ref, 1.0, 0.25 / ref])
    with pytest.raises(DataError, match="outside \\[0, 1\\]"):
        cloud_factor(np.array([0.2, 40.0]))


def _terrain(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    lu = np.ones((n, n), np.uint8)
    lu[0, :] = 2  # water
    lu[1, :3] = 3  # built-up
    lu[-1, -1] = 5  # mining
    dem = np.zeros((n, n))
    dem[:, n // 2 :] = np.arange(n - n // 2) * 10.0  # eastern half: 45 degree west-facing ramp
    return lu, dem


def test_exclusion_mask() -> None:
    lu, dem = _terrain()
    slope, _ = slope_aspect(dem, pixel_size=10.0)
    ex = exclusion_mask(lu, slope, max_slope_deg=20.0)
    assert ex[0].all() and ex[1, :3].all() and ex[-1, -1]
    assert ex[5, -3] and not ex[5, 2]
    ex_lu = exclusion_mask(lu, None, max_slope_deg=20.0)
    assert not ex_lu[5, -3]


def test_solar_potential_units_exclusions_and_flat_fallback() -> None:
    lu, dem = _terrain()
    ghi = np.full((12, 12), 200.0)
    cloud = np.full((12, 12), 0.3)
    ds = solar_potential(
        ghi, pixel_size=10.0, latitude_deg=35.0, cloud_frequency=cloud, elevation=dem, landuse=lu
    )
    assert ds["energy"].attrs["units"] == "kWh m-2 yr-1"
    flat = ds["irradiance_surface"].values[5, 2]
    assert flat == pytest.approx(200.0, rel=1e-5)  # flat terrain, uniform clouds: factor 1
    assert ds["energy"].values[5, 2] == pytest.approx(200.0 * 8.76, rel=1e-5)
    assert np.isnan(ds["energy"].values[0]).all()  # water
    assert np.isnan(ds["energy"].values[5, -3])  # 45 degree slope
    assert ds["energy_resource"].values[5, -3] < 200.0 * 8.76  # west-facing 45 degrees gets less
    with pytest.warns(FlatTerrainWarning, match="no DEM given"):
        nodem = solar_potential(ghi, pixel_size=10.0, latitude_deg=35.0, landuse=lu)
    assert nodem.attrs["flat_terrain_fallback"] == 1
    assert np.nanmax(np.abs(nodem["irradiance_surface"].values - 200.0)) < 1e-3
    assert nodem["excluded"].values.sum() == 12 + 3 + 1


def test_solar_potential_bad_inputs() -> None:
    lu, dem = _terrain()
    with pytest.raises(DataError, match="misaligned"):
        solar_potential(np.full((12, 11), 200.0), pixel_size=10.0, latitude_deg=35.0, elevation=dem)
    with pytest.raises(DataError, match="negative"):
        solar_potential(np.full((12, 12), -1.0), pixel_size=10.0, latitude_deg=35.0, elevation=dem)
    with pytest.raises(DataError, match="no finite elevation"):
        solar_potential(
            np.full((12, 12), 200.0),
            pixel_size=10.0,
            latitude_deg=35.0,
            elevation=np.full((12, 12), np.nan),
        )


def test_wind_potential_physics_and_exclusions() -> None:
    lu, dem = _terrain()
    rng = np.random.default_rng(0)
    series = st.weibull_min.rvs(2.0, scale=6.0, size=(400, 1, 1), random_state=rng) * np.ones(
        (1, 12, 12)
    )
    ds = wind_potential(
        series,
        landuse=lu,
        temperature_c=15.0,
        elevation=np.zeros((12, 12)),
        pixel_size=10.0,
        hub_height=100.0,
    )
    # vegetation cell: hub factor ln(1000)/ln(100) = 1.5 applied to every sample
    hub = series[:, 5, 2] * 1.5
    assert ds["speed_hub"].values[5, 2] == pytest.approx(hub.mean(), rel=1e-5)
    k, c = ds["weibull_k"].values[5, 2], ds["weibull_c"].values[5, 2]
    assert k == pytest.approx(2.0, rel=0.1)
    assert ds["power_density"].values[5, 2] == pytest.approx(
        0.5 * air_density(15.0, 0.0) * c**3 * special.gamma(1 + 3 / k), rel=1e-4
    )
    assert np.isnan(ds["power_density"].values[0]).all()  # water excluded
    assert np.isfinite(ds["power_density_resource"].values[0]).all()
    # water is smoother than vegetation: smaller shear, lower hub-height speed
    assert ds["speed_hub"].values[0, 5] < ds["speed_hub"].values[5, 2]
    with pytest.warns(FlatTerrainWarning):
        means = wind_potential(
            series.mean(axis=0),
            landuse=lu,
            temperature_c=15.0,
            pixel_size=10.0,
            weibull_k=2.0,
            profile="power",
        )
    assert means["weibull_k"].values[5, 2] == 2.0
    assert means["speed_hub"].values[5, 2] == pytest.approx(
        series[:, 5, 2].mean() * 10 ** (1 / 7), rel=1e-5
    )


def test_wind_potential_bad_inputs() -> None:
    lu, dem = _terrain()
    with pytest.raises(DataError, match="pass weibull_k"):
        wind_potential(
            np.full((12, 12), 5.0), landuse=lu, temperature_c=15.0, elevation=dem, pixel_size=10.0
        )
    with pytest.raises(DataError, match="misaligned"):
        wind_potential(
            np.full((5, 12, 11), 5.0),
            landuse=lu,
            temperature_c=15.0,
            elevation=dem,
            pixel_size=10.0,
        )
    with pytest.raises(DataError, match=">= 0"):
        wind_potential(
            np.full((5, 12, 12), -5.0),
            landuse=lu,
            temperature_c=15.0,
            elevation=dem,
            pixel_size=10.0,
        )
    with pytest.raises(DataError, match="profile 'cubic'"):
        wind_potential(
            np.full((5, 12, 12), 5.0),
            landuse=lu,
            temperature_c=15.0,
            elevation=dem,
            pixel_size=10.0,
            profile="cubic",
        )


@pytest.mark.realdata
def test_weibull_on_real_station_record() -> None:
    path = REALDATA / "meteo" / "723170TYA.CSV"
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (shared/ not beside the repo)")
    speeds = pd.read_csv(path, skiprows=1)["Wspd (m/s)"].to_numpy(float)
    assert speeds.size == 8760
    k, c = fit_weibull(speeds)
    km, cm = fit_weibull(speeds, method="moments")
    assert 1.2 < k < 3.5 and 2.0 < c < 6.0  # inland airport: light winds
    assert cm == pytest.approx(c, rel=0.15)
    # the fitted distribution reproduces the record's mean cube to within 25 %
    e_v3 = c**3 * special.gamma(1 + 3 / k)
    assert e_v3 == pytest.approx(np.mean(speeds[speeds > 0] ** 3), rel=0.25)


def test_grid_latitude() -> None:
    # UTM 50N, northing 4 000 000 m on the central meridian (117 E) is about 36.14 N
    grid = Grid.from_bounds("EPSG:32650", (499_000, 3_999_000, 501_000, 4_001_000), 10.0)
    assert grid_latitude(grid) == pytest.approx(36.14, abs=0.01)
