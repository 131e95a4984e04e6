"""Step make_splits: the one spatially blocked train/validation/test split of
an area, shared by the classical models, the deep models and the learned
change detector."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..grid import Grid
from ..io.rasters import read_raster, write_geotiff
from ..learn.splits import SPLIT_NAMES, spatial_blocks
from .classical import read_truth


def step_make_splits(
    truth_paths: Mapping[int, str | Path], *, area: dict, cfg: dict, out: str | Path
) -> np.ndarray:
    """Blocks of ``cfg["block_size"]`` px dealt to train/val/test by
    ``cfg["split_fractions"]``, stratified so that every class of the ground
    truth (any year) reaches every split where it can; written as an int8 COG."""
    grid = Grid.from_config(area["grid"])
    labels = np.stack([read_truth(p, grid) for _, p in sorted(truth_paths.items())])
    splits = spatial_blocks(
        grid.shape,
        int(cfg["block_size"]),
        fractions=tuple(cfg["split_fractions"]),
        seed=int(area["seed"]),
        labels=labels,
    )
    write_geotiff(
        out,
        splits.astype(np.int8),
        transform=grid.transform,
        crs=grid.crs,
        nodata=-1,
        band_names=["split"],
        category_names=SPLIT_NAMES,
        tags={"BLOCK_SIZE": str(cfg["block_size"]), "FRACTIONS": str(list(cfg["split_fractions"]))},
    )
    return splits


def read_splits(path: str | Path, grid: Grid) -> np.ndarray:
    """Read the split raster of :func:`step_make_splits` (int8, 0 train, 1 val, 2 test)."""
    arr, profile = read_raster(path)
    if arr.shape[1:] != grid.shape:
        raise InputError(
            path,
            f"split raster of shape {arr.shape[1:]} does not match the grid {grid.shape}",
            "rerun make_splits",
        )
    return arr[0].astype(np.int8)


def area_splits(
    splits_path: str | Path | None, grid: Grid, *, block_size: int, fractions, seed: int
) -> np.ndarray:
    """The area's shared split when its raster is given, else the plain blocked
    split of the same settings (library use without the workflow)."""
    if splits_path is not None:
        return read_splits(splits_path, grid)
    return spatial_blocks(grid.shape, int(block_size), fractions=tuple(fractions), seed=int(seed))
