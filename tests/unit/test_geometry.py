"""GCP affine fit, phase-correlation co-registration and subpixel shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from scipy import ndimage

from coexplore.errors import DataError, GeometryError
from coexplore.preprocess.geometry import apply_subpixel_shift, fit_affine, phase_correlation_shift

TRUE = Affine(30.02, 0.15, 500000.0, -0.12, -29.97, 4401000.0)


def gcp_table(transform: Affine, n: int, *, noise_m: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    col = rng.uniform(0, 200, n)
    row = rng.uniform(0, 200, n)
    xy = np.array([transform @ (c, r) for c, r in zip(col, row, strict=True)])
    xy += rng.normal(scale=noise_m, size=xy.shape)
    return pd.DataFrame({"id": np.arange(n), "col": col, "row": row, "x": xy[:, 0], "y": xy[:, 1]})


def test_affine_exact_recovery():
    fit = fit_affine(gcp_table(TRUE, 6))
    np.testing.assert_allclose(fit.transform[:6], TRUE[:6], rtol=0, atol=1e-6)
    assert fit.rmse_px < 1e-8 and fit.rmse_m < 1e-6
    assert fit.n_points == 6 and fit.residuals_px.shape == (6, 2)


def test_affine_three_points_is_exact():
    df = pd.DataFrame(
        {
            "col": [0, 10, 0],
            "row": [0, 0, 10],
            "x": [100.0, 400.0, 100.0],
            "y": [900.0, 900.0, 600.0],
        }
    )
    fit = fit_affine(df)
    np.testing.assert_allclose(fit.transform[:6], (30.0, 0.0, 100.0, 0.0, -30.0, 900.0), atol=1e-9)


def test_affine_noisy_gcps_recover_injected_shift():
    # the delivered image's nominal transform is off by (1.5, -1.2) px; the
    # GCPs (3 m noise = 0.1 px) carry the truth
    nominal = TRUE @ Affine.translation(1.5, -1.2)
    fit = fit_affine(gcp_table(TRUE, 12, noise_m=3.0, seed=4))
    centre = (100.0, 100.0)
    # position error at the image centre, in pixels, of the nominal and fitted transforms
    nominal_err = np.hypot(*np.subtract(~TRUE @ (nominal @ centre), centre))
    fitted_err = np.hypot(*np.subtract(~TRUE @ (fit.transform @ centre), centre))
    assert nominal_err == pytest.approx(np.hypot(1.5, 1.2), rel=1e-6)
    assert fitted_err < 0.5
    assert fitted_err < 0.1  # 12 points average the 0.1 px noise down
    assert 0.03 < fit.rmse_px < 0.2
    assert fit.rmse_m == pytest.approx(fit.rmse_px * 30.0, rel=0.05)


def test_affine_errors():
    df = gcp_table(TRUE, 2)
    df.attrs["path"] = "scene_GCP.csv"
    with pytest.raises(GeometryError, match=r"scene_GCP\.csv: only 2 GCP\(s\)"):
        fit_affine(df)
    line = pd.DataFrame(
        {"col": [0.0, 1, 2, 3], "row": [0.0, 2, 4, 6], "x": [0.0, 1, 2, 3], "y": [0.0, 1, 2, 3]}
    )
    with pytest.raises(GeometryError, match="collinear"):
        fit_affine(line)
    with pytest.raises(GeometryError, match=r"lacks column\(s\) \['y'\]"):
        fit_affine(line.drop(columns="y"))


def smooth_field(shape=(64, 64), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=shape), 2.0, mode="wrap")


def fourier_shifted(a: np.ndarray, dy: float, dx: float) -> np.ndarray:
    return np.fft.ifftn(ndimage.fourier_shift(np.fft.fftn(a), (dy, dx))).real


def test_phase_correlation_recovers_subpixel_shift():
    ref = smooth_field()
    moving = fourier_shifted(ref, -1.3, 0.7)  # content moved up 1.3, right 0.7
    dy, dx, err = phase_correlation_shift(ref, moving, upsample_factor=20)
    # the returned shift moves `moving` back onto `reference`
    assert abs(dy - 1.3) < 0.1 and abs(dx + 0.7) < 0.1
    assert 0.0 <= err < 0.2


def test_phase_correlation_with_nan_and_mask():
    ref = smooth_field(seed=1)
    moving = fourier_shifted(ref, 0.6, -2.4)
    moving[10:16, 40:50] = np.nan
    mask = np.ones_like(ref, dtype=bool)
    mask[:, :3] = False
    dy, dx, _ = phase_correlation_shift(ref, moving, mask=mask)
    assert abs(dy + 0.6) < 0.1 and abs(dx - 2.4) < 0.1
    with pytest.raises(DataError, match="only 0.0% of the pixels are valid"):
        phase_correlation_shift(ref, np.full_like(ref, np.nan))
    with pytest.raises(DataError, match="two 2-D arrays of one shape"):
        phase_correlation_shift(ref, ref[:10])


def test_apply_subpixel_shift_registers_moving_onto_reference():
    ref = smooth_field(seed=2)
    moving = fourier_shifted(ref, 1.25, -0.5)
    dy, dx, _ = phase_correlation_shift(ref, moving)
    back = apply_subpixel_shift(moving, dy, dx)
    inner = (slice(4, -4), slice(4, -4))
    assert np.nanmax(np.abs(back[inner] - ref[inner])) < 0.05 * np.ptp(ref)


def test_apply_subpixel_shift_known_values():
    yy, xx = np.mgrid[0:20, 0:20].astype(float)
    ramp = 2.0 * xx + 3.0 * yy
    out = apply_subpixel_shift(ramp, 0.5, -1.25)
    # content moves down 0.5 and left 1.25: value at (y, x) came from (y-0.5, x+1.25)
    # (the spline's boundary handling perturbs the outermost pixels of a ramp)
    inner = (slice(6, -6), slice(6, -6))
    np.testing.assert_allclose(out[inner], (ramp + 2.0 * 1.25 - 3.0 * 0.5)[inner], atol=1e-3)
    # cells whose source lies outside the array are NaN
    assert np.isnan(out[0]).all() and np.isnan(out[:, -2:]).all()
    whole = apply_subpixel_shift(ramp, 2.0, 0.0)
    np.testing.assert_allclose(whole[2:], ramp[:-2], atol=1e-9)


def test_apply_subpixel_shift_nan_stays_local():
    a = np.full((20, 20), 3.0)
    a[8:10, 8:10] = np.nan
    out = apply_subpixel_shift(a, 0.3, 0.3)
    bad = np.isnan(out)
    # the hole moves by 0.3 px: it touches 3x3 pixels; the top row and left
    # column now sample from outside the array
    assert bad[8:11, 8:11].all() and bad[1:, 1:].sum() == 9
    assert bad[0].all() and bad[:, 0].all()
    np.testing.assert_allclose(out[~bad], 3.0, atol=1e-9)
    assert np.isnan(apply_subpixel_shift(np.full((4, 4), np.nan), 1, 1)).all()
    with pytest.raises(DataError, match="takes a 2-D array"):
        apply_subpixel_shift(np.zeros((2, 4, 4)), 1, 1)
