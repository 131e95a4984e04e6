"""Tests of coexplore.products.prospectivity."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from coexplore.errors import DataError
from coexplore.products.prospectivity import (
    alteration_indices,
    crosta_pca,
    evaluate_prospectivity,
    fault_proximity,
    fuzzy_gamma,
    fuzzy_membership,
    lithology_favourability,
    prospectivity_auc,
    prospectivity_map,
    success_rate_curve,
)
from coexplore.sensors import Landsat8

BANDS = list(Landsat8.reflective)


def _sr(values: dict[str, np.ndarray]) -> xr.DataArray:
    arr = np.stack([values[b] for b in BANDS])
    return xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": BANDS})


def _scene(n: int = 40, seed: int = 0) -> tuple[xr.DataArray, np.ndarray, np.ndarray, np.ndarray]:
    """Background rock with a hydrothermally altered (clay + iron) zone over the ore."""
    rng = np.random.default_rng(seed)
    base = {
        "coastal": 0.08,
        "blue": 0.09,
        "green": 0.12,
        "red": 0.15,
        "nir": 0.22,
        "swir1": 0.28,
        "swir2": 0.24,
    }
    yy, xx = np.mgrid[0:n, 0:n]
    ore = ((yy - 25) ** 2 + (xx - 14) ** 2) < 36
    altered = ((yy - 25) ** 2 + (xx - 14) ** 2) < 64
    albedo = 1.0 + 0.15 * np.sin(xx / 6.0) + 0.05 * rng.standard_normal((n, n))
    vals = {b: base[b] * albedo for b in BANDS}
    vals["swir2"] = np.where(altered, vals["swir2"] * 0.75, vals["swir2"])  # Al-OH absorption
    vals["blue"] = np.where(altered, vals["blue"] * 0.8, vals["blue"])  # ferric absorption
    vals["red"] = np.where(altered, vals["red"] * 1.15, vals["red"])
    lith = np.where(xx < n // 2, 1, 2).astype(np.uint8)  # granite west, sandstone east
    fault = np.zeros((n, n), np.uint8)
    fault[:, 12] = 1
    return _sr(vals), lith, fault, ore.astype(np.uint8)


def test_alteration_indices_known_bands() -> None:
    ones = np.ones((1, 2))
    vals = {b: 0.1 * ones for b in BANDS}
    vals.update(
        swir1=np.array([[0.3, 0.2]]),
        swir2=np.array([[0.15, 0.0]]),
        red=0.2 * ones,
        blue=0.05 * ones,
        nir=0.25 * ones,
    )
    idx = alteration_indices(_sr(vals))
    assert list(idx["index"].values) == ["clay", "iron_oxide", "ferrous"]
    np.testing.assert_allclose(idx.sel(index="clay").values, [[2.0, np.nan]])  # 0.3/0.15; /0 -> NaN
    np.testing.assert_allclose(idx.sel(index="iron_oxide").values, [[4.0, 4.0]])
    np.testing.assert_allclose(idx.sel(index="ferrous").values, [[1.2, 0.8]])
    with pytest.raises(DataError, match="band 'swir2' is missing"):
        alteration_indices(_sr(vals).sel(band=["red", "blue", "swir1", "nir"]))


def test_crosta_component_highlights_alteration() -> None:
    sr, _, _, ore = _scene()
    res = crosta_pca(sr, bands=("blue", "nir", "swir1", "swir2"), bright="swir1", dark="swir2")
    row = res.loadings.iloc[res.selected]
    assert row["swir1"] - row["swir2"] > 0
    assert res.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert prospectivity_auc(res.component, ore) > 0.9
    with pytest.raises(DataError, match="two different bands"):
        crosta_pca(sr, bands=("blue", "nir"), bright="swir1", dark="swir2")


def test_fuzzy_and_structural_layers_known_answers() -> None:
    assert fuzzy_gamma([np.array(0.5), np.array(0.8)], gamma=0.5) == pytest.approx(0.6)
    assert fuzzy_gamma([np.array(0.5), np.array(0.8)], gamma=0.0) == pytest.approx(0.4)
    assert fuzzy_gamma([np.array(0.5), np.array(0.8)], gamma=1.0) == pytest.approx(0.9)
    mu = fuzzy_membership(np.arange(101.0), low_pct=10, high_pct=90)
    assert mu[10] == 0.0 and mu[90] == 1.0 and mu[50] == pytest.approx(0.5)
    fault = np.zeros((3, 8))
    fault[:, 0] = 1
    prox = fault_proximity(fault, pixel_size=10.0, decay_m=100.0)
    assert prox[1, 5] == pytest.approx(np.exp(-0.5))
    assert prox[1, 0] == 1.0
    assert not fault_proximity(np.zeros((2, 2)), pixel_size=10.0, decay_m=100.0).any()
    fav = lithology_favourability(np.array([[1, 2, 0]]), {1: 0.9, 2: 0.3})
    np.testing.assert_allclose(fav, [[0.9, 0.3, np.nan]])
    with pytest.raises(DataError, match=r"lithology codes \[3\] have no favourability"):
        lithology_favourability(np.array([[1, 3]]), {1: 0.9})
    with pytest.raises(DataError, match="outside"):
        lithology_favourability(np.array([[1]]), {1: 1.5})
    with pytest.raises(DataError, match="gamma"):
        fuzzy_gamma([np.array(0.5)], gamma=2.0)


def test_auc_and_success_rate_on_constructed_maps() -> None:
    score = np.array([[0.1, 0.4], [0.35, 0.8]])
    ore = np.array([[0, 0], [1, 1]])
    assert prospectivity_auc(score, ore) == pytest.approx(0.75)
    # ranking 4 > 3 > 2 > 1 captures 0, .5, .5, 1, 1 of the ore at 0, .25, .5, .75, 1 of the area
    curve = success_rate_curve(np.array([4.0, 3.0, 2.0, 1.0]), np.array([1, 0, 1, 0]), n_points=5)
    np.testing.assert_allclose(curve["ore_fraction"], [0.0, 0.5, 0.5, 1.0, 1.0])
    assert curve.attrs["auc"] == pytest.approx(0.625)
    summary, _ = evaluate_prospectivity(
        np.array([4.0, 3.0, 2.0, 1.0]), np.array([1, 0, 1, 0]), top_fraction=0.25
    )
    assert summary["ore_captured_top"] == pytest.approx(0.5)
    with pytest.raises(DataError, match="no ore"):
        prospectivity_auc(score, np.zeros((2, 2)))
    with pytest.raises(DataError, match="differ in shape"):
        prospectivity_auc(score, np.zeros((3, 2)))


@pytest.mark.parametrize("method", ["weighted", "gamma"])
def test_prospectivity_map_finds_the_ore_zone(method: str) -> None:
    sr, lith, fault, ore = _scene()
    ds = prospectivity_map(
        sr,
        lith,
        fault,
        pixel_size=10.0,
        lithology_weights={1: 0.8, 2: 0.3},
        fault_decay_m=80.0,
        method=method,
    )
    p = ds["prospectivity"].values
    assert np.nanmin(p) >= 0.0 and np.nanmax(p) <= 1.0
    assert {"clay", "hydroxyl_pc", "lithology", "faults"} <= set(ds.data_vars)
    assert prospectivity_auc(p, ore) > 0.9
    assert ds.attrs["method"] == method


def test_prospectivity_map_bad_inputs() -> None:
    sr, lith, fault, _ = _scene()
    with pytest.raises(DataError, match="misaligned"):
        prospectivity_map(sr, lith[:-1], fault, pixel_size=10.0, lithology_weights={1: 0.8, 2: 0.3})
    with pytest.raises(DataError, match="unknown evidence layers"):
        prospectivity_map(
            sr,
            lith,
            fault,
            pixel_size=10.0,
            lithology_weights={1: 0.8, 2: 0.3},
            evidence_weights={"gold": 1.0},
        )
    with pytest.raises(DataError, match="method 'max' is unknown"):
        prospectivity_map(
            sr, lith, fault, pixel_size=10.0, lithology_weights={1: 0.8, 2: 0.3}, method="max"
        )
