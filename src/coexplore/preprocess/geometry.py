"""Geometric correction: GCP affine fit, subpixel co-registration, subpixel shifts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from affine import Affine
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from ..errors import DataError, GeometryError


@dataclass(frozen=True)
class AffineFit:
    """A least-squares image-to-map affine transform and its residuals.

    Attributes
    ----------
    transform
        ``x = a col + b row + c``, ``y = d col + e row + f`` with (col, row) in
        pixel units, (0, 0) at the upper-left corner (rasterio convention).
    rmse_px, rmse_m
        Root-mean-square residual distance in pixels and in map units.
    residuals_px, residuals_m
        Per-point residual vectors (n, 2): (col, row) in pixels and (x, y) in
        map units, observed minus fitted.
    ids
        Point identifiers in the order of the residuals.
    """

    transform: Affine
    rmse_px: float
    rmse_m: float
    residuals_px: np.ndarray
    residuals_m: np.ndarray
    ids: tuple

    @property
    def n_points(self) -> int:
        """Number of GCPs in the fit."""
        return len(self.ids)


def fit_affine(gcps: pd.DataFrame) -> AffineFit:
    """Least-squares affine transform from image (col, row) to map (x, y).

    Parameters
    ----------
    gcps
        Table with columns ``col, row, x, y`` (and optionally ``id``), as
        returned by :func:`coexplore.io.landsat.read_gcps`.

    Returns
    -------
    AffineFit

    Raises
    ------
    GeometryError
        If fewer than 3 points are given or they are collinear (singular fit).

    Examples
    --------
    >>> df = pd.DataFrame({"col": [0, 10, 0], "row": [0, 0, 10],
    ...                    "x": [100.0, 400.0, 100.0], "y": [900.0, 900.0, 600.0]})
    >>> round(fit_affine(df).transform.a, 6)
    30.0
    """
    source = gcps.attrs.get("path", "GCP table")
    missing = [c for c in ("col", "row", "x", "y") if c not in gcps.columns]
    if missing:
        raise GeometryError(source, f"GCP table lacks column(s) {missing}", "give col,row,x,y")
    n = len(gcps)
    if n < 3:
        raise GeometryError(
            source,
            f"only {n} GCP(s); an affine fit needs at least 3 non-collinear points",
            "add ground control points spread over the scene",
        )
    col = gcps["col"].to_numpy(dtype=float)
    row = gcps["row"].to_numpy(dtype=float)
    xy = gcps[["x", "y"]].to_numpy(dtype=float)
    design = np.column_stack([col, row, np.ones(n)])
    centred = np.column_stack([col - col.mean(), row - row.mean()])
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular[-1] <= 1e-9 * max(singular[0], 1.0):
        raise GeometryError(
            source,
            f"the {n} GCPs are collinear in the image; the affine fit is singular",
            "add ground control points off that line",
        )
    coef, *_ = np.linalg.lstsq(design, xy, rcond=None)
    (a, d), (b, e), (c, f) = coef
    transform = Affine(a, b, c, d, e, f)
    fitted = design @ coef
    res_m = xy - fitted
    # residuals in pixel units: observed (col, row) minus the inverse-mapped map point
    inv = ~transform
    back = np.array([inv @ (x, y) for x, y in xy])
    res_px = np.column_stack([col, row]) - back
    ids = tuple(gcps["id"].tolist()) if "id" in gcps.columns else tuple(range(n))
    return AffineFit(
        transform=transform,
        rmse_px=float(np.sqrt(np.mean(np.sum(res_px**2, axis=1)))),
        rmse_m=float(np.sqrt(np.mean(np.sum(res_m**2, axis=1)))),
        residuals_px=res_px,
        residuals_m=res_m,
        ids=ids,
    )


def _fill_mean(arr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=np.float64)
    out[~mask] = float(out[mask].mean())
    return out


def phase_correlation_shift(
    reference: np.ndarray,
    moving: np.ndarray,
    *,
    upsample_factor: int = 20,
    mask: np.ndarray | None = None,
    refine: int = 3,
) -> tuple[float, float, float]:
    """Subpixel translation that registers ``moving`` onto ``reference``.

    Uses :func:`skimage.registration.phase_cross_correlation` with matrix-
    multiply DFT upsampling (Guizar-Sicairos et al. 2008). Invalid pixels
    (NaN, or outside ``mask``) are replaced by the mean of the valid pixels
    of each image. The filled gaps sit at the same place in both images and
    so pull the estimate towards zero shift; when there are gaps the estimate
    is therefore refined: ``moving`` is shifted by the current estimate
    (:func:`apply_subpixel_shift`) and the residual shift is measured again,
    ``refine`` times, so the bias acts only on an ever smaller residual.

    Parameters
    ----------
    reference, moving
        2-D arrays of the same shape.
    upsample_factor
        Precision is ``1 / upsample_factor`` pixel.
    mask
        Pixels usable in both images (True = valid); NaN are always invalid.
    refine
        Refinement passes when some pixels are invalid (0 = none).

    Returns
    -------
    dy, dx : float
        Shift in pixels; ``apply_subpixel_shift(moving, dy, dx)`` aligns
        ``moving`` with ``reference``.
    error : float
        Normalised RMS error of the (last) registration (0 = perfect match).

    Raises
    ------
    DataError
        If the shapes differ or fewer than 10 % of the pixels are valid.
    """
    ref = np.asarray(reference, dtype=np.float64)
    mov = np.asarray(moving, dtype=np.float64)
    if ref.shape != mov.shape or ref.ndim != 2:
        raise DataError(
            f"phase correlation needs two 2-D arrays of one shape: {ref.shape}, {mov.shape}"
        )
    usable = np.isfinite(ref)
    if mask is not None:
        usable &= np.asarray(mask, dtype=bool)

    def measure(current: np.ndarray) -> tuple[np.ndarray, float]:
        valid = usable & np.isfinite(current)
        if valid.mean() < 0.1:
            raise DataError(
                f"only {valid.mean():.1%} of the pixels are valid in both images; "
                "phase correlation needs at least 10 %"
            )
        shift, error, _ = phase_cross_correlation(
            _fill_mean(ref, valid),
            _fill_mean(current, valid),
            upsample_factor=upsample_factor,
            normalization=None,
        )
        return np.asarray(shift, dtype=float), float(error)

    total, error = measure(mov)
    gaps = not (usable & np.isfinite(mov)).all()
    for _ in range(refine if gaps else 0):
        residual, error = measure(apply_subpixel_shift(mov, *total))
        total = total + residual
        if np.hypot(*residual) < 0.5 / upsample_factor:
            break
    return float(total[0]), float(total[1]), error


def apply_subpixel_shift(arr: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Shift a 2-D array by (dy, dx) pixels with cubic splines, NaN-aware.

    Positive ``dy`` moves content down (to larger rows), positive ``dx`` to
    the right, as :func:`scipy.ndimage.shift`. NaN pixels are filled with
    their nearest valid neighbour before the spline (so they do not spread),
    and the output is NaN wherever the shifted validity mask is not fully
    valid or the source lies outside the array.

    Parameters
    ----------
    arr
        2-D array.
    dy, dx
        Shift in pixels.

    Returns
    -------
    numpy.ndarray
        Shifted array, same float dtype (float32 for integers).

    Raises
    ------
    DataError
        If the array is not 2-D.
    """
    a = np.asarray(arr)
    dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float32
    if a.ndim != 2:
        raise DataError(f"apply_subpixel_shift takes a 2-D array, got shape {a.shape}")
    valid = np.isfinite(a)
    if not valid.any():
        return np.full(a.shape, np.nan, dtype=dtype)
    filled = a.astype(np.float64)
    if not valid.all():
        idx = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
        filled = filled[tuple(idx)]
    out = ndimage.shift(filled, (dy, dx), order=3, mode="nearest")
    moved_valid = ndimage.shift(
        valid.astype(np.float64), (dy, dx), order=1, mode="constant", cval=0.0
    )
    out[moved_valid < 1.0 - 1e-6] = np.nan
    return out.astype(dtype)
