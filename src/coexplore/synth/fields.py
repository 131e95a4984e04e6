"""Spatial building blocks: correlated random fields and distances to shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage


def gaussian_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """A stationary Gaussian random field with Gaussian correlation, zero mean, unit variance.

    White noise low-pass filtered in the Fourier domain
    (``scipy.ndimage.fourier_gaussian``), so the cost does not grow with
    ``sigma_px``.

    Parameters
    ----------
    rng
        Source of the white noise.
    shape
        (rows, cols).
    sigma_px
        Correlation scale (Gaussian kernel sigma) in pixels; 0 gives white noise.

    Returns
    -------
    numpy.ndarray
        float32 field standardised to mean 0 and standard deviation 1.
    """
    if sigma_px > 0:
        # filter on a larger grid of FFT-friendly size, then crop: fast for any
        # shape and without wrap-around correlation between opposite edges
        pad = int(np.ceil(2 * sigma_px))
        fast = tuple(fft.next_fast_len(n + pad, real=True) for n in shape)
        spectrum = fft.rfft2(rng.standard_normal(fast))
        spectrum = ndimage.fourier_gaussian(spectrum, sigma_px, n=fast[1])
        noise = fft.irfft2(spectrum, s=fast)[: shape[0], : shape[1]]
    else:
        noise = rng.standard_normal(shape)
    noise -= noise.mean()
    sd = noise.std()
    return (noise / sd if sd > 0 else noise).astype(np.float32)


def smooth_noise_upsampled(
    rng: np.random.Generator, shape: tuple[int, int], sigma_px: float, factor: int
) -> np.ndarray:
    """A Gaussian field drawn on a grid ``factor`` times coarser, bilinearly upsampled to ``shape``.

    For large rasters where only correlation scales of several pixels
    matter: the cost is that of the coarse grid plus one zoom.

    Parameters
    ----------
    rng
        Source of the white noise.
    shape
        (rows, cols) of the result.
    sigma_px
        Correlation scale in pixels of the result.
    factor
        Coarsening factor (integer >= 1).

    Returns
    -------
    numpy.ndarray
        float32 field of ``shape``, approximately standard normal.
    """
    coarse_shape = (-(-shape[0] // factor) + 1, -(-shape[1] // factor) + 1)
    coarse = gaussian_field(rng, coarse_shape, sigma_px / factor)
    fine = ndimage.zoom(coarse, factor, order=1, prefilter=False, grid_mode=False)
    return fine[: shape[0], : shape[1]].astype(np.float32)


@dataclass(frozen=True)
class FourierSurface:
    """A smooth random surface defined everywhere: a sum of random plane waves.

    ``z(x, y) = sum_k a_k cos(kx_k x + ky_k y + phi_k)``; evaluated at any
    coordinates, so stations outside the grid get elevations consistent
    with the DEM.
    """

    kx: np.ndarray
    ky: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        *,
        n_modes: int,
        wavelength_m: tuple[float, float],
        std: float,
        spectral_slope: float = 1.0,
    ) -> FourierSurface:
        """Random modes with wavelengths log-uniform in ``wavelength_m`` and total standard deviation ``std``.

        Amplitudes scale as ``wavelength ** spectral_slope`` (long waves dominate, as in terrain).
        """
        lam = np.exp(rng.uniform(np.log(wavelength_m[0]), np.log(wavelength_m[1]), n_modes))
        theta = rng.uniform(0, 2 * np.pi, n_modes)
        k = 2 * np.pi / lam
        amp = lam**spectral_slope
        # each cosine has variance a^2 / 2
        amp *= std / np.sqrt(np.sum(amp**2) / 2)
        return cls(
            kx=k * np.cos(theta),
            ky=k * np.sin(theta),
            amplitude=amp,
            phase=rng.uniform(0, 2 * np.pi, n_modes),
        )

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        out = np.zeros(np.broadcast(x, y).shape)
        for kx, ky, a, p in zip(self.kx, self.ky, self.amplitude, self.phase, strict=True):
            out += a * np.cos(kx * x + ky * y + p)
        return out


# Hand-rolled rather than shapely: the distance is needed for every cell of a
# raster at once, which a vectorised segment projection does in a few numpy ops.
def distance_to_polyline(
    x: np.ndarray, y: np.ndarray, vertices: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Euclidean distance from points to a polyline (metres).

    Parameters
    ----------
    x, y
        Point coordinates (broadcastable arrays).
    vertices
        (x, y) of the polyline vertices, at least two.

    Returns
    -------
    numpy.ndarray
        Distance of every point to the nearest segment.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    best = np.full(np.broadcast(x, y).shape, np.inf)
    pts = np.asarray(vertices, dtype=np.float64)
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        d = np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))
        np.minimum(best, d, out=best)
    return best


def ellipse_radius(
    x: np.ndarray,
    y: np.ndarray,
    centre: tuple[float, float],
    semi_axes: tuple[float, float],
    angle_deg: float,
) -> np.ndarray:
    """Normalised elliptical radius: 1 on the ellipse, 0 at its centre.

    Parameters
    ----------
    x, y
        Point coordinates (broadcastable arrays).
    centre
        Ellipse centre.
    semi_axes
        Semi-axes (along, across) the direction ``angle_deg``.
    angle_deg
        Direction of the first axis, counter-clockwise from east (degrees).

    Returns
    -------
    numpy.ndarray
        ``hypot(u / a, v / b)`` in the ellipse's own axes.
    """
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    dx = np.asarray(x, dtype=np.float64) - centre[0]
    dy = np.asarray(y, dtype=np.float64) - centre[1]
    u = (dx * c + dy * s) / semi_axes[0]
    v = (-dx * s + dy * c) / semi_axes[1]
    return np.hypot(u, v)


def signed_side(
    x: np.ndarray, y: np.ndarray, point: tuple[float, float], angle_deg: float
) -> np.ndarray:
    """Signed distance to the line through ``point`` at ``angle_deg``.

    Parameters
    ----------
    x, y
        Point coordinates.
    point
        A point of the line.
    angle_deg
        Line direction, counter-clockwise from east (degrees).

    Returns
    -------
    numpy.ndarray
        Distance in metres, positive to the left of the line direction.
    """
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    return -(np.asarray(x) - point[0]) * s + (np.asarray(y) - point[1]) * c
