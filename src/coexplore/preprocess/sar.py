"""Sentinel-1 radiometric calibration and decibel conversion.

Calibration follows ESA's "Sentinel-1 Level-1 Radiometric Calibration"
(ESA-EOPG-CSCOP-TN-0002): ``sigma0 = (DN^2 - eta) / A_sigma^2`` where
``A_sigma`` is the ``sigmaNought`` calibration LUT and ``eta`` the thermal
noise LUT, both interpolated to every pixel
(:func:`coexplore.io.sentinel1.calibration_lut`, :func:`~coexplore.io.sentinel1.noise_lut`).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

#: linear sigma0 given to pixels whose noise-subtracted power is not positive:
#: 1e-5 (-50 dB), well below the Sentinel-1 IW noise-equivalent sigma zero
#: (about -22 to -25 dB), so such pixels read as "below the noise floor"
#: instead of becoming NaN (which would mark them as missing) or -inf dB.
SIGMA0_FLOOR: float = 1e-5


def calibrate_sigma0(
    dn: np.ndarray,
    sigma_lut: np.ndarray,
    noise_lut: np.ndarray | None = None,
    *,
    floor: float = SIGMA0_FLOOR,
    fill_value: int | None = 0,
) -> np.ndarray:
    """Backscatter coefficient sigma0 (linear) from GRD digital numbers.

    Parameters
    ----------
    dn
        Detected amplitude digital numbers (uint16 GRD).
    sigma_lut
        ``sigmaNought`` calibration LUT, same shape as ``dn``.
    noise_lut
        Thermal noise power LUT (``noiseRangeLut`` x azimuth LUT); None skips
        noise removal.
    floor
        Value given to pixels whose noise-subtracted power is not positive
        (see :data:`SIGMA0_FLOOR`).
    fill_value
        DN of the GRD no-data border (NaN in the output); None keeps all pixels.

    Returns
    -------
    numpy.ndarray
        float32 sigma0 (linear power ratio).

    Raises
    ------
    DataError
        If the shapes differ or the LUT holds non-positive values.

    Examples
    --------
    >>> out = calibrate_sigma0(np.array([100]), np.array([500.0]), np.array([2000.0]))
    >>> round(float(out[0]), 6)
    0.032
    """
    q = np.asarray(dn)
    a = np.asarray(sigma_lut, dtype=np.float64)
    if a.shape != q.shape:
        raise DataError(f"calibration LUT shape {a.shape} differs from the DN shape {q.shape}")
    if not np.all(a > 0):
        raise DataError("calibration LUT has non-positive values; the annotation is damaged")
    power = q.astype(np.float64) ** 2
    if noise_lut is not None:
        eta = np.asarray(noise_lut, dtype=np.float64)
        if eta.shape != q.shape:
            raise DataError(f"noise LUT shape {eta.shape} differs from the DN shape {q.shape}")
        power = power - eta
    sigma0 = power / a**2
    sigma0[~(sigma0 > 0)] = floor
    out = sigma0.astype(np.float32)
    if fill_value is not None:
        out[q == fill_value] = np.nan
    return out


def to_db(linear: np.ndarray) -> np.ndarray:
    """``10 log10(x)``; non-positive values give NaN.

    Examples
    --------
    >>> to_db(np.array([1.0, 0.1, 0.0])).tolist()
    [0.0, -10.0, nan]
    """
    x = np.asarray(linear)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(np.where(x > 0, x, np.nan))
    return out.astype(dtype)


def from_db(db: np.ndarray) -> np.ndarray:
    """``10^(x/10)``, the inverse of :func:`to_db`."""
    x = np.asarray(db)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return np.power(10.0, x / 10.0).astype(dtype)
