"""The feature stack from small synthetic cubes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from coexplore.errors import ConfigError, DataError
from coexplore.features.indices import INDEX_FORMULAS, ndvi
from coexplore.features.stack import FeatureConfig, build_feature_stack
from coexplore.features.texture import GLCM_FEATURES
from coexplore.sensors import Landsat8, Meteo

H, W = 12, 14
TIMES = pd.date_range("2020-12-01", "2021-12-01", freq="MS")
Y = 4_000_000.0 - 10.0 * (np.arange(H) + 0.5)
X = 500_000.0 + 10.0 * (np.arange(W) + 0.5)


def _cube(values: dict[str, np.ndarray]) -> xr.Dataset:
    data = np.stack(list(values.values()), axis=1).astype(np.float32)
    ds = xr.Dataset(
        {
            "data": (("time", "band", "y", "x"), data),
            "filled": (("time", "band", "y", "x"), np.zeros(data.shape, bool)),
        },
        coords={"time": TIMES, "band": list(values), "y": Y, "x": X},
    )
    return ds.rio.write_crs("EPSG:32650")


def _field(scale: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    month = TIMES.month.to_numpy()[:, None, None]
    return scale * (1.0 + 0.1 * month) * (0.5 + rng.random((1, H, W)))


def _cubes(drop_band: str | None = None) -> dict[str, xr.Dataset]:
    l8 = {b: _field(0.1, i) for i, b in enumerate(Landsat8.bands)}
    l8["nir"] = l8["nir"] * 3.0
    l8["tir"] = 290.0 + l8["tir"]
    if drop_band:
        del l8[drop_band]
    s1 = {"vv": -10.0 + _field(1.0, 20), "vh": -17.0 + _field(1.0, 21)}
    tex = _field(1.0, 30)
    tex[:, :, W // 2 :] = np.nan  # flights covered the western half only
    tex[TIMES.month != 7] = np.nan  # one flight, in July
    drone = {"red": tex, "green": tex, "blue": tex, "texture": tex}
    meteo = {v: _field(10.0, 40 + i) for i, v in enumerate(Meteo.variables)}
    return {
        "landsat8": _cube(l8),
        "sentinel1": _cube(s1),
        "drone": _cube(drone),
        "meteo": _cube(meteo),
    }


def _dem() -> xr.Dataset:
    rows = np.arange(H)[:, None] * np.ones(W)
    z = 500.0 + 10.0 * rows  # 10 m per 10 m row southwards: 45 degrees, facing north
    ds = xr.Dataset(
        {"data": (("band", "y", "x"), z[None])}, coords={"band": ["elevation"], "y": Y, "x": X}
    )
    return ds.rio.write_crs("EPSG:32650")


@pytest.fixture(scope="module")
def stack() -> xr.DataArray:
    return build_feature_stack(_cubes(), year=2021, static={"dem": _dem()})


def test_stack_layout(stack):
    assert stack.dims == ("feature", "y", "x") and stack.dtype == np.float32
    assert stack.shape[1:] == (H, W)
    names = list(stack["feature"].values)
    assert len(names) == len(set(names))
    n_season = 4 * (8 + len(INDEX_FORMULAS) + 3) + len(GLCM_FEATURES)  # landsat8
    n_season += 4 * 3  # sentinel1 vv, vh, ratio
    expected = n_season + 1 + 2 * len(Meteo.variables) + 3  # drone, meteo, terrain
    assert len(names) == expected
    assert stack.attrs["year"] == 2021
    assert stack.rio.crs.to_epsg() == 32650
    for name in [
        "landsat8:summer:ndvi",
        "landsat8:winter:brightness",
        "landsat8:summer:nir_glcm_entropy",
        "sentinel1:autumn:vv_vh_ratio_db",
        "drone:annual:texture",
        "meteo:annual:temperature_mean",
        "dem:static:slope",
    ]:
        assert name in names, name
    row = stack.sel(feature="landsat8:summer:nir_glcm_entropy")
    assert str(row["source"].values) == "landsat8" and str(row["group"].values) == "texture"
    assert str(stack.sel(feature="dem:static:aspect")["season"].values) == "static"


def test_stack_values(stack):
    l8 = _cubes()["landsat8"]["data"]
    summer = l8.sel(time=slice("2021-06", "2021-08")).median("time")
    expected = ndvi(summer.sel(band="nir"), summer.sel(band="red"))
    np.testing.assert_allclose(stack.sel(feature="landsat8:summer:ndvi"), expected, rtol=1e-5)
    winter = l8.sel(time=slice("2020-12", "2021-02")).median("time")
    np.testing.assert_allclose(
        stack.sel(feature="landsat8:winter:red"), winter.sel(band="red"), rtol=1e-6
    )
    s1 = _cubes()["sentinel1"]["data"].sel(time=slice("2021-03", "2021-05")).median("time")
    np.testing.assert_allclose(
        stack.sel(feature="sentinel1:spring:vv_vh_ratio_db"),
        s1.sel(band="vv") - s1.sel(band="vh"),
        rtol=1e-5,
    )
    drone = stack.sel(feature="drone:annual:texture").values
    assert np.isnan(drone[:, W // 2 :]).all() and np.isfinite(drone[:, : W // 2]).all()
    np.testing.assert_allclose(stack.sel(feature="dem:static:slope"), 45.0, atol=1e-4)
    np.testing.assert_allclose(stack.sel(feature="dem:static:aspect"), 0.0, atol=1e-4)
    np.testing.assert_allclose(stack.sel(feature="dem:static:elevation"), _dem()["data"][0])


def test_config_subset_and_brightness_texture():
    cubes = _cubes()
    out = build_feature_stack(
        {"landsat8": cubes["landsat8"]["data"]},
        year=2021,
        config={
            "sources": ["landsat8"],
            "seasons": ["summer"],
            "indices": ["ndvi", "ndbi"],
            "optical_bands": [],
            "tasseled_cap": False,
            "texture_input": "brightness",
            "texture_features": ["contrast"],
            "terrain": False,
        },
    )
    assert list(out["feature"].values) == [
        "landsat8:summer:ndvi",
        "landsat8:summer:ndbi",
        "landsat8:summer:brightness_glcm_contrast",
    ]


def test_missing_band_names_band_and_cube():
    with pytest.raises(DataError, match="cube 'landsat8' has no band 'swir2'"):
        build_feature_stack(_cubes(drop_band="swir2"), year=2021, static={"dem": _dem()})
    cubes = _cubes()
    cubes["sentinel1"] = cubes["sentinel1"].sel(band=["vv"])
    with pytest.raises(DataError, match="cube 'sentinel1' has no band 'vh'"):
        build_feature_stack(cubes, year=2021, static={"dem": _dem()})


def test_missing_cube_static_and_year():
    cubes = _cubes()
    del cubes["meteo"]
    with pytest.raises(DataError, match=r"cube\(s\) \['meteo'\] are configured"):
        build_feature_stack(cubes, year=2021, static={"dem": _dem()})
    with pytest.raises(DataError, match="static layer 'dem' is not given"):
        build_feature_stack(_cubes(), year=2021, static={})
    with pytest.raises(DataError, match="no time step in spring 2022"):
        build_feature_stack(_cubes(), year=2022, static={"dem": _dem()})


def test_config_errors():
    with pytest.raises(ConfigError, match=r"unknown feature option\(s\) \['colour'\]"):
        FeatureConfig.from_mapping({"colour": "red"})
    with pytest.raises(ConfigError, match="unknown season"):
        FeatureConfig(seasons=("monsoon",))
    with pytest.raises(ConfigError, match="unknown index"):
        FeatureConfig(indices=("ndsi",))
    with pytest.raises(ConfigError, match="texture_window=4"):
        FeatureConfig(texture_window=4)
