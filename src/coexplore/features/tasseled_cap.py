"""Tasseled cap transformation for Landsat 8 OLI.

Coefficients of Baig, M. H. A., Zhang, L., Shuai, T. & Tong, Q. (2014),
"Derivation of a tasselled cap transformation based on Landsat 8
at-satellite reflectance", Remote Sensing Letters 5(5):423-431,
doi:10.1080/2150704X.2014.915434, Table 2 (first three components), for OLI
bands 2-7 (blue, green, red, nir, swir1, swir2).

They were derived for top-of-atmosphere reflectance; the cubes hold surface
reflectance, to which they are commonly applied as well. The components are
then comparable between dates and places of our cubes, but their absolute
values are not those of a TOA transformation.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataError

TC_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir1", "swir2")
"""Cube band names the coefficients apply to, in order (OLI bands 2-7)."""

BAIG2014_COEFFICIENTS: dict[str, tuple[float, ...]] = {
    "brightness": (0.3029, 0.2786, 0.4733, 0.5599, 0.5080, 0.1872),
    "greenness": (-0.2941, -0.2430, -0.5424, 0.7276, 0.0713, -0.1608),
    "wetness": (0.1511, 0.1973, 0.3283, 0.3407, -0.7117, -0.4559),
}
"""Tasseled cap coefficients (Baig et al. 2014, Table 2) per component."""


def tasseled_cap(
    da: xr.DataArray,
    *,
    band_dim: str = "band",
    components: tuple[str, ...] = ("brightness", "greenness", "wetness"),
    source: str = "landsat8",
) -> xr.DataArray:
    """Brightness, greenness and wetness of Landsat 8 OLI reflectance.

    Parameters
    ----------
    da
        Reflectance with a ``band_dim`` dimension containing :data:`TC_BANDS`.
    band_dim
        Name of the band dimension.
    components
        Components to return (keys of :data:`BAIG2014_COEFFICIENTS`).
    source
        Name of the cube, used in error messages.

    Returns
    -------
    xarray.DataArray
        ``da``'s dimensions with ``band_dim`` holding the component names; a
        pixel with a NaN band is NaN.

    Raises
    ------
    DataError
        If a needed band or a requested component is absent.

    Examples
    --------
    >>> refl = xr.DataArray(np.full(6, 0.1), dims="band", coords={"band": list(TC_BANDS)})
    >>> round(float(tasseled_cap(refl).sel(band="brightness")), 5)
    0.23099
    """
    have = set(np.asarray(da[band_dim].values).tolist())
    missing = [b for b in TC_BANDS if b not in have]
    if missing:
        raise DataError(
            f"cube {source!r} lacks band(s) {missing} needed by the tasseled cap; "
            f"it needs {list(TC_BANDS)}"
        )
    unknown = [c for c in components if c not in BAIG2014_COEFFICIENTS]
    if unknown:
        raise DataError(
            f"unknown tasseled cap component(s) {unknown}; choose among "
            f"{list(BAIG2014_COEFFICIENTS)}"
        )
    coeffs = xr.DataArray(
        np.array([BAIG2014_COEFFICIENTS[c] for c in components], dtype=np.float32),
        dims=("component", band_dim),
        coords={"component": list(components), band_dim: list(TC_BANDS)},
    )
    refl = da.sel({band_dim: list(TC_BANDS)})
    # xr.dot propagates NaN: a pixel with a NaN band gets NaN components
    out = xr.dot(coeffs, refl, dim=band_dim)
    out = out.rename({"component": band_dim})
    dims = list(da.dims)
    return out.transpose(*dims).astype(np.float32)
