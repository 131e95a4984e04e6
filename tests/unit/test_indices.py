"""Known-answer tests of the spectral indices."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from coexplore.errors import DataError
from coexplore.features.indices import (
    INDEX_FORMULAS,
    bsi,
    clay_ratio,
    compute_indices,
    evi,
    ferrous_ratio,
    iron_oxide_ratio,
    lswi,
    mndwi,
    nbr,
    ndbi,
    ndvi,
    ndwi,
    safe_divide,
    savi,
    simple_ratio,
)
from coexplore.sensors import Landsat8

# one pixel of healthy vegetation over soil (surface reflectance)
B = {"coastal": 0.04, "blue": 0.05, "green": 0.08, "red": 0.10, "nir": 0.50, "swir1": 0.30,
     "swir2": 0.20, "tir": 300.0}  # fmt: skip

# hand-computed values for the pixel B
EXPECTED = {
    "ndvi": 0.4 / 0.6,
    "evi": 2.5 * 0.4 / (0.5 + 0.6 - 0.375 + 1.0),  # 1.0 / 1.725
    "savi": 1.5 * 0.4 / 1.1,
    "ndwi": -0.42 / 0.58,
    "mndwi": -0.22 / 0.38,
    "lswi": 0.2 / 0.8,
    "ndbi": -0.2 / 0.8,
    "nbr": 0.3 / 0.7,
    "bsi": -0.15 / 0.95,
    "sr": 5.0,
    "clay_ratio": 1.5,
    "iron_oxide_ratio": 2.0,
    "ferrous_ratio": 0.6,
}


def test_each_index_on_known_bands():
    got = {
        "ndvi": ndvi(B["nir"], B["red"]),
        "evi": evi(B["nir"], B["red"], B["blue"]),
        "savi": savi(B["nir"], B["red"]),
        "ndwi": ndwi(B["green"], B["nir"]),
        "mndwi": mndwi(B["green"], B["swir1"]),
        "lswi": lswi(B["nir"], B["swir1"]),
        "ndbi": ndbi(B["swir1"], B["nir"]),
        "nbr": nbr(B["nir"], B["swir2"]),
        "bsi": bsi(B["blue"], B["red"], B["nir"], B["swir1"]),
        "sr": simple_ratio(B["nir"], B["red"]),
        "clay_ratio": clay_ratio(B["swir1"], B["swir2"]),
        "iron_oxide_ratio": iron_oxide_ratio(B["red"], B["blue"]),
        "ferrous_ratio": ferrous_ratio(B["swir1"], B["nir"]),
    }
    assert set(got) == set(INDEX_FORMULAS)
    for name, value in got.items():
        assert float(value) == pytest.approx(EXPECTED[name], rel=1e-9), name


def test_table_functions_match_and_band_mapping():
    for name, f in INDEX_FORMULAS.items():
        assert float(f.function(*(B[b] for b in f.bands))) == pytest.approx(EXPECTED[name])
        assert all(b in Landsat8.bands for b in f.bands)
        assert f.formula and f.reference
    assert INDEX_FORMULAS["ndvi"].oli_bands == (5, 4)
    assert INDEX_FORMULAS["nbr"].oli_bands == (5, 7)


def test_division_by_zero_gives_nan_not_inf():
    zero = np.zeros(3)
    with np.errstate(all="raise"):  # no floating-point warning either
        out = ndvi(zero, zero)
        ratio = simple_ratio(np.ones(3), zero)
    assert np.isnan(out).all() and np.isnan(ratio).all()
    da = xr.DataArray([0.0, 0.2], dims="x")
    assert np.isnan(safe_divide(da, da).values[0])
    assert float(safe_divide(da, da).values[1]) == 1.0


def _cube(bands: dict[str, float]) -> xr.DataArray:
    values = np.stack([np.full((2, 3, 4), v, dtype=np.float32) for v in bands.values()], axis=1)
    return xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={
            "band": list(bands),
            "time": [np.datetime64("2021-06-01"), np.datetime64("2021-07-01")],
        },
    )


def test_compute_indices_on_cube_keeps_dims():
    cube = _cube(B)
    out = compute_indices(cube)
    assert out.dims == cube.dims
    assert list(out["band"].values) == list(INDEX_FORMULAS)
    assert out.dtype == np.float32
    for name in INDEX_FORMULAS:
        np.testing.assert_allclose(out.sel(band=name).values, EXPECTED[name], rtol=1e-5)
    sub = compute_indices(cube, names=["ndvi", "lswi"])
    assert list(sub["band"].values) == ["ndvi", "lswi"]


def test_missing_band_names_band_and_cube():
    bands = {k: v for k, v in B.items() if k != "swir2"}
    with pytest.raises(DataError, match=r"cube 'landsat8' lacks band\(s\) \['swir2'\].*'nbr'"):
        compute_indices(_cube(bands), names=["ndvi", "nbr"])


def test_unknown_index():
    with pytest.raises(DataError, match="unknown spectral index 'ndsi'"):
        compute_indices(_cube(B), names=["ndsi"])
