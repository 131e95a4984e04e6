"""Tests of coexplore.products.change: CVA, Otsu, metrics, areas, the siamese FFT network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from coexplore.errors import DataError
from coexplore.learn.splits import TEST, TRAIN
from coexplore.products.change import (
    ChangeNetConfig,
    FrequencyFusion,
    SiameseChangeDetector,
    SiameseFFTChangeNet,
    bitemporal_pairs,
    change_metrics,
    change_truth,
    change_vector_analysis,
    disturbance_areas,
    otsu_change,
    run_change_detection,
)

torch.set_num_threads(1)

TINY = ChangeNetConfig(width=8, depth=2, patch=16, epochs=12, batch_size=8, lr=3e-3)


def test_bitemporal_pairs() -> None:
    assert bitemporal_pairs([2021, 2019, 2020]) == [(2019, 2020), (2020, 2021), (2019, 2021)]
    assert bitemporal_pairs([2019, 2020]) == [(2019, 2020)]
    with pytest.raises(DataError, match=r"at least 2 years, got \[2020\]"):
        bitemporal_pairs([2020, 2020])


def test_cva_magnitude_and_direction_known_vectors() -> None:
    before = np.zeros((2, 1, 3))
    after = np.array([[[3.0, -3.0, 0.0]], [[4.0, 4.0, 0.0]]])
    mag, direction = change_vector_analysis(before, after)
    np.testing.assert_allclose(mag, [[5.0, 5.0, 0.0]])
    # bit 0: band 0 increased, bit 1: band 1 increased
    np.testing.assert_array_equal(direction, [[3, 2, 0]])
    before[0, 0, 2] = np.nan
    mag, direction = change_vector_analysis(before, after)
    assert np.isnan(mag[0, 2]) and direction[0, 2] == -1
    with pytest.raises(DataError, match="same bands on the same grid"):
        change_vector_analysis(np.zeros((2, 3, 3)), np.zeros((3, 3, 3)))


def test_otsu_threshold_between_modes() -> None:
    rng = np.random.default_rng(0)
    # two separated modes: every threshold in the gap maximises the between-class
    # variance; skimage returns a 256-bin histogram centre at the gap's lower edge
    low, high = rng.normal(0.05, 0.02, 500), rng.normal(0.40, 0.02, 500)
    sample = np.concatenate([low, high])
    sample[0] = np.nan
    mask, thr = otsu_change(sample)
    bin_width = (np.nanmax(sample) - np.nanmin(sample)) / 256
    assert np.nanmax(sample[:500]) - bin_width <= thr < high.min()
    assert mask[500:].all() and mask[:500].sum() <= 1
    assert not mask[0]
    with pytest.raises(DataError, match="two distinct finite magnitudes"):
        otsu_change(np.full(10, 0.2))


def test_change_truth_mining_related_only() -> None:
    before = np.array([[1, 1, 5, 2, 0]], np.uint8)
    after = np.array([[5, 3, 6, 2, 5]], np.uint8)
    change, valid = change_truth(before, after)
    np.testing.assert_array_equal(change, [[True, False, True, False, False]])
    np.testing.assert_array_equal(valid, [[True, True, True, True, False]])
    any_change, _ = change_truth(before, after, classes=None)
    np.testing.assert_array_equal(any_change, [[True, True, True, False, False]])


def test_change_metrics_hand_computed() -> None:
    # TP = 2, FP = 1, FN = 1, TN = 2 -> P = 2/3, R = 2/3, F1 = 4/6, IoU = 2/4
    pred = np.array([1, 1, 1, 0, 0, 0], bool)
    truth = np.array([1, 1, 0, 1, 0, 0], bool)
    m = change_metrics(pred, truth)
    assert m == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "iou": 0.5})
    # the valid mask drops the FP and the FN: perfect
    valid = np.array([1, 1, 0, 0, 1, 1], bool)
    assert change_metrics(pred, truth, valid=valid) == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
    )
    assert change_metrics(np.zeros(3, bool), np.zeros(3, bool))["f1"] == 0.0
    with pytest.raises(DataError, match="shapes differ"):
        change_metrics(pred, truth[:3])


def test_disturbance_areas_hand_counted() -> None:
    lu = {
        2019: np.array([[1, 1, 1, 2], [5, 5, 4, 3]], np.uint8),
        2020: np.array([[5, 4, 1, 2], [6, 5, 4, 3]], np.uint8),
        2021: np.array([[5, 6, 5, 0], [6, 5, 4, 3]], np.uint8),
    }
    df = disturbance_areas(lu, pixel_area=100.0)
    assert isinstance(df, pd.DataFrame)
    assert df["year"].tolist() == [2020, 2021]
    # 2020: two vegetation cells to mining/bare (bare->bare does not count); one mining->reclaimed
    assert df["disturbed_ha"].tolist() == pytest.approx([0.02, 0.01])
    assert df["reclaimed_ha"].tolist() == pytest.approx([0.01, 0.01])
    assert df["mining_ha"].tolist() == pytest.approx([0.02, 0.03])
    with pytest.raises(DataError, match="at least 2 years"):
        disturbance_areas({2020: lu[2020]}, pixel_area=100.0)
    with pytest.raises(DataError, match="same grid"):
        disturbance_areas({2020: lu[2020], 2021: lu[2021][:, :3]}, pixel_area=100.0)


def test_network_shapes_and_finite_gradients() -> None:
    torch.manual_seed(0)
    for use_fft in (True, False):
        net = SiameseFFTChangeNet(4, width=8, depth=2, use_fft=use_fft)
        out = net(torch.randn(2, 4, 16, 12), torch.randn(2, 4, 16, 12))
        assert out.shape == (2, 1, 16, 12)
    fusion = FrequencyFusion(3)
    zeros = torch.zeros(1, 3, 8, 8, requires_grad=True)
    y = fusion(zeros, zeros.clone())
    assert y.shape == (1, 3, 8, 8)
    y.sum().backward()
    assert torch.isfinite(zeros.grad).all()


def _scene(n: int = 32, seed: int = 0) -> tuple[xr.DataArray, dict[int, np.ndarray]]:
    """Vegetation with a water strip; mining patches appear in 2020 (one per 16-px block)."""
    rng = np.random.default_rng(seed)
    lu19 = np.ones((n, n), np.uint8)
    lu19[:, :3] = 2
    lu20 = lu19.copy()
    for bi in range(0, n, 16):
        for bj in range(0, n, 16):
            i, j = bi + 4 + rng.integers(0, 4), bj + 4 + rng.integers(0, 4)
            lu20[i : i + 6, j : j + 6] = 5
    sig = {1: [0.04, 0.08, 0.05, 0.35], 2: [0.06, 0.05, 0.03, 0.02], 5: [0.2, 0.25, 0.3, 0.35]}
    comps = []
    for lu in (lu19, lu20):
        img = np.zeros((4, n, n), np.float32)
        for c, v in sig.items():
            img[:, lu == c] = np.array(v, np.float32)[:, None]
        comps.append(img + rng.normal(0, 0.02, img.shape).astype(np.float32))
    da = xr.DataArray(
        np.stack(comps),
        dims=("year", "band", "y", "x"),
        coords={"year": [2019, 2020], "band": ["blue", "green", "red", "nir"]},
    )
    return da, {2019: lu19, 2020: lu20}


def _split(n: int = 32) -> np.ndarray:
    split = np.full((n, n), TRAIN, np.int8)
    split[16:, 16:] = TEST
    return split


def test_detector_training_lowers_loss_and_is_seeded() -> None:
    da, lu = _scene()
    truth, valid = change_truth(lu[2019], lu[2020])
    pair = (da.sel(year=2019).values, da.sel(year=2020).values)
    train = valid & (_split() == TRAIN)
    a = SiameseChangeDetector(TINY, seed=3).fit([pair], [truth], [train])
    b = SiameseChangeDetector(TINY, seed=3).fit([pair], [truth], [train])
    assert a.history_[-1] < a.history_[0]
    pa, pb = a.predict_proba(*pair), b.predict_proba(*pair)
    np.testing.assert_array_equal(pa, pb)
    assert pa.shape == truth.shape and 0.0 <= pa.min() and pa.max() <= 1.0
    with pytest.raises(DataError, match="no training pixel"):
        SiameseChangeDetector(TINY, seed=0).fit([pair], [truth], [np.zeros_like(train)])
    with pytest.raises(DataError, match="not fitted"):
        SiameseChangeDetector(TINY, seed=0).predict_proba(*pair)


def test_run_change_detection_scores_both_methods_on_test_blocks() -> None:
    da, lu = _scene()
    maps, metrics = run_change_detection(da, lu, split=_split(), config=TINY, seed=0)
    assert list(maps["pair"].values) == ["2019-2020"]
    assert maps["net_probability"].shape == (1, 32, 32)
    assert set(metrics["method"]) == {"cva_otsu", "siamese_fft"}
    cva = metrics[metrics.method == "cva_otsu"].iloc[0]
    net = metrics[metrics.method == "siamese_fft"].iloc[0]
    assert cva["f1"] > 0.9  # well-separated signatures: CVA + Otsu is near perfect
    assert net["f1"] > 0.6
    assert cva["n_test"] == 16 * 16
    with pytest.raises(DataError, match="at least 2 years"):
        run_change_detection(da.sel(year=[2019]), lu, split=_split(), config=TINY, seed=0)
    with pytest.raises(DataError, match="resample them onto the common grid"):
        run_change_detection(da, lu, split=_split(30), config=TINY, seed=0)
