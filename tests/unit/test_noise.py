"""Tests of coexplore.noise: additive noise at a target SNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from coexplore.errors import DataError
from coexplore.noise import add_noise, measure_snr_db, signal_power

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def _reflectance_stack(seed: int = 3) -> np.ndarray:
    """A (band, y, x) reflectance-like stack: smooth fields plus texture, 0..0.6."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48] / 48.0
    bands = []
    for k in range(6):
        field = 0.05 + 0.05 * k + 0.1 * np.sin(2 * np.pi * (xx + 0.3 * k)) * np.cos(np.pi * yy)
        bands.append(field + 0.02 * rng.random((48, 48)))
    return np.clip(np.stack(bands), 0.0, 0.6)


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "uniform"])
@pytest.mark.parametrize("snr_db", [25.0, 15.0, 5.0])
def test_achieved_snr_within_half_db(kind: str, snr_db: float) -> None:
    x = _reflectance_stack()
    noisy, achieved = add_noise(x, kind=kind, snr_db=snr_db, rng=np.random.default_rng(1))
    assert noisy.shape == x.shape
    assert abs(achieved - snr_db) < 0.5
    assert achieved == pytest.approx(measure_snr_db(x, noisy))


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "uniform"])
def test_per_channel_power_meets_target_in_each_band(kind: str) -> None:
    x = _reflectance_stack()
    noisy, _ = add_noise(x, kind=kind, snr_db=15.0, rng=np.random.default_rng(2), channel_axis=0)
    for band in range(x.shape[0]):
        assert abs(measure_snr_db(x[band], noisy[band]) - 15.0) < 0.5


@pytest.mark.realdata
@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "uniform"])
@pytest.mark.parametrize("snr_db", [25.0, 15.0, 5.0])
def test_snr_on_real_landsat_crop(kind: str, snr_db: float) -> None:
    folder = REALDATA / "landsat8_l1"
    if not folder.is_dir():
        pytest.skip(f"real sample folder {folder} is absent (shared/ not beside the repo)")
    bands = []
    for b in (2, 3, 4, 5, 6, 7):
        with rasterio.open(folder / f"l8_B{b}.tif") as src:
            bands.append(src.read(1, window=Window(200, 200, 64, 64)).astype(np.float64))
    x = np.stack(bands) * 2.0e-5 - 0.1  # the scene's reflectance rescaling (MTL)
    noisy, achieved = add_noise(x, kind=kind, snr_db=snr_db, rng=np.random.default_rng(5))
    assert abs(achieved - snr_db) < 0.5


def test_salt_pepper_uses_channel_extremes_only() -> None:
    x = _reflectance_stack()
    noisy, _ = add_noise(
        x, kind="salt_pepper", snr_db=15.0, rng=np.random.default_rng(0), channel_axis=0
    )
    for band in range(x.shape[0]):
        changed = noisy[band] != x[band]
        assert changed.any()
        vals = np.unique(noisy[band][changed])
        assert set(vals.tolist()) <= {x[band].min(), x[band].max()}


def test_uniform_noise_is_bounded_by_sqrt_3_pn() -> None:
    x = _reflectance_stack()
    noisy, _ = add_noise(x, kind="uniform", snr_db=20.0, rng=np.random.default_rng(0))
    p_n = float(signal_power(x)) / 100.0
    assert np.abs(noisy - x).max() <= np.sqrt(3 * p_n) + 1e-12
    assert abs((noisy - x).mean()) < 0.1 * np.sqrt(p_n)


def test_same_seed_same_noise_and_nan_kept() -> None:
    x = _reflectance_stack()
    x[0, 0, 0] = np.nan
    a, _ = add_noise(x, kind="gaussian", snr_db=10.0, rng=np.random.default_rng(9))
    b, _ = add_noise(x, kind="gaussian", snr_db=10.0, rng=np.random.default_rng(9))
    c, _ = add_noise(x, kind="gaussian", snr_db=10.0, rng=np.random.default_rng(10))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.nan_to_num(a), np.nan_to_num(c))
    assert np.isnan(a[0, 0, 0])


def test_signal_power_known_answer() -> None:
    x = np.array([[1.0, 3.0], [2.0, np.nan]])
    assert float(signal_power(x)) == pytest.approx((1 + 9 + 4) / 3)
    np.testing.assert_allclose(signal_power(x, channel_axis=0), [5.0, 4.0])
    assert measure_snr_db(np.array([1.0, 1.0]), np.array([1.1, 0.9])) == pytest.approx(20.0)


def test_bad_inputs() -> None:
    x = _reflectance_stack()
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="unknown noise kind 'poisson'"):
        add_noise(x, kind="poisson", snr_db=10.0, rng=rng)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="zero power"):
        add_noise(np.zeros((4, 4)), kind="gaussian", snr_db=10.0, rng=rng)
    with pytest.raises(DataError, match="no finite sample"):
        add_noise(np.full((3, 3), np.nan), kind="gaussian", snr_db=10.0, rng=rng)
    with pytest.raises(DataError, match="cannot reach noise power"):
        add_noise(np.ones(100) + 0.01 * rng.random(100), kind="salt_pepper", snr_db=0.0, rng=rng)
    with pytest.raises(DataError, match="shape"):
        measure_snr_db(np.ones(3), np.ones(4))
    with pytest.raises(DataError, match="not finite"):
        add_noise(x, kind="gaussian", snr_db=float("nan"), rng=rng)
