"""Grey-level co-occurrence (GLCM) texture over a moving window.

The features are Haralick et al. (1973) statistics of the symmetric,
normalised co-occurrence matrix ``P`` of a square window around every
pixel, exactly as :func:`skimage.feature.graycomatrix` (``symmetric=True,
normed=True``) and :func:`skimage.feature.graycoprops` define them, averaged
over the pixel-pair offsets (distances x angles):

* ``asm`` (angular second moment) ``sum P^2``
* ``entropy`` ``-sum P ln P``
* ``contrast`` ``sum P (i - j)^2``
* ``homogeneity`` (inverse difference moment) ``sum P / (1 + (i - j)^2)``
* ``correlation`` ``sum P (i - mu)(j - mu) / sigma^2`` (1 where ``sigma = 0``,
  like scikit-image)

Efficiency. Calling ``graycomatrix`` on the window of each of the 250 000
pixels of a 500 x 500 image costs minutes. Instead, every window statistic is
a sum over the pixel pairs inside the window, so it is computed for all
windows at once from cumulative sums (separable summed-area tables): one table per
pair quantity (``(i - j)^2``, ``1 / (1 + (i - j)^2)``, ``i + j``,
``i^2 + j^2``, ``i j``) and, for ASM and entropy, one per grey-level pair
``{i, j}`` present in the image (at most ``levels (levels + 1) / 2``). The
cost is O(pixels x grey-level pairs) per offset, about two seconds for
500 x 500 pixels at 16 levels and 4 angles; the result equals scikit-image window by
window (the tests check it). scikit-image has no sliding-window GLCM, hence
this implementation.

Windows are clipped at the image border (a border pixel's window holds the
pairs that fit in the image); pairs with a NaN pixel are not counted; a
window without any pair is NaN.

A dask-backed image is processed tile by tile with a halo of half the
window (:func:`coexplore.chunked.map_overlap_bands`) after its grey-level
range is fixed over the whole image, which gives the whole-image result.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import xarray as xr
from scipy.special import xlogy

from ..chunked import map_overlap_bands
from ..errors import DataError

GLCM_FEATURES: tuple[str, ...] = ("asm", "entropy", "contrast", "homogeneity", "correlation")
DEFAULT_ANGLES: tuple[float, ...] = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)


def quantise(
    image: np.ndarray, *, levels: int, value_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Quantise an image into ``levels`` equal-width grey levels.

    Parameters
    ----------
    image
        2-D float image; NaN marks missing pixels.
    levels
        Number of grey levels (>= 2).
    value_range
        (low, high) mapped onto levels 0 and ``levels - 1`` (values outside
        are clipped); by default the finite minimum and maximum of the image.

    Returns
    -------
    numpy.ndarray
        int16 levels in ``[0, levels - 1]``, -1 where ``image`` is NaN.

    Raises
    ------
    DataError
        If ``levels < 2`` or the image has no finite value.
    """
    if levels < 2:
        raise DataError(f"GLCM levels={levels} must be at least 2")
    img = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(img)
    if not finite.any():
        raise DataError("GLCM input image has no finite pixel; check the source band and season")
    lo, hi = value_range if value_range is not None else (img[finite].min(), img[finite].max())
    scale = levels / (hi - lo) if hi > lo else 0.0
    q = np.floor((np.where(finite, img, lo) - lo) * scale)
    q = np.clip(q, 0, levels - 1).astype(np.int16)
    q[~finite] = -1
    return q


def finite_range(image: np.ndarray | da.Array) -> tuple[float, float]:
    """(min, max) of an image's finite values, computed chunk by chunk for dask.

    Raises
    ------
    DataError
        If the image has no finite pixel.
    """
    arr = da.asarray(image)
    finite = da.isfinite(arr)
    lo, hi = dask.compute(da.where(finite, arr, np.inf).min(), da.where(finite, arr, -np.inf).max())
    if not np.isfinite(lo):
        raise DataError("GLCM input image has no finite pixel; check the source band and season")
    return float(lo), float(hi)


def _offset(distance: int, angle: float) -> tuple[int, int]:
    """(row, col) offset of scikit-image's convention: angle 0 is the right
    neighbour, pi/2 the one above."""
    return int(round(-np.sin(angle) * distance)), int(round(np.cos(angle) * distance))


class _WindowSummer:
    """Sums of a per-pair-origin image over each pixel's window of pairs.

    For offset (oy, ox) a pair (a, a + o) lies in the window of pixel p
    (half-size h) when both ends do, i.e. when the origin ``a`` lies in
    rows ``[p_r - h + max(0, -oy), p_r + h - max(0, oy)]`` (columns alike),
    clipped to the image; origins whose partner falls outside the image
    carry zero in the summed image. The sums are separable: a cumulative
    sum down the rows, differenced at each pixel's row range, then the same
    along the columns.
    """

    def __init__(self, shape: tuple[int, int], half: int, offset: tuple[int, int]) -> None:
        h, w = shape
        oy, ox = offset
        r, c = np.arange(h), np.arange(w)
        self.r0 = np.clip(r - half + max(0, -oy), 0, h)
        self.r1 = np.maximum(np.clip(r + half - max(0, oy), -1, h - 1) + 1, self.r0)
        self.c0 = np.clip(c - half + max(0, -ox), 0, w)
        self.c1 = np.maximum(np.clip(c + half - max(0, ox), -1, w - 1) + 1, self.c0)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        h, w = values.shape
        cs = np.zeros((h + 1, w), dtype=values.dtype)
        np.cumsum(values, axis=0, out=cs[1:])
        rows = cs.take(self.r1, axis=0) - cs.take(self.r0, axis=0)
        cs = np.zeros((h, w + 1), dtype=values.dtype)
        np.cumsum(rows, axis=1, out=cs[:, 1:])
        return cs.take(self.c1, axis=1) - cs.take(self.c0, axis=1)


def _pairs(q: np.ndarray, offset: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey levels at each pair origin and partner, and the pair validity."""
    h, w = q.shape
    oy, ox = offset
    i = np.full((h, w), -1, dtype=np.int16)
    j = np.full((h, w), -1, dtype=np.int16)
    src = (slice(max(0, -oy), h - max(0, oy)), slice(max(0, -ox), w - max(0, ox)))
    dst = (slice(max(0, oy), h - max(0, -oy)), slice(max(0, ox), w - max(0, -ox)))
    i[src] = q[src]
    j[src] = q[dst]
    valid = (i >= 0) & (j >= 0)
    return i, j, valid


def _check_options(window: int, features: Sequence[str]) -> None:
    if window < 3 or window % 2 == 0:
        raise DataError(f"GLCM window={window} must be an odd number of pixels >= 3")
    unknown = [f for f in features if f not in GLCM_FEATURES]
    if unknown:
        raise DataError(f"unknown GLCM feature(s) {unknown}; choose among {list(GLCM_FEATURES)}")


def glcm_features(
    image: np.ndarray,
    *,
    window: int = 7,
    levels: int = 16,
    distances: Sequence[int] = (1,),
    angles: Sequence[float] = DEFAULT_ANGLES,
    value_range: tuple[float, float] | None = None,
    features: Sequence[str] = GLCM_FEATURES,
) -> dict[str, np.ndarray]:
    """GLCM texture of every pixel's window, averaged over offsets.

    Parameters
    ----------
    image
        2-D image (float; NaN = missing).
    window
        Odd window edge in pixels.
    levels
        Grey levels after quantisation (:func:`quantise`).
    distances
        Pixel-pair distances.
    angles
        Pixel-pair angles in radians (scikit-image convention).
    value_range
        Quantisation range; the image's finite min/max by default.
    features
        Features to return, from :data:`GLCM_FEATURES`.

    Returns
    -------
    dict of str to numpy.ndarray
        One float32 image per feature.

    Raises
    ------
    DataError
        If the window is not an odd integer >= 3, a feature is unknown, or
        the image is not 2-D.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise DataError(f"GLCM input has shape {img.shape}; pass a single 2-D band")
    _check_options(window, features)
    q = quantise(img, levels=levels, value_range=value_range)
    half = window // 2
    acc = {f: np.zeros(img.shape, dtype=np.float64) for f in features}
    offsets = [_offset(d, a) for d in distances for a in angles]
    for offset in offsets:
        summer = _WindowSummer(q.shape, half, offset)
        i, j, valid = _pairs(q, offset)
        fi = np.where(valid, i, 0).astype(np.int64)
        fj = np.where(valid, j, 0).astype(np.int64)
        n = summer(valid.astype(np.int64)).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_n = np.where(n > 0, 1.0 / n, np.nan)
            diff2 = (fi - fj) ** 2
            if "contrast" in acc:
                acc["contrast"] += summer(diff2) * inv_n
            if "homogeneity" in acc:
                acc["homogeneity"] += summer(np.where(valid, 1.0 / (1.0 + diff2), 0.0)) * inv_n
            if "correlation" in acc:
                # Symmetric P: both ends of every pair enter the mean and variance, so with
                # integer window sums s1 = sum(i + j), s2 = sum(i^2 + j^2), sij = sum(i j):
                # var = (2 n s2 - s1^2) / (4 n^2), cov = (4 n sij - s1^2) / (4 n^2).
                # Integers keep a constant window's variance exactly 0 (correlation 1).
                ni = n.astype(np.int64)
                s1 = summer(fi + fj)
                var4 = 2 * ni * summer(fi * fi + fj * fj) - s1 * s1
                cov4 = 4 * ni * summer(fi * fj) - s1 * s1
                corr = np.where(var4 == 0, 1.0, cov4 / np.where(var4 == 0, 1, var4))
                acc["correlation"] += np.where(n > 0, corr, np.nan)
            if "asm" in acc or "entropy" in acc:
                # With c_k the mass count of GLCM cell k (a diagonal pair {i, i} puts its
                # count on P[i, i]; an off-diagonal pair {i, j} puts half of it on each of
                # P[i, j] and P[j, i]) and P_k = c_k / n:
                #   ASM = sum c_k^2 / n^2,   entropy = ln n - sum c_k ln c_k / n.
                lo, hi = np.minimum(fi, fj), np.maximum(fi, fj)
                code = np.where(valid, lo * levels + hi, -1).astype(np.int32)
                sum_c2 = np.zeros(img.shape)
                sum_clnc = np.zeros(img.shape)
                for c in np.unique(code[code >= 0]):
                    count = summer((code == c).astype(np.int32)).astype(np.float64)
                    if c // levels == c % levels:
                        sum_c2 += count * count
                        sum_clnc += xlogy(count, count)
                    else:
                        half_count = count / 2.0
                        sum_c2 += 2.0 * half_count * half_count
                        sum_clnc += 2.0 * xlogy(half_count, half_count)
                if "asm" in acc:
                    acc["asm"] += sum_c2 * inv_n * inv_n
                if "entropy" in acc:
                    acc["entropy"] += np.log(n) - sum_clnc * inv_n
    return {f: (v / len(offsets)).astype(np.float32) for f, v in acc.items()}


def glcm_texture(
    image: xr.DataArray,
    *,
    window: int = 7,
    levels: int = 16,
    distances: Sequence[int] = (1,),
    angles: Sequence[float] = DEFAULT_ANGLES,
    value_range: tuple[float, float] | None = None,
    features: Sequence[str] = GLCM_FEATURES,
) -> xr.DataArray:
    """GLCM texture of a (y, x) DataArray as a (band, y, x) DataArray.

    Parameters
    ----------
    image
        Single band, dims (y, x).
    window, levels, distances, angles, value_range, features
        As :func:`glcm_features`.

    Returns
    -------
    xarray.DataArray
        dims (band, y, x), band = feature names, float32, with the image's
        coordinates; the GLCM settings are in ``attrs``.

    Raises
    ------
    DataError
        As :func:`glcm_features`.
    """
    image = image.squeeze(drop=True).transpose("y", "x")
    options = {
        "window": window,
        "levels": levels,
        "distances": distances,
        "angles": angles,
        "features": features,
    }
    if image.chunks is not None:
        # Tile by tile with a halo of the window's half-size: a pixel's window
        # (and every pair in it) then lies inside its tile, and the image
        # border keeps the clipped windows of the whole-image computation.
        # The grey levels must be the whole image's, so the quantisation
        # range is fixed first.
        _check_options(window, features)
        if value_range is None:
            value_range = finite_range(image.data)

        def block_features(block: np.ndarray) -> np.ndarray:
            feats = glcm_features(block, value_range=value_range, **options)
            return np.stack([feats[f] for f in features])

        data = map_overlap_bands(
            block_features,
            image.data,
            depth=window // 2,
            n_out=len(features),
        )
    else:
        feats = glcm_features(np.asarray(image.values), value_range=value_range, **options)
        data = np.stack([feats[f] for f in features])
    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={"band": list(features), "y": image["y"], "x": image["x"]},
        attrs={
            "window": window,
            "levels": levels,
            "distances": list(distances),
            "angles_deg": [float(np.degrees(a)) for a in angles],
        },
    )
