"""Denoising: NaN-aware Gaussian smoothing and the Lee speckle filter."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import DataError


def gaussian_denoise(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN (normalised convolution).

    Each output pixel is ``G*(v x) / G*v`` with ``v`` the validity mask, so
    invalid pixels neither contribute nor get filled: NaN stays NaN.

    Parameters
    ----------
    arr
        2-D (y, x) or 3-D (band, y, x) array; 3-D arrays are smoothed per band.
    sigma
        Standard deviation in pixels; 0 returns a copy.

    Returns
    -------
    numpy.ndarray
        Smoothed array of the input's float dtype (float32 for integers).

    Raises
    ------
    DataError
        If ``sigma`` is negative or the array is not 2-D or 3-D.
    """
    a = np.asarray(arr)
    dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float32
    if sigma < 0:
        raise DataError(f"Gaussian sigma {sigma} is negative; use 0 (off) or a positive value")
    if a.ndim not in (2, 3):
        raise DataError(f"gaussian_denoise takes (y, x) or (band, y, x), got shape {a.shape}")
    if sigma == 0:
        return a.astype(dtype, copy=True)
    sig = (0.0, sigma, sigma) if a.ndim == 3 else (sigma, sigma)
    valid = np.isfinite(a)
    num = ndimage.gaussian_filter(np.where(valid, a, 0.0).astype(np.float64), sig, mode="nearest")
    den = ndimage.gaussian_filter(valid.astype(np.float64), sig, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~valid] = np.nan
    return out.astype(dtype)


def gaussian_halo(sigma: float) -> int:
    """Pixels a Gaussian of ``sigma`` reaches (``scipy.ndimage``'s default
    truncation at 4 sigma: radius ``int(4 sigma + 0.5)``)."""
    return int(4.0 * sigma + 0.5) if sigma > 0 else 0


def gaussian_denoise_tiles(arr: Any, sigma: float) -> Any:
    """:func:`gaussian_denoise` of a dask (band, y, x) array, block by block.

    Each block is smoothed with a halo of :func:`gaussian_halo` pixels from
    its neighbours and none beyond the array's edges (where the filter's
    ``nearest`` mode sees the true edge), so the result equals smoothing
    the whole array while a task holds one block.

    Parameters
    ----------
    arr
        dask (band, y, x) float array.
    sigma
        As :func:`gaussian_denoise`.

    Returns
    -------
    dask.array.Array
        Lazily smoothed array, same chunks.
    """
    if sigma < 0:
        raise DataError(f"Gaussian sigma {sigma} is negative; use 0 (off) or a positive value")
    halo = gaussian_halo(sigma)
    return arr.map_overlap(
        gaussian_denoise,
        depth={0: 0, 1: halo, 2: halo},
        boundary="none",
        dtype=arr.dtype,
        sigma=sigma,
    )


def _nan_uniform(arr: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(arr)
    filled = np.where(valid, arr, 0.0)
    den = ndimage.uniform_filter(valid.astype(np.float64), size, mode="reflect")
    mean = ndimage.uniform_filter(filled, size, mode="reflect")
    sq = ndimage.uniform_filter(filled**2, size, mode="reflect")
    with np.errstate(invalid="ignore", divide="ignore"):
        return mean / den, sq / den


def lee_filter(intensity: np.ndarray, *, size: int = 7, looks: float) -> np.ndarray:
    """Lee (1980) speckle filter for multiplicative noise, on linear intensity.

    With the speckle model ``z = x v`` (``E[v] = 1``, ``var(v) = 1/L`` for
    ``L`` looks) and local window statistics ``zbar``, ``var_z``, the signal
    variance is ``var_x = (var_z - zbar^2 / L) / (1 + 1/L)`` (clipped at 0)
    and the estimate ``x = zbar + k (z - zbar)`` with ``k = var_x / var_z``
    (Lee 1980, IEEE PAMI 2(2), eq. for multiplicative noise). Homogeneous
    areas (``k ~ 0``) get the local mean, edges and point targets
    (``k ~ 1``) keep their value. NaN pixels are ignored in the window
    statistics and stay NaN.

    Parameters
    ----------
    intensity
        2-D linear intensity (e.g. sigma0, not dB).
    size
        Odd window edge in pixels.
    looks
        Equivalent number of looks of the product (4.4 for Sentinel-1 IW GRDH).

    Returns
    -------
    numpy.ndarray
        Filtered intensity, same float dtype (float32 for integers).

    Raises
    ------
    DataError
        If ``size`` is not an odd integer >= 3, ``looks`` is not positive, or
        the array is not 2-D.
    """
    z = np.asarray(intensity)
    dtype = z.dtype if np.issubdtype(z.dtype, np.floating) else np.float32
    if z.ndim != 2:
        raise DataError(f"lee_filter takes a 2-D array, got shape {z.shape}")
    if size < 3 or size % 2 != 1:
        raise DataError(f"Lee window size {size} must be an odd integer >= 3")
    if not looks > 0:
        raise DataError(f"number of looks {looks} must be positive")
    # Written out here: scipy and scikit-image have no Lee filter, and the
    # SAR toolboxes that do (SNAP, pyroSAR) are far heavier than these lines.
    zf = z.astype(np.float64)
    mean, sq = _nan_uniform(zf, size)
    cu2 = 1.0 / looks
    # windows with no valid pixel (outside the footprint) give NaN statistics
    # here; those pixels are NaN themselves and stay so below
    with np.errstate(invalid="ignore", divide="ignore"):
        var_z = np.maximum(sq - mean**2, 0.0)
        var_x = np.maximum((var_z - mean**2 * cu2) / (1.0 + cu2), 0.0)
        k = np.where(var_z > 0, var_x / var_z, 0.0)
    out = mean + k * (zf - mean)
    out[~np.isfinite(zf)] = np.nan
    return out.astype(dtype)
