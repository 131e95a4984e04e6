"""GLCM texture: hand-computed pattern, equality with scikit-image per window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from skimage.feature import graycomatrix, graycoprops

from coexplore.errors import DataError
from coexplore.features.texture import (
    DEFAULT_ANGLES,
    GLCM_FEATURES,
    glcm_features,
    glcm_texture,
    quantise,
)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
SKIMAGE_PROPS = {
    "asm": "ASM",
    "entropy": "entropy",
    "contrast": "contrast",
    "homogeneity": "homogeneity",
    "correlation": "correlation",
}


def test_vertical_stripes_by_hand():
    # columns alternate 0, 1; a 3x3 window inside holds columns (0, 1, 0) or (1, 0, 1)
    img = np.tile([0.0, 1.0], (6, 3))
    out = glcm_features(img, window=3, levels=2, angles=(0.0, np.pi / 2))
    # angle 0: 6 horizontal pairs, all {0, 1}: P(0,1) = P(1,0) = 1/2
    #   ASM 1/2, entropy ln 2, contrast 1, IDM 1/2, correlation -1
    # angle 90: 6 vertical pairs, 4 of the majority level and 2 of the other:
    #   P = diag(2/3, 1/3): ASM 5/9, entropy H(2/3), contrast 0, IDM 1, correlation +1
    h23 = -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3))
    inner = (slice(None), slice(1, 5))
    np.testing.assert_allclose(out["asm"][inner], (0.5 + 5 / 9) / 2, atol=1e-6)
    np.testing.assert_allclose(out["entropy"][inner], (np.log(2) + h23) / 2, atol=1e-6)
    np.testing.assert_allclose(out["contrast"], 0.5, atol=1e-6)
    np.testing.assert_allclose(out["homogeneity"], 0.75, atol=1e-6)
    np.testing.assert_allclose(out["correlation"], 0.0, atol=1e-6)
    # border columns: the clipped window has one column of each level, so P = diag(1/2, 1/2)
    # at 90 degrees as well
    np.testing.assert_allclose(out["asm"][:, [0, 5]], 0.5, atol=1e-6)
    np.testing.assert_allclose(out["entropy"][:, [0, 5]], np.log(2), atol=1e-6)


def test_constant_window():
    out = glcm_features(np.full((5, 5), 3.0), window=3, levels=4)
    # one grey level: P(0,0) = 1 (constant image quantises to level 0)
    np.testing.assert_allclose(out["asm"], 1.0)
    np.testing.assert_allclose(out["entropy"], 0.0, atol=1e-7)
    np.testing.assert_allclose(out["contrast"], 0.0)
    np.testing.assert_allclose(out["homogeneity"], 1.0)
    np.testing.assert_allclose(out["correlation"], 1.0)  # scikit-image's convention


def _skimage_window(q: np.ndarray, r: int, c: int, half: int, levels: int, distances) -> dict:
    win = q[max(0, r - half) : r + half + 1, max(0, c - half) : c + half + 1]
    p = graycomatrix(
        win.astype(np.uint8),
        distances,
        list(DEFAULT_ANGLES),
        levels=levels,
        symmetric=True,
        normed=True,
    )
    return {k: float(graycoprops(p, v).mean()) for k, v in SKIMAGE_PROPS.items()}


def test_equals_skimage_on_every_window():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(11, 13))
    levels, window = 5, 5
    out = glcm_features(img, window=window, levels=levels, distances=(1, 2))
    q = quantise(img, levels=levels)
    for r in range(img.shape[0]):
        for c in range(img.shape[1]):
            ref = _skimage_window(q, r, c, window // 2, levels, [1, 2])
            for k in GLCM_FEATURES:
                assert out[k][r, c] == pytest.approx(ref[k], abs=1e-5), (k, r, c)


def test_nan_pixels():
    img = np.arange(49, dtype=float).reshape(7, 7)
    img[:, :3] = np.nan
    out = glcm_features(img, window=3, levels=4)
    # windows of columns 0-1 hold only NaN pixels (or no complete pair): NaN
    assert np.isnan(out["contrast"][:, 0]).all() and np.isnan(out["contrast"][:, 1]).all()
    assert np.isfinite(out["contrast"][:, 4:]).all()
    # a NaN-free window is unaffected by the NaN elsewhere
    clean = glcm_features(img[:, 3:], window=3, levels=4, value_range=(21.0, 48.0))
    full = glcm_features(img, window=3, levels=4, value_range=(21.0, 48.0))
    np.testing.assert_allclose(full["asm"][:, 5:], clean["asm"][:, 2:], atol=1e-6)


def test_quantise():
    q = quantise(np.array([[0.0, 0.5, 1.0, np.nan]]), levels=4)
    assert q.tolist() == [[0, 2, 3, -1]]
    q = quantise(np.array([[-5.0, 0.25, 5.0]]), levels=4, value_range=(0.0, 1.0))
    assert q.tolist() == [[0, 1, 3]]
    with pytest.raises(DataError, match="no finite pixel"):
        quantise(np.full((2, 2), np.nan), levels=4)
    with pytest.raises(DataError, match="at least 2"):
        quantise(np.ones((2, 2)), levels=1)


def test_errors():
    with pytest.raises(DataError, match="window=4 must be an odd"):
        glcm_features(np.ones((5, 5)), window=4)
    with pytest.raises(DataError, match="unknown GLCM feature"):
        glcm_features(np.ones((5, 5)), features=("dissimilarity_x",))
    with pytest.raises(DataError, match="single 2-D band"):
        glcm_features(np.ones((2, 5, 5)))


def test_glcm_texture_dataarray():
    rng = np.random.default_rng(0)
    da = xr.DataArray(
        rng.random((9, 10)), dims=("y", "x"), coords={"y": np.arange(9.0), "x": np.arange(10.0)}
    )
    out = glcm_texture(da, window=3, levels=8)
    assert out.dims == ("band", "y", "x")
    assert list(out["band"].values) == list(GLCM_FEATURES)
    assert out.attrs["window"] == 3 and out.attrs["levels"] == 8
    np.testing.assert_array_equal(out["x"].values, da["x"].values)


@pytest.mark.realdata
def test_real_drone_tile_equals_skimage():
    path = REALDATA / "drone" / "OSBS_029.tif"
    if not path.exists():
        pytest.skip(f"real sample data not found at {path}")
    with rasterio.open(path) as src:
        green = src.read(2, window=rasterio.windows.Window(100, 100, 60, 60)).astype(float)
    out = glcm_features(green, window=7, levels=16)
    q = quantise(green, levels=16)
    assert np.isfinite(out["entropy"]).all()
    for r, c in [(0, 0), (10, 31), (30, 30), (59, 12), (45, 59)]:
        ref = _skimage_window(q, r, c, 3, 16, [1])
        for k in GLCM_FEATURES:
            assert out[k][r, c] == pytest.approx(ref[k], abs=1e-5), (k, r, c)
