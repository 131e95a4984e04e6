"""Fusion: noise estimation, inverse-noise weighted average, PCA, MI screening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from coexplore.errors import ConfigError, DataError
from coexplore.fusion import (
    apply_pca,
    band_sample,
    estimate_noise_variance,
    fit_pca,
    mutual_information_screening,
    normalised_mutual_information,
    weighted_average,
)

SHAPE = (40, 40)
TIMES = pd.date_range("2021-01-01", periods=4, freq="MS")


def _signal() -> np.ndarray:
    """Smooth (time, y, x) field: long-wavelength waves, nearly planar per 3x3."""
    t, y, x = np.meshgrid(np.arange(4), np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    return np.sin(2 * np.pi * x / 80.0 + t) + np.cos(2 * np.pi * y / 90.0) + 0.1 * t


def _cube(bands: dict[str, np.ndarray]) -> xr.DataArray:
    data = np.stack(list(bands.values()), axis=1).astype(np.float32)
    da = xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={
            "time": TIMES,
            "band": list(bands),
            "y": 4_000_000.0 - 10.0 * (np.arange(SHAPE[0]) + 0.5),
            "x": 500_000.0 + 10.0 * (np.arange(SHAPE[1]) + 0.5),
        },
    )
    return da.rio.write_crs("EPSG:32650")


@pytest.mark.parametrize("robust", [True, False])
def test_noise_variance_recovers_injected_noise(robust):
    rng = np.random.default_rng(0)
    s = _signal()
    cube = _cube({"a": s + rng.normal(0, 0.05, s.shape), "b": s + rng.normal(0, 0.2, s.shape)})
    nv = estimate_noise_variance(cube, robust=robust)
    assert list(nv["band"].values) == ["a", "b"]
    np.testing.assert_allclose(np.sqrt(nv.values), [0.05, 0.2], rtol=0.1)


def test_noise_variance_zero_on_planes_and_errors():
    y, x = np.mgrid[0:10, 0:12]
    plane = xr.DataArray(
        (3.0 * x - 2.0 * y)[None].astype(float), dims=("band", "y", "x"), coords={"band": ["p"]}
    )
    assert float(estimate_noise_variance(plane).item()) == pytest.approx(0.0, abs=1e-20)
    empty = plane.copy(data=np.full_like(plane.values, np.nan))
    with pytest.raises(DataError, match="band 'p' has no pixel with a complete 3x3"):
        estimate_noise_variance(empty)


def test_weighted_average_weights_follow_injected_noise():
    rng = np.random.default_rng(1)
    s = _signal()
    sigma_a, sigma_b = 0.05, 0.10
    a = _cube({"red": s + rng.normal(0, sigma_a, s.shape)})
    # source b in other units (x 100 + 7): z-scoring matches it to a
    b = _cube({"red": 100.0 * (s + rng.normal(0, sigma_b, s.shape)) + 7.0})
    fused, w = weighted_average({"a": a, "b": b})
    assert fused.dims == ("time", "band", "y", "x")
    assert list(w.columns) == ["a", "b"] and list(w.index) == ["red"]
    assert w.loc["red"].sum() == pytest.approx(1.0)
    # inverse noise variance: w_a / w_b = sigma_b^2 / sigma_a^2 = 4
    assert w.loc["red", "a"] / w.loc["red", "b"] == pytest.approx(4.0, rel=0.2)
    truth = (s - s.mean()) / s.std()
    err = {
        "fused": np.std(fused.sel(band="red").values - truth),
        "a": np.std((a.sel(band="red").values - a.values.mean()) / a.values.std() - truth),
        "b": np.std((b.sel(band="red").values - b.values.mean()) / b.values.std() - truth),
    }
    assert err["fused"] < err["a"] < err["b"]


def test_weighted_average_fixed_weights_and_gaps():
    s = _signal()
    a = _cube({"red": s, "nir": s})
    b = _cube({"red": 2 * s, "green": s})
    b.loc[{"band": "red"}] = b.sel(band="red").where(b["x"] > b["x"][9])  # gap in b
    fused, w = weighted_average({"a": a, "b": b}, weights={"a": 3.0, "b": 1.0})
    assert list(fused["band"].values) == ["red"]  # the only common band
    assert w.loc["red"].tolist() == [0.75, 0.25]
    za = (s - s.mean()) / s.std()
    # where b is NaN, the weights renormalise onto a alone
    np.testing.assert_allclose(fused.sel(band="red").isel(x=slice(0, 10)), za[..., :10], atol=1e-5)
    assert fused.rio.crs.to_epsg() == 32650
    mapped, w2 = weighted_average(
        {"a": a, "b": b}, bands={"veg": {"a": "nir", "b": "green"}}, weights="inverse_noise"
    )
    assert list(mapped["band"].values) == ["veg"] and list(w2.index) == ["veg"]
    # a source contributing to one band only; per-band weights
    partial, w3 = weighted_average(
        {"a": a, "b": b},
        bands={"red": {"a": "red", "b": "red"}, "nir": {"a": "nir"}},
        weights={"a": {"red": 1.0, "nir": 2.0}, "b": {"red": 3.0}},
    )
    assert w3.loc["red"].tolist() == [0.25, 0.75]
    assert w3.loc["nir", "a"] == 1.0 and np.isnan(w3.loc["nir", "b"])
    np.testing.assert_allclose(partial.sel(band="nir"), za, atol=1e-5)
    with pytest.raises(ConfigError, match="finite and non-negative"):
        weighted_average({"a": a, "b": b}, weights={"a": 1.0, "b": -1.0})


def test_weighted_average_errors():
    s = _signal()
    a, b = _cube({"red": s}), _cube({"vv": s})
    with pytest.raises(DataError, match="share no band name"):
        weighted_average({"a": a, "b": b})
    with pytest.raises(DataError, match="cube 'b' has no band 'vh'"):
        weighted_average({"a": a, "b": b}, bands={"x": {"a": "red", "b": "vh"}})
    shifted = _cube({"red": s}).assign_coords(x=lambda d: d["x"] + 10.0)
    with pytest.raises(DataError, match="not on the grid"):
        weighted_average({"a": a, "b": shifted})
    const = _cube({"red": np.ones_like(s)})
    with pytest.raises(DataError, match="constant or empty"):
        weighted_average({"a": a, "b": const})
    with pytest.raises(ConfigError, match="no weight for source 'b'"):
        weighted_average({"a": a, "b": _cube({"red": s + 1})}, weights={"a": 1.0})
    with pytest.raises(ConfigError, match="weights='snr' unknown"):
        weighted_average({"a": a}, weights="snr")
    with pytest.raises(DataError, match="got no source"):
        weighted_average({})


def _pca_cube() -> xr.DataArray:
    rng = np.random.default_rng(2)
    s = _signal()
    bands = {
        "b1": s,
        "b2": 2 * s + rng.normal(0, 0.1, s.shape),
        "b3": rng.normal(0, 1, s.shape),
        "b4": 0.5 * s - rng.normal(0, 0.3, s.shape),
    }
    cube = _cube(bands)
    cube[0, 0, 0, 0] = np.nan
    return cube


def test_pca_reconstruction_with_all_components():
    cube = _pca_cube()
    model = fit_pca(cube, n_components=4, sample_size=2000, seed=0)
    assert model.n_samples_ == 2000
    assert model.explained_variance_ratio_.sum() == pytest.approx(1.0)
    assert model.explained_variance_ratio_[0] > 0.6  # three bands share the signal
    pcs = apply_pca(cube, model)
    assert pcs.dims == ("time", "component", "y", "x")
    assert list(pcs["component"].values) == ["pc1", "pc2", "pc3", "pc4"]
    assert np.isnan(pcs.values[0, :, 0, 0]).all()  # a NaN band gives NaN components
    rows = pcs.transpose("time", "y", "x", "component").values.reshape(-1, 4).astype(np.float64)
    back = model.inverse_transform(rows[1:])
    orig = cube.transpose("time", "y", "x", "band").values.reshape(-1, 4)[1:]
    np.testing.assert_allclose(back, orig, atol=1e-4)
    loadings = model.loadings()
    assert list(loadings.columns)[:4] == ["b1", "b2", "b3", "b4"]


def test_pca_chunked_equals_unchunked_and_is_seeded():
    cube = _pca_cube()
    model = fit_pca(cube, n_components=2, sample_size=500, seed=5)
    again = fit_pca(cube, n_components=2, sample_size=500, seed=5)
    np.testing.assert_array_equal(model.pca_.components_, again.pca_.components_)
    eager = apply_pca(cube, model)
    lazy = apply_pca(cube.chunk({"time": 1, "band": 2, "y": 16, "x": 25}), model)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(eager.values, lazy.compute().values)
    assert eager.attrs["explained_variance_ratio"] == pytest.approx(
        list(model.explained_variance_ratio_)
    )


def test_pca_large_cube_samples_subset():
    cube = _pca_cube()
    model = fit_pca(cube, n_components=3, sample_size=100, seed=1)  # 6400 cells > 4 x 100
    assert model.n_samples_ == 100


def test_pca_errors():
    cube = _pca_cube()
    with pytest.raises(ConfigError, match="n_components=5 must be between 1 and the 4 bands"):
        fit_pca(cube, n_components=5, seed=0)
    nan_cube = cube.where(cube["band"] != "b3")
    with pytest.raises(DataError, match="only 0 cells with all of"):
        fit_pca(nan_cube, n_components=2, seed=0, sample_size=50)
    model = fit_pca(cube, n_components=2, seed=0, sample_size=50)
    with pytest.raises(DataError, match=r"lacks band\(s\) \['b4'\]"):
        apply_pca(cube.sel(band=["b1", "b2", "b3"]), model)


def test_mi_screening_drops_duplicated_band_of_other_source():
    rng = np.random.default_rng(3)
    n = 600
    a = rng.normal(size=n)
    bands = xr.DataArray(
        np.stack(
            [
                a,  # s1:a
                a + rng.normal(0, 0.3, n),  # s1:a_noisy, same source: never dropped
                a + rng.normal(0, 1e-3, n),  # s2:a_dup, redundant with s1:a
                rng.normal(size=n),  # s2:b, independent: complementary
            ]
        ),
        dims=("band", "sample"),
        coords={
            "band": ["s1:a", "s1:a_noisy", "s2:a_dup", "s2:b"],
            "source": ("band", ["s1", "s1", "s2", "s2"]),
        },
    )
    kept, mi = mutual_information_screening(bands, threshold=0.9, seed=0)
    assert kept == ["s1:a", "s1:a_noisy", "s2:b"]
    assert mi.shape == (4, 4) and list(mi.index) == list(bands["band"].values)
    np.testing.assert_allclose(np.diag(mi), 1.0)
    np.testing.assert_allclose(mi.values, mi.values.T)
    assert mi.loc["s1:a", "s2:a_dup"] > 0.99
    assert mi.loc["s1:a", "s2:b"] < 0.3
    again, mi2 = mutual_information_screening(bands, threshold=0.9, seed=0)
    assert again == kept and mi2.equals(mi)


def test_mi_without_sources_compares_all_pairs():
    rng = np.random.default_rng(4)
    a = rng.normal(size=300)
    bands = xr.DataArray(np.stack([a, a + rng.normal(0, 1e-3, 300)]), dims=("band", "sample"),
                         coords={"band": ["x", "y"]})  # fmt: skip
    kept, _ = mutual_information_screening(bands, threshold=0.9, seed=0)
    assert kept == ["x"]


def test_linfoot_normalisation_equals_gaussian_correlation():
    # for a bivariate normal with correlation r, MI = -ln(1 - r^2) / 2
    r = 0.6
    assert normalised_mutual_information(-0.5 * np.log(1 - r**2)) == pytest.approx(r)
    assert normalised_mutual_information(0.0) == 0.0


def test_mi_errors():
    bands = xr.DataArray(np.ones((2, 3)), dims=("band", "sample"), coords={"band": ["a", "b"]})
    with pytest.raises(ConfigError, match=r"threshold=1.5 must be in \(0, 1\]"):
        mutual_information_screening(bands, threshold=1.5, seed=0)
    with pytest.raises(DataError, match="only 3 samples"):
        mutual_information_screening(bands, threshold=0.9, seed=0)


def test_band_sample_builds_source_coordinates():
    s = _signal()
    a, b = _cube({"red": s, "nir": s}), _cube({"vv": s})
    sample = band_sample({"landsat8": a, "sentinel1": b}, sample_size=50, seed=0)
    assert sample.dims == ("band", "sample") and sample.sizes["sample"] == 50
    assert list(sample["band"].values) == ["landsat8:red", "landsat8:nir", "sentinel1:vv"]
    assert list(sample["source"].values) == ["landsat8", "landsat8", "sentinel1"]
    np.testing.assert_array_equal(sample.values[0], sample.values[2])  # same cells
