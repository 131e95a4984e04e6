"""Fusion of co-registered source cubes: weighted averaging, PCA and
mutual-information screening.

All inputs are cube DataArrays on the common grid, dims (time, band, y, x)
(or (band, y, x)), NumPy or dask backed.

* :func:`estimate_noise_variance` estimates each band's noise from the data
  (Immerkaer 1996).
* :func:`weighted_average` z-scores matched bands of several sources and
  averages them with weights proportional to the inverse noise variance
  (the minimum-variance unbiased combination of independent noisy
  measurements of one signal).
* :func:`fit_pca` / :func:`apply_pca` compress the bands into principal
  components, chunk by chunk.
* :func:`mutual_information_screening` drops a band that is redundant with
  a band of another source already kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dask.array
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from scipy.signal import convolve2d
from sklearn.decomposition import PCA
from sklearn.feature_selection import mutual_info_regression

from .chunked import nanmedian
from .errors import ConfigError, DataError

# Immerkaer's (1996) noise operator: the difference of two Laplacians. It is
# zero on any locally linear (planar) signal, and on white noise of standard
# deviation s its output has standard deviation 6 s (sqrt of the sum of the
# squared kernel weights, 36).
IMMERKAER_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
_GAUSS_MAD = 0.6744897501960817  # median |X| / sigma for a normal X


def _band_names(da: xr.DataArray) -> list[str]:
    if "band" not in da.dims:
        raise DataError(f"array with dims {da.dims} has no 'band' dimension; pass a cube DataArray")
    return [str(b) for b in np.asarray(da["band"].values).tolist()]


def _as_cube(da: xr.DataArray | xr.Dataset) -> xr.DataArray:
    if isinstance(da, xr.Dataset):
        if "data" not in da:
            raise DataError("cube Dataset has no 'data' variable; pass a cube built by build_cube")
        return da["data"]
    return da


def estimate_noise_variance(da: xr.DataArray, *, robust: bool = True) -> xr.DataArray:
    """Noise variance of each band, estimated from the data (Immerkaer 1996).

    Every (time, band) image is convolved with Immerkaer's 3x3 operator
    ``[[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` over the interior pixels whose
    3x3 neighbourhood is complete (no NaN). The operator cancels locally planar
    signal, so its output is dominated by pixel noise, whose standard
    deviation it multiplies by 6. The noise standard deviation is

    * ``robust=True``: ``median(|N * I|) / (6 * 0.6745)`` (MAD; edges between
      land-cover patches, which leak through the operator, are outliers that
      the median ignores);
    * ``robust=False``: ``sqrt(pi / 2) * mean(|N * I|) / 6`` (Immerkaer's
      original estimator).

    J. Immerkaer (1996), "Fast noise variance estimation", Computer Vision and
    Image Understanding 64(2):300-302.

    A dask-backed cube is processed chunk by chunk (a one-pixel halo per
    chunk) and the median is the exact one of :func:`coexplore.chunked.nanmedian`,
    so memory follows the chunk size, not the cube size.

    Parameters
    ----------
    da
        Cube, dims (time, band, y, x) or (band, y, x).
    robust
        Use the median (MAD) instead of the mean absolute response.

    Returns
    -------
    xarray.DataArray
        Noise variance per band (dim ``band``), in the squared unit of ``da``.

    Raises
    ------
    DataError
        If ``da`` has no band dimension or a band has no complete 3x3 neighbourhood.
    """
    da = _as_cube(da)
    names = _band_names(da)
    out = []
    for name in names:
        band = da.sel(band=name).transpose(..., "y", "x")
        images = band.data.reshape(-1, *band.shape[-2:])
        if isinstance(images, dask.array.Array):
            # chunk by chunk: a one-pixel halo gives every interior pixel its
            # 3x3 neighbourhood, and the image borders get no halo, so the
            # responses are those of the whole images
            resp = dask.array.map_overlap(
                _immerkaer_abs,
                images.astype(np.float64),
                depth={0: 0, 1: 1, 2: 1},
                boundary="none",
                dtype=np.float64,
            )
            centre = nanmedian(resp) if robust else float(dask.array.nanmean(resp).compute())
        else:
            resp = _immerkaer_abs(np.asarray(images, dtype=np.float64))
            resp = resp[np.isfinite(resp)]
            centre = (np.median(resp) if robust else resp.mean()) if resp.size else np.nan
        if not np.isfinite(centre):
            raise DataError(
                f"band {name!r} has no pixel with a complete 3x3 neighbourhood; "
                "noise cannot be estimated (is the band all NaN?)"
            )
        if robust:
            sigma = centre / (6.0 * _GAUSS_MAD)
        else:
            sigma = np.sqrt(np.pi / 2.0) * centre / 6.0
        out.append(sigma**2)
    return xr.DataArray(np.asarray(out), dims="band", coords={"band": names}, name="noise_variance")


def _immerkaer_abs(images: np.ndarray) -> np.ndarray:
    """|Immerkaer response| of each (n, y, x) image; NaN on the border ring and
    wherever the 3x3 neighbourhood holds a NaN."""
    out = np.full(images.shape, np.nan)
    if images.shape[-2] >= 3 and images.shape[-1] >= 3:
        for k, img in enumerate(images):
            out[k, 1:-1, 1:-1] = np.abs(convolve2d(img, IMMERKAER_KERNEL, mode="valid"))
    return out


def _weights_table(
    weights: str | Mapping[str, float | Mapping[str, float]],
    noise_z: pd.DataFrame,
) -> pd.DataFrame:
    """Normalised weights (out band x source) from the option and the z-unit noise."""
    if isinstance(weights, str):
        if weights != "inverse_noise":
            raise ConfigError(
                f"fusion weights={weights!r} unknown; use 'inverse_noise' or a mapping "
                "{source: weight} / {source: {band: weight}}"
            )
        raw = 1.0 / noise_z
    else:
        raw = pd.DataFrame(np.nan, index=noise_z.index, columns=noise_z.columns)
        for source in noise_z.columns:
            if source not in weights:
                raise ConfigError(
                    f"fusion weights give no weight for source {source!r}; "
                    f"give one for each of {list(noise_z.columns)}"
                )
            w = weights[source]
            for band in noise_z.index:
                value = w.get(band, np.nan) if isinstance(w, Mapping) else w
                raw.loc[band, source] = float(value)
        used = raw.to_numpy()[noise_z.notna().to_numpy()]  # weights of contributing sources
        if (used < 0).any() or not np.isfinite(used).all():
            raise ConfigError(
                f"fusion weights {dict(weights)} must be finite and non-negative for every "
                "source that contributes to a band"
            )
    raw = raw.where(noise_z.notna())
    total = raw.sum(axis=1, skipna=True)
    if (total <= 0).any() or not np.isfinite(total).all():
        bad = list(total.index[~(total > 0) | ~np.isfinite(total)])
        raise ConfigError(f"fusion weights of band(s) {bad} sum to zero; give a positive weight")
    return raw.div(total, axis=0)


def weighted_average(
    sources: Mapping[str, xr.DataArray | xr.Dataset],
    *,
    weights: str | Mapping[str, float | Mapping[str, float]] = "inverse_noise",
    bands: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Weighted average of matched, z-scored bands of co-registered sources.

    Each contributing band is z-scored over all its valid cells
    (``(x - mean) / std``), so that sources in different units become
    comparable, and the sources are averaged per output band with
    normalised weights. With ``weights="inverse_noise"`` a source's weight
    is proportional to ``1 / noise variance`` of its z-scored band
    (:func:`estimate_noise_variance`), the minimum-variance combination of
    independent noisy measurements. Where a source is NaN (a gap, no drone
    flight) the weights are renormalised over the sources present; where all
    are NaN the result is NaN.

    Parameters
    ----------
    sources
        Cube DataArrays (or cube Datasets) by source name, dims (time, band, y, x)
        on the same grid.
    weights
        ``"inverse_noise"``, or ``{source: weight}``, or ``{source: {band: weight}}``
        (output band names); normalised per output band.
    bands
        Band matching ``{output band: {source: source band}}``; by default the
        band names every source has in common (e.g. drone and Landsat
        ``red, green, blue``).

    Returns
    -------
    fused : xarray.DataArray
        dims (time, band, y, x) float32 in z units (dimensionless), over the
        time steps all sources share.
    weights : pandas.DataFrame
        Normalised weights, index output band, columns source (NaN: the source
        does not contribute to that band).

    Raises
    ------
    DataError
        No source, no band in common, a mapped band absent, grids that differ,
        no shared time step, or a constant band (cannot be z-scored).
    ConfigError
        Unknown or invalid ``weights``.
    """
    cubes = {name: _as_cube(da) for name, da in sources.items()}
    if not cubes:
        raise DataError("weighted_average got no source; pass at least one cube")
    names = list(cubes)
    if bands is None:
        common = [
            b
            for b in _band_names(cubes[names[0]])
            if all(b in _band_names(c) for c in cubes.values())
        ]
        if not common:
            raise DataError(
                f"sources {names} share no band name; pass bands={{output: {{source: band}}}}"
            )
        bands = {b: {s: b for s in names} for b in common}
    for out_band, mapping in bands.items():
        for s, sb in mapping.items():
            if s not in cubes:
                raise DataError(f"band map for {out_band!r} names source {s!r}, not in {names}")
            if sb not in _band_names(cubes[s]):
                raise DataError(
                    f"cube {s!r} has no band {sb!r} (mapped to {out_band!r}); "
                    f"it has {_band_names(cubes[s])}"
                )
    ref = cubes[names[0]]
    for s, c in cubes.items():
        for dim in ("y", "x"):
            if c.sizes[dim] != ref.sizes[dim] or not np.allclose(c[dim].values, ref[dim].values):
                raise DataError(
                    f"cube {s!r} is not on the grid of {names[0]!r} ({dim} differs); "
                    "resample all sources onto the common grid first"
                )
    has_time = all("time" in c.dims for c in cubes.values())
    if has_time:
        shared = ref["time"].values
        for c in cubes.values():
            shared = np.intersect1d(shared, c["time"].values)
        if shared.size == 0:
            raise DataError(f"sources {names} share no time step; build them over the same period")
        cubes = {s: c.sel(time=shared) for s, c in cubes.items()}

    zs: dict[tuple[str, str], xr.DataArray] = {}
    noise_z = pd.DataFrame(np.nan, index=list(bands), columns=names)
    for out_band, mapping in bands.items():
        for s, sb in mapping.items():
            x = cubes[s].sel(band=sb, drop=True).astype(np.float64)
            mean = float(x.mean(skipna=True))
            std = float(x.std(skipna=True))
            if not np.isfinite(std) or std == 0:
                raise DataError(
                    f"band {sb!r} of cube {s!r} is constant or empty (std={std}); "
                    "it cannot be z-scored for fusion; drop it from the band map"
                )
            z = (x - mean) / std
            zs[(out_band, s)] = z
            noise_z.loc[out_band, s] = float(
                estimate_noise_variance(z.expand_dims(band=[out_band]), robust=True).item()
            )
    if isinstance(weights, str) and weights == "inverse_noise":
        noise_z = noise_z.where(noise_z > 0, np.finfo(float).tiny)
    w = _weights_table(weights, noise_z)

    fused = []
    for out_band, mapping in bands.items():
        num = 0.0
        den = 0.0
        for s in mapping:
            z = zs[(out_band, s)]
            ws = float(w.loc[out_band, s])
            num = num + ws * z.fillna(0.0)
            den = den + ws * z.notnull()
        fused.append((num / den.where(den > 0)).astype(np.float32))
    out = xr.concat(fused, dim="band").assign_coords(band=list(bands))
    out = out.transpose(*(("time",) if has_time else ()), "band", "y", "x")
    out.attrs.update({"units": "z-score", "fusion": "weighted average of z-scored bands"})
    crs = ref.rio.crs
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out, w


@dataclass(frozen=True)
class PCAModel:
    """A principal component model of a cube's bands.

    Attributes
    ----------
    bands
        Band names, in the order the model expects.
    mean_, scale_
        Per-band centring and scaling applied before the PCA.
    pca_
        The fitted :class:`sklearn.decomposition.PCA`.
    n_samples_
        Number of valid pixels it was fitted on.
    seed
        Seed of the sample draw.
    """

    bands: tuple[str, ...]
    mean_: np.ndarray
    scale_: np.ndarray
    pca_: PCA
    n_samples_: int
    seed: int

    @property
    def n_components(self) -> int:
        return int(self.pca_.n_components_)

    @property
    def component_names(self) -> list[str]:
        return [f"pc{i + 1}" for i in range(self.n_components)]

    @property
    def explained_variance_ratio_(self) -> np.ndarray:
        """Share of the (standardised) variance of each component."""
        return np.asarray(self.pca_.explained_variance_ratio_)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Project rows of band values (n, bands); rows with a NaN give NaN."""
        x = np.asarray(x, dtype=np.float64)
        out = np.full((x.shape[0], self.n_components), np.nan)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            out[ok] = self.pca_.transform((x[ok] - self.mean_) / self.scale_)
        return out

    def inverse_transform(self, y: np.ndarray) -> np.ndarray:
        """Back-project component scores (n, components) to band values."""
        return (
            self.pca_.inverse_transform(np.asarray(y, dtype=np.float64)) * self.scale_ + self.mean_
        )

    def loadings(self) -> pd.DataFrame:
        """Component loadings (components x bands) with the explained variance ratio."""
        table = pd.DataFrame(self.pca_.components_, index=self.component_names, columns=self.bands)
        table["explained_variance_ratio"] = self.explained_variance_ratio_
        return table


def sample_valid_pixels(
    da: xr.DataArray, *, sample_size: int, seed: int | np.random.Generator, oversample: int = 4
) -> np.ndarray:
    """A random sample of cells (all bands finite) of a cube, as rows.

    Parameters
    ----------
    da
        Cube, dims (..., band, y, x); every non-band dim is sampled over.
    sample_size
        Maximum number of rows returned.
    seed
        Seed or generator of the draw.
    oversample
        Cells drawn per wanted row before dropping invalid ones (large cubes).

    Returns
    -------
    numpy.ndarray
        (n, bands) float64, ``n <= sample_size``.
    """
    rng = np.random.default_rng(seed)
    other = [d for d in da.dims if d != "band"]
    sizes = [da.sizes[d] for d in other]
    total = int(np.prod(sizes))
    if total <= oversample * sample_size:
        rows = np.asarray(da.transpose(*other, "band").values, dtype=np.float64)
        rows = rows.reshape(-1, da.sizes["band"])[rng.permutation(total)]
    else:
        flat = rng.choice(total, size=oversample * sample_size, replace=False)
        idx = np.unravel_index(flat, sizes)
        sel = {d: xr.DataArray(i, dims="sample") for d, i in zip(other, idx, strict=True)}
        rows = np.asarray(da.isel(sel).transpose("sample", "band").values, dtype=np.float64)
    rows = rows[np.isfinite(rows).all(axis=1)]
    return rows[:sample_size]


def fit_pca(
    da: xr.DataArray | xr.Dataset,
    *,
    n_components: int,
    sample_size: int = 20000,
    seed: int,
    standardize: bool = True,
) -> PCAModel:
    """Fit a PCA of the bands on a random sample of valid cells.

    Parameters
    ----------
    da
        Cube, dims (time, band, y, x) or (band, y, x).
    n_components
        Number of components (<= number of bands).
    sample_size
        Number of valid cells (time, y, x) to fit on.
    seed
        Seed of the sample draw (and of the PCA solver).
    standardize
        Scale each band to unit variance first (bands in different units).

    Returns
    -------
    PCAModel

    Raises
    ------
    ConfigError
        If ``n_components`` is not in ``[1, bands]``.
    DataError
        If fewer valid cells than ``n_components + 1`` are found.
    """
    da = _as_cube(da)
    names = _band_names(da)
    if not 1 <= n_components <= len(names):
        raise ConfigError(
            f"fusion n_components={n_components} must be between 1 and the {len(names)} bands"
        )
    rows = sample_valid_pixels(da, sample_size=sample_size, seed=seed)
    if rows.shape[0] < n_components + 1:
        raise DataError(
            f"only {rows.shape[0]} cells with all of {names} valid; PCA with {n_components} "
            "components needs more (check the cube for NaN-only bands)"
        )
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0) if standardize else np.ones(len(names))
    scale = np.where(scale > 0, scale, 1.0)
    pca = PCA(n_components=n_components, random_state=seed).fit((rows - mean) / scale)
    return PCAModel(
        bands=tuple(names), mean_=mean, scale_=scale, pca_=pca, n_samples_=rows.shape[0], seed=seed
    )


def apply_pca(da: xr.DataArray | xr.Dataset, model: PCAModel) -> xr.DataArray:
    """Project a cube onto the principal components, chunk by chunk.

    Parameters
    ----------
    da
        Cube with the model's bands, dims (time, band, y, x) or (band, y, x);
        dask-backed cubes are processed lazily per chunk
        (``xr.apply_ufunc(dask="parallelized")``; the band dim is one chunk).
    model
        From :func:`fit_pca`.

    Returns
    -------
    xarray.DataArray
        dims (time, component, y, x) (or (component, y, x)) float32; a cell with
        a NaN band is NaN. ``attrs["explained_variance_ratio"]`` lists the shares.

    Raises
    ------
    DataError
        If a band of the model is absent.
    """
    da = _as_cube(da)
    have = _band_names(da)
    missing = [b for b in model.bands if b not in have]
    if missing:
        raise DataError(f"cube lacks band(s) {missing} of the PCA model; it has {have}")
    da = da.sel(band=list(model.bands))
    if da.chunks is not None:
        da = da.chunk({"band": -1})

    def _project(block: np.ndarray) -> np.ndarray:
        lead = block.shape[:-1]
        out = model.transform(block.reshape(-1, block.shape[-1]))
        return out.reshape(*lead, model.n_components).astype(np.float32)

    out = xr.apply_ufunc(
        _project,
        da,
        input_core_dims=[["band"]],
        output_core_dims=[["component"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"component": model.n_components}},
    )
    order = [d if d != "band" else "component" for d in da.dims]
    out = out.transpose(*order).assign_coords(component=model.component_names)
    out.attrs["explained_variance_ratio"] = [float(v) for v in model.explained_variance_ratio_]
    return out


def normalised_mutual_information(mi_nats: np.ndarray) -> np.ndarray:
    """Linfoot's (1957) informational coefficient of correlation ``sqrt(1 - exp(-2 MI))``.

    Maps mutual information (nats, >= 0) onto [0, 1); for jointly Gaussian
    variables it equals ``|Pearson r|``.
    """
    mi = np.maximum(np.asarray(mi_nats, dtype=np.float64), 0.0)
    return np.sqrt(1.0 - np.exp(-2.0 * mi))


def mutual_information_screening(
    bands: xr.DataArray,
    *,
    threshold: float,
    seed: int,
    n_neighbors: int = 3,
    sources: Mapping[str, str] | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Drop bands redundant with an already-kept band of another source.

    Pairwise mutual information is estimated with the k-nearest-neighbour
    estimator of Kraskov et al. (2004) (:func:`sklearn.feature_selection.mutual_info_regression`),
    symmetrised, and normalised to [0, 1) by Linfoot's coefficient
    (:func:`normalised_mutual_information`; 1 = one band determines the other).
    Bands are visited in their order along ``band`` (put the preferred
    source first): a band is kept unless its normalised MI with a kept band of
    a *different* source exceeds ``threshold``; bands of the same source are
    never dropped against each other. Complementary bands (low MI) are kept.

    Parameters
    ----------
    bands
        dims (band, sample): band values at sample cells; samples with a NaN
        band are dropped. Sources come from a ``source`` coordinate on ``band``
        or from ``sources``; without either every pair is compared.
    threshold
        Normalised MI above which a band is redundant, in (0, 1].
    seed
        Seed of the estimator's jitter.
    n_neighbors
        k of the Kraskov estimator.
    sources
        ``{band: source}`` when ``bands`` has no ``source`` coordinate.

    Returns
    -------
    kept : list of str
        Band names kept, in input order.
    mi : pandas.DataFrame
        Normalised MI matrix (band x band, diagonal 1).

    Raises
    ------
    ConfigError
        If ``threshold`` is outside (0, 1].
    DataError
        If fewer than ``n_neighbors + 2`` complete samples remain.
    """
    if not 0 < threshold <= 1:
        raise ConfigError(f"MI screening threshold={threshold} must be in (0, 1]")
    bands = bands.transpose("band", ...)
    names = _band_names(bands)
    if sources is None and "source" in bands.coords:
        sources = dict(zip(names, [str(s) for s in bands["source"].values], strict=True))
    src = [sources.get(n, n) if sources is not None else n for n in names]
    x = np.asarray(bands.values, dtype=np.float64).reshape(len(names), -1).T
    x = x[np.isfinite(x).all(axis=1)]
    if x.shape[0] < n_neighbors + 2:
        raise DataError(
            f"only {x.shape[0]} samples with all bands {names} valid; MI screening needs "
            f"at least {n_neighbors + 2}"
        )
    nb = len(names)
    mi = np.zeros((nb, nb))
    for b in range(nb):
        mi[b] = mutual_info_regression(x, x[:, b], n_neighbors=n_neighbors, random_state=seed)
    nmi = normalised_mutual_information((mi + mi.T) / 2.0)
    np.fill_diagonal(nmi, 1.0)
    kept: list[int] = []
    for b in range(nb):
        redundant = any(src[k] != src[b] and nmi[b, k] > threshold for k in kept)
        if not redundant:
            kept.append(b)
    table = pd.DataFrame(nmi, index=names, columns=names)
    table.attrs["sources"] = dict(zip(names, src, strict=True))
    return [names[k] for k in kept], table


def band_sample(
    cubes: Mapping[str, xr.DataArray | xr.Dataset],
    *,
    sample_size: int,
    seed: int,
    bands: Sequence[str] | None = None,
) -> xr.DataArray:
    """Sample the same cells from several cubes into a (band, sample) DataArray.

    The band coordinate is ``"source:band"`` with a ``source`` coordinate, the
    input :func:`mutual_information_screening` expects.

    Parameters
    ----------
    cubes
        Cube DataArrays/Datasets by source, on one grid and time axis.
    sample_size
        Number of cells (time, y, x) drawn (with NaN rows kept; screening drops them).
    seed
        Seed of the draw.
    bands
        ``"source:band"`` names to include; all by default.

    Returns
    -------
    xarray.DataArray
        dims (band, sample).
    """
    arrays = {s: _as_cube(c) for s, c in cubes.items()}
    ref = next(iter(arrays.values()))
    other = [d for d in ref.dims if d != "band"]
    sizes = [ref.sizes[d] for d in other]
    total = int(np.prod(sizes))
    rng = np.random.default_rng(seed)
    flat = rng.choice(total, size=min(sample_size, total), replace=False)
    idx = np.unravel_index(np.sort(flat), sizes)
    sel = {d: xr.DataArray(i, dims="sample") for d, i in zip(other, idx, strict=True)}
    parts, names, srcs = [], [], []
    for s, c in arrays.items():
        values = np.asarray(c.isel(sel).transpose("band", "sample").values, dtype=np.float64)
        for i, b in enumerate(_band_names(c)):
            name = f"{s}:{b}"
            if bands is None or name in bands:
                parts.append(values[i])
                names.append(name)
                srcs.append(s)
    return xr.DataArray(
        np.stack(parts), dims=("band", "sample"), coords={"band": names, "source": ("band", srcs)}
    )
