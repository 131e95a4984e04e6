"""Step fuse_cubes: weighted average of matched bands, mutual-information
screening, PCA applied chunk by chunk."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ConfigError, DataError
from ..fusion import apply_pca, band_sample, fit_pca, mutual_information_screening, weighted_average
from ..grid import Grid
from ..io.atomic import atomic_path
from ..io.cubes import open_cube, to_dataset, write_cube

log = logging.getLogger(__name__)

#: smallest edge (cells) of the regions of the fused cube computed at once
FUSION_REGION = 256


def _prefixed(cube: xr.DataArray, source: str, keep: list[str] | None = None) -> xr.DataArray:
    names = [str(b) for b in cube["band"].values]
    if keep is not None:
        cube = cube.sel(band=[b for b in names if b in keep])
        names = [str(b) for b in cube["band"].values]
    return cube.assign_coords(band=[f"{source}:{b}" for b in names])


def fused_band_stack(
    cubes: Mapping[str, xr.Dataset],
    *,
    match: Mapping[str, Mapping[str, str]],
    weights: str | Mapping[str, Any],
    pca_sources: list[str],
) -> tuple[xr.DataArray, pd.DataFrame]:
    """All candidate bands for the PCA as one lazy (time, band, y, x) array.

    The matched bands (the same quantity from several sources, e.g. red from
    Landsat and drone) are replaced by their quality-weighted average
    (``fused:<band>``); every other band of ``pca_sources`` enters as
    ``<source>:<band>``.
    """
    parts: list[xr.DataArray] = []
    consumed: dict[str, set[str]] = {}
    weight_table = pd.DataFrame()
    if match:
        involved = sorted({s for m in match.values() for s in m})
        missing = [s for s in involved if s not in cubes]
        if missing:
            raise DataError(
                f"fusion.match names source(s) {missing} that have no cube; "
                "add them to the area's sources or remove them from fusion.match"
            )
        avg, weight_table = weighted_average(
            {s: cubes[s]["data"] for s in involved}, weights=weights, bands=match
        )
        parts.append(avg.assign_coords(band=[f"fused:{b}" for b in avg["band"].values]))
        for m in match.values():
            for s, b in m.items():
                consumed.setdefault(s, set()).add(b)
    for s in pca_sources:
        if s not in cubes:
            raise DataError(f"fusion.pca_sources names {s!r}, which has no cube for this area")
        cube = cubes[s]["data"]
        keep = [str(b) for b in cube["band"].values if str(b) not in consumed.get(s, set())]
        parts.append(_prefixed(cube, s, keep))
    stack = xr.concat(parts, dim="band", join="exact", coords="minimal", compat="override")
    src = [str(b).split(":", 1)[0] for b in stack["band"].values]
    return stack.assign_coords(source=("band", src)), weight_table


def step_fuse_cubes(
    cube_paths: Mapping[str, str | Path],
    *,
    area: dict,
    cfg: dict,
    out_cube: str | Path,
    out_weights: str | Path,
    out_pca: str | Path,
    out_mi: str | Path,
    out_summary: str | Path,
) -> dict[str, Any]:
    """Fuse an area's source cubes into ``fused.zarr`` and write the summaries.

    Parameters
    ----------
    cube_paths
        Cube stores by source.
    area
        The area's config (grid, seed).
    cfg
        The ``fusion`` config block: ``match``, ``weights``, ``pca_sources``,
        ``mi_threshold``, ``sample_size``, ``n_components``, ``chunks``.
    """
    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    # per-image work (z-scores, noise, weighted average, PCA projection) on
    # bounded tiles, so memory follows the tile size, not the area
    cubes = {s: open_cube(p, chunks="steps") for s, p in cube_paths.items()}
    weights = cfg["weights"]
    if not (weights == "inverse_noise" or isinstance(weights, Mapping)):
        raise ConfigError(f"fusion.weights={weights!r}; use 'inverse_noise' or {{source: weight}}")
    # an area without one of the matched sources (e.g. no drone flights)
    # averages over the sources it has
    match = {band: {s: b for s, b in m.items() if s in cubes} for band, m in cfg["match"].items()}
    match = {band: m for band, m in match.items() if m}
    stack, weight_table = fused_band_stack(
        cubes,
        match=match,
        weights=weights,
        pca_sources=[s for s in cfg["pca_sources"] if s in cubes],
    )
    sample = band_sample({"stack": stack}, sample_size=cfg["sample_size"], seed=seed)
    # band_sample prefixes with the dict key; restore the source:band names
    sample = sample.assign_coords(
        band=list(stack["band"].values), source=("band", list(stack["source"].values))
    )
    kept, mi = mutual_information_screening(sample, threshold=cfg["mi_threshold"], seed=seed)
    if not kept:
        raise DataError("mutual-information screening kept no band; raise fusion.mi_threshold")
    screened = stack.sel(band=kept)
    n_comp = min(int(cfg["n_components"]), len(kept))
    model = fit_pca(screened, n_components=n_comp, sample_size=cfg["sample_size"], seed=seed)
    pcs = apply_pca(screened.chunk({"time": 1, "band": -1}), model).transpose(
        "time", "component", "y", "x"
    )
    ds = to_dataset(
        pcs.data.astype("float32"),
        grid=grid,
        bands=model.component_names,
        times=pd.DatetimeIndex(pcs["time"].values),
        attrs={
            "source": "fused",
            "method": "weighted average of matched bands, MI screening, PCA",
            "input_bands": kept,
            "explained_variance_ratio": model.explained_variance_ratio_.tolist(),
            "config": cfg,
        },
    )
    chunks = cfg.get("chunks", 256)
    # regions of whole store chunks, at least FUSION_REGION cells a side: the
    # components of a tile share its projection, z-scores and weights
    write_cube(ds, out_cube, chunks=chunks, region=chunks * -(-FUSION_REGION // chunks))
    pca_table = pd.DataFrame(
        {
            "component": model.component_names,
            "explained_variance_ratio": model.explained_variance_ratio_,
            "cumulative": np.cumsum(model.explained_variance_ratio_),
        }
    )
    loadings = pd.DataFrame(model.pca_.components_, index=model.component_names, columns=kept)
    pca_table = pca_table.join(loadings, on="component")
    for path, table, index in (
        (out_weights, weight_table, True),
        (out_pca, pca_table, False),
        (out_mi, mi, True),
    ):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=index)
    summary = {
        "candidate_bands": [str(b) for b in stack["band"].values],
        "kept_bands": kept,
        "dropped_bands": [str(b) for b in stack["band"].values if str(b) not in kept],
        "n_components": n_comp,
        "explained_variance_ratio": model.explained_variance_ratio_.tolist(),
        "pca_samples": model.n_samples_,
        "weights": json.loads(weight_table.to_json()) if len(weight_table) else {},
    }
    with atomic_path(out_summary) as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1))
    log.info(
        "fused %d of %d bands into %d components (%.1f%% variance)",
        len(kept),
        stack.sizes["band"],
        n_comp,
        100 * float(np.sum(model.explained_variance_ratio_)),
    )
    return summary
