"""The hidden state: determinism, dynamics, class shares, surface reflectance."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.sensors import Landsat8, LandUse, Static
from coexplore.synth import generate_state, hidden_surface_reflectance
from coexplore.synth.state import BARE_LAND, BUILT_UP, MINING, RECLAIMED, VEGETATION, WATER
from coexplore.synth.surface import surface_snapshot


def area(seed: int = 7, start: str = "2019-01-01", end: str = "2022-12-31") -> dict:
    return {
        "id": "state",
        "seed": seed,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501600, 4401600],
        },
        "time": {"start": start, "end": end},
        "sources": ["landsat8", "meteo"],
        "synth": {"landsat8": {"margin_m": 300}},
    }


@pytest.fixture(scope="module")
def state():
    return generate_state(area())


def test_class_codes_match_sensors():
    names = {VEGETATION: "vegetation", WATER: "water", BUILT_UP: "built_up"}
    names |= {BARE_LAND: "bare_land", MINING: "mining", RECLAIMED: "reclaimed"}
    assert names == LandUse.codes


def test_same_seed_same_state_other_seed_differs(state):
    again = generate_state(area())
    for name in ("elevation", "lithology", "alteration", "mine_year", "water_potential"):
        np.testing.assert_array_equal(getattr(state, name), getattr(again, name))
    np.testing.assert_array_equal(state.landuse(2021), again.landuse(2021))
    np.testing.assert_array_equal(
        hidden_surface_reflectance(state, "2021-07-01"),
        hidden_surface_reflectance(again, "2021-07-01"),
    )
    other = generate_state(area(seed=8))
    assert not np.array_equal(state.landuse(2021), other.landuse(2021))


def test_grids_and_shapes(state):
    assert state.grid.shape == (160, 160)
    lu = state.landuse(2020)
    assert lu.shape == (160, 160) and lu.dtype == np.uint8
    assert set(np.unique(lu)) <= set(LandUse.codes)
    assert state.landuse(2020, extended=True).shape == state.ext.shape
    np.testing.assert_array_equal(state.crop(state.landuse(2020, extended=True)), lu)
    assert set(np.unique(state.lithology)) == set(Static.lithology)


def test_mine_grows_every_year_and_reclaimed_land_appears(state):
    years = state.years
    disturbed = [np.isin(state.landuse(y), (MINING, RECLAIMED)).sum() for y in years]
    mining = [(state.landuse(y) == MINING).sum() for y in years]
    reclaimed = [(state.landuse(y) == RECLAIMED).sum() for y in years]
    assert all(b > a for a, b in zip(disturbed, disturbed[1:], strict=False))
    assert mining[-1] > mining[0] > 0
    assert all(b >= a for a, b in zip(reclaimed, reclaimed[1:], strict=False))
    assert reclaimed[-1] > reclaimed[0] > 0
    # reclaimed land was mined before
    lu_last = state.landuse(years[-1])
    was = state.crop(state.mine_year)[lu_last == RECLAIMED]
    assert np.all(was <= years[-1] - 3)


def test_village_grows(state):
    built = [(state.landuse(y) == BUILT_UP).sum() for y in state.years]
    assert built[-1] > built[0] > 0


def test_class_shares_are_plausible(state):
    for year in state.years:
        lu = state.landuse(year)
        share = np.bincount(lu.ravel(), minlength=7)[1:] / lu.size
        assert share.argmax() == VEGETATION - 1
        assert 0.5 < share[VEGETATION - 1] < 0.9
        assert np.all(share >= 0.002), share
        assert 0.05 < share[BARE_LAND - 1] < 0.25


def test_seasonal_ponds_are_water_only_in_wet_months(state):
    wet, months = state.wet_months(2021)
    seasonal = (wet > 0) & (wet < months)
    assert seasonal.any()
    lu = state.landuse(2021, extended=True)
    # labelled water when wet most of the year, otherwise not
    assert np.all(lu[(2 * wet > months) & (wet > 0)] == WATER)
    assert not np.any(lu[seasonal & (2 * wet <= months) & ~state.river] == WATER)
    dry = surface_snapshot(state, "2021-04-01")
    wet_day = surface_snapshot(state, "2021-08-20")
    assert (wet_day.cls == WATER).sum() > (dry.cls == WATER).sum()


def test_ore_zone_sits_in_the_alteration_halo(state):
    ore = state.ore_zone()
    assert ore.dtype == np.uint8 and 0 < ore.sum() < ore.size * 0.05
    alteration = state.crop(state.alteration)
    assert np.all(alteration[ore == 1] == 1.0)
    assert 0 < np.mean(alteration[ore == 0] > 0.2) < 0.2
    assert state.fault.any()


def test_hidden_reflectance_shape_range_and_dark_water(state):
    rho = hidden_surface_reflectance(state, "2021-07-15")
    assert rho.shape == (len(Landsat8.reflective), 160, 160) and rho.dtype == np.float32
    assert rho.min() > 0 and rho.max() <= 1
    ext = hidden_surface_reflectance(state, "2021-07-15", extended=True)
    assert ext.shape[1:] == state.ext.shape
    snap = surface_snapshot(state, "2021-07-15")
    deep = (snap.cls == WATER) & (snap.water_depth > 3.0)
    assert deep.any()
    red, nir = Landsat8.reflective.index("red"), Landsat8.reflective.index("nir")
    assert 0.01 <= np.median(ext[red][deep]) <= 0.02
    assert 0.005 <= np.median(ext[nir][deep]) <= 0.01


def test_vegetation_is_greener_in_summer(state):
    red, nir = Landsat8.reflective.index("red"), Landsat8.reflective.index("nir")
    veg = state.landuse(2021) == VEGETATION

    def ndvi(date: str) -> float:
        rho = hidden_surface_reflectance(state, date)
        return float(np.median(((rho[nir] - rho[red]) / (rho[nir] + rho[red]))[veg]))

    assert ndvi("2021-07-20") > 0.6 > 0.4 > ndvi("2021-01-20")


def test_alteration_lowers_swir2_over_swir1_and_raises_red_over_blue(state):
    rho = hidden_surface_reflectance(state, "2021-09-10", extended=True)
    snap = surface_snapshot(state, "2021-09-10")
    b = {name: rho[i] for i, name in enumerate(Landsat8.reflective)}
    exposed = np.isin(snap.cls, (BARE_LAND, MINING))
    altered = exposed & (state.alteration > 0.6)
    fresh = exposed & (state.alteration == 0)
    assert altered.sum() > 20 and fresh.sum() > 20
    clay = b["swir2"] / b["swir1"]
    iron = b["red"] / b["blue"]
    assert np.median(clay[altered]) < np.median(clay[fresh]) - 0.05
    assert np.median(iron[altered]) > np.median(iron[fresh])


def test_reclaimed_land_greens_with_age(state):
    snap = surface_snapshot(state, "2022-07-15")
    rec = snap.cls == RECLAIMED
    young = rec & (snap.reclaim_age < 1.5)
    old = rec & (snap.reclaim_age > 2.5)
    assert young.any() and old.any()
    assert snap.green[old].mean() > snap.green[young].mean()
