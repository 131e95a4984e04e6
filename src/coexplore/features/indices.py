"""Spectral indices from Landsat 8 OLI surface reflectance.

Every index is a plain function of band arrays (NumPy arrays or xarray
DataArrays, broadcast together) and is listed in :data:`INDEX_FORMULAS`
with its formula text, the Landsat 8 OLI cube bands it reads (names from
:class:`coexplore.sensors.Landsat8`) and its reference. A zero denominator
gives NaN, never ``inf``.

Examples
--------
>>> import numpy as np
>>> float(ndvi(np.float32(0.5), np.float32(0.1)))  # doctest: +ELLIPSIS
0.666...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError
from ..sensors import Landsat8

ArrayLike = Any  # numpy array, scalar or xarray.DataArray


def safe_divide(numerator: ArrayLike, denominator: ArrayLike) -> ArrayLike:
    """``numerator / denominator`` with NaN where the denominator is zero.

    Parameters
    ----------
    numerator, denominator
        NumPy arrays, scalars or DataArrays (broadcast together).

    Returns
    -------
    array or DataArray
        Float quotient; NaN wherever ``denominator == 0`` (and where an input is NaN).
    """
    if isinstance(numerator, xr.DataArray) or isinstance(denominator, xr.DataArray):
        den = (
            xr.DataArray(denominator) if not isinstance(denominator, xr.DataArray) else denominator
        )
        return numerator / den.where(den != 0)
    num, den = np.asarray(numerator), np.asarray(denominator)
    # integers (and Python scalars, which become float64/int64) divide in float64
    if not np.issubdtype(num.dtype, np.floating):
        num = num.astype(np.float64)
    if not np.issubdtype(den.dtype, np.floating):
        den = den.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den)
    return np.where(den == 0, np.nan, out)


def _normalised_difference(a: ArrayLike, b: ArrayLike) -> ArrayLike:
    return safe_divide(a - b, a + b)


def ndvi(nir: ArrayLike, red: ArrayLike) -> ArrayLike:
    """Normalised difference vegetation index (Rouse et al. 1974)."""
    return _normalised_difference(nir, red)


def evi(nir: ArrayLike, red: ArrayLike, blue: ArrayLike) -> ArrayLike:
    """Enhanced vegetation index (Huete et al. 2002), G=2.5, C1=6, C2=7.5, L=1."""
    return safe_divide(2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0)


def savi(nir: ArrayLike, red: ArrayLike, *, soil_factor: float = 0.5) -> ArrayLike:
    """Soil-adjusted vegetation index (Huete 1988), ``L = soil_factor``."""
    return safe_divide((1.0 + soil_factor) * (nir - red), nir + red + soil_factor)


def ndwi(green: ArrayLike, nir: ArrayLike) -> ArrayLike:
    """Normalised difference water index of McFeeters (1996): green and NIR."""
    return _normalised_difference(green, nir)


def mndwi(green: ArrayLike, swir1: ArrayLike) -> ArrayLike:
    """Modified NDWI (Xu 2006): green and SWIR1."""
    return _normalised_difference(green, swir1)


def lswi(nir: ArrayLike, swir1: ArrayLike) -> ArrayLike:
    """Land surface water index (Xiao et al. 2002): NIR and SWIR1."""
    return _normalised_difference(nir, swir1)


def ndbi(swir1: ArrayLike, nir: ArrayLike) -> ArrayLike:
    """Normalised difference built-up index (Zha et al. 2003): SWIR1 and NIR."""
    return _normalised_difference(swir1, nir)


def nbr(nir: ArrayLike, swir2: ArrayLike) -> ArrayLike:
    """Normalised burn ratio (Key & Benson 2006): NIR and SWIR2."""
    return _normalised_difference(nir, swir2)


def bsi(blue: ArrayLike, red: ArrayLike, nir: ArrayLike, swir1: ArrayLike) -> ArrayLike:
    """Bare soil index (Rikimaru et al. 2002)."""
    return _normalised_difference(swir1 + red, nir + blue)


def simple_ratio(nir: ArrayLike, red: ArrayLike) -> ArrayLike:
    """Simple ratio NIR / red (Jordan 1969)."""
    return safe_divide(nir, red)


def clay_ratio(swir1: ArrayLike, swir2: ArrayLike) -> ArrayLike:
    """Clay (hydroxyl) mineral ratio SWIR1 / SWIR2 (Drury 1987; TM 5/7)."""
    return safe_divide(swir1, swir2)


def iron_oxide_ratio(red: ArrayLike, blue: ArrayLike) -> ArrayLike:
    """Iron oxide ratio red / blue (Segal 1982; TM 3/1)."""
    return safe_divide(red, blue)


def ferrous_ratio(swir1: ArrayLike, nir: ArrayLike) -> ArrayLike:
    """Ferrous minerals ratio SWIR1 / NIR (Segal 1982; TM 5/4)."""
    return safe_divide(swir1, nir)


@dataclass(frozen=True)
class IndexFormula:
    """One spectral index.

    Attributes
    ----------
    name
        Feature name of the index.
    formula
        The formula in text, with Landsat 8 cube band names.
    bands
        The cube bands it reads, in the order ``function`` takes them.
    function
        The function computing it.
    reference
        Where it is defined.
    """

    name: str
    formula: str
    bands: tuple[str, ...]
    function: Callable[..., ArrayLike]
    reference: str

    @property
    def oli_bands(self) -> tuple[int, ...]:
        """The Landsat 8 OLI band numbers read (e.g. NDVI: (5, 4))."""
        return tuple(Landsat8.bands[b] for b in self.bands)


INDEX_FORMULAS: dict[str, IndexFormula] = {
    f.name: f
    for f in (
        IndexFormula(
            "ndvi", "(nir - red) / (nir + red)", ("nir", "red"), ndvi, "Rouse et al. 1974"
        ),
        IndexFormula(
            "evi",
            "2.5 (nir - red) / (nir + 6 red - 7.5 blue + 1)",
            ("nir", "red", "blue"),
            evi,
            "Huete et al. 2002",
        ),
        IndexFormula(
            "savi", "1.5 (nir - red) / (nir + red + 0.5)", ("nir", "red"), savi, "Huete 1988"
        ),
        IndexFormula(
            "ndwi", "(green - nir) / (green + nir)", ("green", "nir"), ndwi, "McFeeters 1996"
        ),
        IndexFormula(
            "mndwi", "(green - swir1) / (green + swir1)", ("green", "swir1"), mndwi, "Xu 2006"
        ),
        IndexFormula(
            "lswi", "(nir - swir1) / (nir + swir1)", ("nir", "swir1"), lswi, "Xiao et al. 2002"
        ),
        IndexFormula(
            "ndbi", "(swir1 - nir) / (swir1 + nir)", ("swir1", "nir"), ndbi, "Zha et al. 2003"
        ),
        IndexFormula(
            "nbr", "(nir - swir2) / (nir + swir2)", ("nir", "swir2"), nbr, "Key & Benson 2006"
        ),
        IndexFormula(
            "bsi",
            "((swir1 + red) - (nir + blue)) / ((swir1 + red) + (nir + blue))",
            ("blue", "red", "nir", "swir1"),
            bsi,
            "Rikimaru et al. 2002",
        ),
        IndexFormula("sr", "nir / red", ("nir", "red"), simple_ratio, "Jordan 1969"),
        IndexFormula("clay_ratio", "swir1 / swir2", ("swir1", "swir2"), clay_ratio, "Drury 1987"),
        IndexFormula(
            "iron_oxide_ratio", "red / blue", ("red", "blue"), iron_oxide_ratio, "Segal 1982"
        ),
        IndexFormula("ferrous_ratio", "swir1 / nir", ("swir1", "nir"), ferrous_ratio, "Segal 1982"),
    )
}


def compute_indices(
    da: xr.DataArray,
    *,
    names: Sequence[str] | None = None,
    band_dim: str = "band",
    source: str = "landsat8",
) -> xr.DataArray:
    """Compute spectral indices from a DataArray with a band dimension.

    Parameters
    ----------
    da
        Reflectance with a ``band_dim`` dimension holding Landsat 8 cube band
        names (any other dimensions, e.g. (time, band, y, x) or (band, y, x)).
    names
        Indices to compute (keys of :data:`INDEX_FORMULAS`); all by default.
    band_dim
        Name of the band dimension.
    source
        Name of the cube, used in error messages.

    Returns
    -------
    xarray.DataArray
        Same dimensions as ``da`` with ``band_dim`` replaced by the index names.

    Raises
    ------
    DataError
        If an index name is unknown or a band it needs is absent from ``da``.
    """
    names = list(INDEX_FORMULAS) if names is None else list(names)
    have = set(np.asarray(da[band_dim].values).tolist())
    out = []
    for name in names:
        if name not in INDEX_FORMULAS:
            raise DataError(
                f"unknown spectral index {name!r}; choose among {sorted(INDEX_FORMULAS)}"
            )
        f = INDEX_FORMULAS[name]
        missing = [b for b in f.bands if b not in have]
        if missing:
            raise DataError(
                f"cube {source!r} lacks band(s) {missing} needed by index {name!r} "
                f"({f.formula}); include them in the {source} cube or drop {name!r}"
            )
        args = [da.sel({band_dim: b}, drop=True) for b in f.bands]
        out.append(f.function(*args).astype(np.float32))
    return xr.concat(out, dim=band_dim).assign_coords({band_dim: names}).transpose(*da.dims)
