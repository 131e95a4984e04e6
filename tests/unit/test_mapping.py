"""Block-wise map prediction, uncertainty, and the land-use COG."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC

from coexplore.errors import ConfigError, DataError
from coexplore.learn.mapping import predict_map, write_landuse_map
from coexplore.models.classical import make_classifier
from coexplore.sensors import LandUse

H, W = 20, 24


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """Test double: class probabilities from the first feature's value."""

    def __init__(self, table: dict[float, list[float]], classes: list[int]):
        self.table = table
        self.classes = classes

    def fit(self, x, y=None):
        self.classes_ = np.asarray(self.classes)
        self.n_features_in_ = np.asarray(x).shape[1]
        return self

    def predict_proba(self, x):
        return np.array([self.table[float(v)] for v in np.asarray(x)[:, 0]])


def _features(n_feat: int = 3) -> xr.DataArray:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(n_feat, H, W)).astype(np.float32)
    data[:, 0, :3] = np.nan  # unmapped corner
    da = xr.DataArray(
        data,
        dims=("feature", "y", "x"),
        coords={
            "feature": [f"f{i}" for i in range(n_feat)],
            "y": 4_000_000.0 - 10.0 * (np.arange(H) + 0.5),
            "x": 500_000.0 + 10.0 * (np.arange(W) + 0.5),
        },
    )
    return da.rio.write_crs("EPSG:32650")


def test_entropy_and_margin_known_answers():
    feats = _features(1)
    values = np.zeros((1, H, W), np.float32)
    values[0, :, W // 2 :] = 1.0
    values[0, 0, :3] = np.nan
    feats = feats.copy(data=values)
    table = {0.0: [0.5, 0.5, 0.0, 0.0], 1.0: [0.7, 0.1, 0.1, 0.1]}
    est = FixedProbabilities(table, [1, 2, 5, 6]).fit(np.zeros((1, 1)))
    cls, prob, unc = predict_map(est, feats, block_rows=7)
    # left half: tie between classes 1 and 2 -> argmax takes the first; entropy ln2 / ln4 = 0.5
    assert cls.values[5, 0] == 1 and cls.values[5, -1] == 1
    np.testing.assert_allclose(unc["entropy"].values[5, : W // 2], 0.5, atol=1e-6)
    np.testing.assert_allclose(unc["margin"].values[5, : W // 2], 0.0, atol=1e-6)
    h = -(0.7 * np.log(0.7) + 3 * 0.1 * np.log(0.1)) / np.log(4)
    np.testing.assert_allclose(unc["entropy"].values[5, W // 2 :], h, atol=1e-6)
    np.testing.assert_allclose(unc["margin"].values[5, W // 2 :], 0.6, atol=1e-6)
    assert (cls.values[0, :3] == LandUse.nodata).all()
    assert np.isnan(prob.values[:, 0, :3]).all() and np.isnan(unc["entropy"].values[0, :3]).all()
    assert list(prob["class"].values) == [1, 2, 5, 6]


def test_predict_map_matches_estimator_and_blocks():
    feats = _features()
    x = feats.values.reshape(3, -1).T
    y = np.where(x[:, 0] > 0, 1, 3)
    ok = np.isfinite(x).all(axis=1)
    clf = make_classifier("rf", seed=0, n_estimators=20).fit(x[ok], y[ok])
    cls, prob, unc = predict_map(clf, feats, block_rows=64)
    cls7, prob7, _ = predict_map(clf, feats.chunk({"y": 5}), block_rows=7)
    assert cls.dtype == np.uint8 and cls.dims == ("y", "x")
    np.testing.assert_array_equal(cls.values, cls7.values)
    np.testing.assert_allclose(prob.values, prob7.values)
    mapped = cls.values != 0
    expected = clf.predict(x[mapped.ravel()])
    np.testing.assert_array_equal(cls.values[mapped], expected)
    np.testing.assert_allclose(np.nansum(prob.values, axis=0)[mapped], 1.0, rtol=1e-5)
    e, m = unc["entropy"].values[mapped], unc["margin"].values[mapped]
    assert ((e >= 0) & (e <= 1)).all() and ((m >= 0) & (m <= 1)).all()
    assert cls.rio.crs.to_epsg() == 32650


def test_predict_map_errors():
    feats = _features()
    x = np.nan_to_num(feats.values.reshape(3, -1).T)
    y = np.where(x[:, 0] > 0, 1, 2)
    with pytest.raises(ConfigError, match="has no predict_proba"):
        predict_map(SVC().fit(x, y), feats)
    clf = make_classifier("nb", seed=0).fit(x[:, :2], y)
    with pytest.raises(DataError, match="trained on 2 features but the stack has 3"):
        predict_map(clf, feats)
    with pytest.raises(DataError, match="other than nodata=0"):
        predict_map(make_classifier("nb", seed=0).fit(x, y - 1), feats)


def test_write_landuse_map_cog(tmp_path):
    feats = _features()
    codes = np.tile(np.arange(0, 7, dtype=np.uint8), (H, W // 7 + 1))[:, :W]
    cls = xr.DataArray(codes, dims=("y", "x"), coords={"y": feats["y"], "x": feats["x"]})
    cls = cls.rio.write_crs("EPSG:32650")
    path = write_landuse_map(tmp_path / "landuse_2021.tif", cls, tags={"MODEL": "rf"})
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(1), codes)
        assert src.nodata == 0
        assert src.crs.to_epsg() == 32650
        assert src.transform.a == 10.0 and src.transform.c == 500_000.0
        assert src.colormap(1)[5] == (105, 105, 105, 255)
        tags = src.tags()
        assert tags["CLASS_5"] == "mining" and tags["MODEL"] == "rf"
        assert src.descriptions[0] == "landuse"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_write_landuse_map_errors(tmp_path):
    cls = xr.DataArray(np.ones((4, 4), np.uint8), dims=("y", "x"),
                       coords={"y": np.arange(4.0)[::-1], "x": np.arange(4.0)})  # fmt: skip
    with pytest.raises(DataError, match="has no CRS"):
        write_landuse_map(tmp_path / "a.tif", cls)
    bad = cls.copy(data=np.full((4, 4), 9, np.uint8)).rio.write_crs("EPSG:32650")
    with pytest.raises(DataError, match=r"holds codes \[9\] outside the land-use classes"):
        write_landuse_map(tmp_path / "b.tif", bad)
    assert not (tmp_path / "b.tif").exists()
