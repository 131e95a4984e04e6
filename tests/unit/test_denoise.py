"""NaN-aware Gaussian denoising and the Lee speckle filter."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage

from coexplore.errors import DataError
from coexplore.preprocess.denoise import gaussian_denoise, lee_filter


def test_gaussian_matches_scipy_without_nan():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 24))
    np.testing.assert_allclose(
        gaussian_denoise(a, 1.5), ndimage.gaussian_filter(a, 1.5, mode="nearest"), atol=1e-12
    )


def test_gaussian_ignores_nan_and_keeps_it():
    a = np.full((15, 15), 7.0, dtype=np.float32)
    a[5:8, 5:8] = np.nan
    out = gaussian_denoise(a, 2.0)
    assert np.isnan(out[5:8, 5:8]).all()
    # the hole does not pull its neighbours: a constant stays constant
    np.testing.assert_allclose(out[np.isfinite(out)], 7.0, rtol=1e-6)
    assert out.dtype == np.float32


def test_gaussian_per_band_and_options():
    a = np.zeros((2, 9, 9))
    a[0, 4, 4] = 1.0
    out = gaussian_denoise(a, 1.0)
    assert out[1].max() == 0.0  # no leakage across bands
    assert out[0].sum() == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_array_equal(gaussian_denoise(a, 0.0), a)
    with pytest.raises(DataError, match="sigma -1 is negative"):
        gaussian_denoise(a, -1)
    with pytest.raises(DataError, match=r"got shape \(9,\)"):
        gaussian_denoise(np.zeros(9), 1.0)


def test_lee_constant_field_is_unchanged():
    a = np.full((12, 12), 0.05, dtype=np.float32)
    np.testing.assert_allclose(lee_filter(a, size=5, looks=4.4), 0.05, rtol=1e-6)


def test_lee_formula_at_one_pixel():
    rng = np.random.default_rng(1)
    z = rng.gamma(4.0, 0.1 / 4.0, size=(9, 9))
    looks, size = 4.0, 3
    win = z[3:6, 3:6]
    mean, var_z = win.mean(), win.var()
    var_x = max((var_z - mean**2 / looks) / (1 + 1 / looks), 0.0)
    expected = mean + var_x / var_z * (z[4, 4] - mean)
    assert lee_filter(z, size=size, looks=looks)[4, 4] == pytest.approx(expected, rel=1e-9)


def test_lee_reduces_speckle_and_keeps_strong_edges():
    rng = np.random.default_rng(2)
    looks = 4.0
    truth = np.full((64, 64), 0.02)
    truth[:, 32:] = 0.5  # a 14 dB step
    speckled = truth * rng.gamma(looks, 1.0 / looks, size=truth.shape)
    out = lee_filter(speckled, size=7, looks=looks)
    flat_in = speckled[8:56, 4:26]
    flat_out = out[8:56, 4:26]
    # speckle coefficient of variation drops by more than half in flat areas
    assert flat_out.std() / flat_out.mean() < 0.5 * flat_in.std() / flat_in.mean()
    assert flat_out.mean() == pytest.approx(0.02, rel=0.1)
    # the edge stays sharp: columns next to it keep their side's level
    assert np.median(out[:, 30]) < 0.1 and np.median(out[:, 33]) > 0.25


def test_lee_nan_and_errors():
    a = np.full((10, 10), 0.1)
    a[0, 0] = np.nan
    out = lee_filter(a, size=3, looks=1.0)
    assert np.isnan(out[0, 0]) and np.allclose(out[1:, 1:], 0.1)
    with pytest.raises(DataError, match="window size 4 must be an odd integer"):
        lee_filter(a, size=4, looks=1.0)
    with pytest.raises(DataError, match="number of looks 0"):
        lee_filter(a, size=3, looks=0)
    with pytest.raises(DataError, match="2-D array"):
        lee_filter(np.zeros((2, 3, 3)), size=3, looks=1.0)


def test_lee_outside_footprint_stays_nan_without_warnings():
    # a scene edge: no-data wider than the window after speckled values. The
    # running sums of the window filter leave round-off where the window holds
    # no valid pixel, so its statistics there are +-inf, not 0/0.
    rng = np.random.default_rng(0)
    a = rng.gamma(4.4, 0.1 / 4.4, size=(40, 60))
    a[:, 20:] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lee_filter(a, size=5, looks=4.4)
    assert np.isnan(out[:, 20:]).all()
    assert np.isfinite(out[:, :20]).all()
