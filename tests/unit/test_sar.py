"""Known-answer tests of Sentinel-1 calibration and dB conversion."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import DataError
from coexplore.preprocess.sar import SIGMA0_FLOOR, calibrate_sigma0, from_db, to_db


def test_sigma0_with_and_without_noise():
    dn = np.array([[100, 200], [50, 0]], dtype=np.uint16)
    a = np.array([[500.0, 400.0], [500.0, 500.0]])
    noise = np.array([[2000.0, 0.0], [3000.0, 10.0]])
    out = calibrate_sigma0(dn, a, noise)
    # (100^2 - 2000) / 500^2 = 0.032 ; 200^2 / 400^2 = 0.25
    assert out[0, 0] == pytest.approx(0.032, rel=1e-6)
    assert out[0, 1] == pytest.approx(0.25, rel=1e-6)
    # 50^2 - 3000 < 0: below the noise floor -> SIGMA0_FLOOR
    assert out[1, 0] == pytest.approx(SIGMA0_FLOOR)
    # DN 0 is the GRD no-data border
    assert np.isnan(out[1, 1])
    assert out.dtype == np.float32
    plain = calibrate_sigma0(dn, a)
    assert plain[0, 0] == pytest.approx(0.04, rel=1e-6)


def test_sigma0_errors():
    dn = np.ones((2, 2), dtype=np.uint16)
    with pytest.raises(DataError, match=r"calibration LUT shape \(3, 2\) differs"):
        calibrate_sigma0(dn, np.ones((3, 2)))
    with pytest.raises(DataError, match=r"noise LUT shape \(2, 3\) differs"):
        calibrate_sigma0(dn, np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(DataError, match="non-positive"):
        calibrate_sigma0(dn, np.zeros((2, 2)))


def test_db_known_values_and_roundtrip():
    np.testing.assert_allclose(
        to_db(np.array([1.0, 0.1, 0.01, 2.0])), [0.0, -10.0, -20.0, 3.0103], atol=1e-4
    )
    assert np.isnan(to_db(np.array([0.0, -1.0]))).all()
    x = np.array([1e-4, 0.05, 0.3], dtype=np.float32)
    np.testing.assert_allclose(from_db(to_db(x)), x, rtol=1e-5)
    assert from_db(np.array([-10.0]))[0] == pytest.approx(0.1)
    assert to_db(x).dtype == np.float32
