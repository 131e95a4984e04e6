"""Per-scene ingest: one raw scene in, one array on the common grid out.

Each source has its own module (``landsat8``, ``sentinel1``, ``drone``,
``meteo``, ``static``); all scene readers return an :class:`IngestResult`.
Landsat 8 and Sentinel-1 return their grid lazily (a dask array warped
tile by tile, :func:`coexplore.preprocess.resample.warp_tiles`), so that
writing the scene holds one tile of the grid per thread, not the grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

#: tile edge (grid pixels) of the lazy warp onto the grid; a multiple of the
#: scene GeoTIFF's 256-pixel blocks, so each tile is written once
INGEST_TILE = 512


class IngestResult:
    """One scene resampled onto the common grid, with its quality record.

    Attributes
    ----------
    data
        (band, y, x) float32 on the grid (coords ``grid.y_coords()`` /
        ``grid.x_coords()``, band names from ``sensors``), NaN = invalid;
        attrs ``source``, ``scene_id``, ``time`` (ISO 8601, UTC). NumPy- or
        dask-backed; a dask-backed one is computed when read or written.
    qa
        Quality record (one row of the scene QA table): ``source``,
        ``scene_id``, ``time``, ``status`` (``"ok"``), ``valid_fraction`` and
        source-specific entries (``gcp_rmse_px``, ``gcp_count``,
        ``cloud_fraction``, ``tau550``...). For lazy data,
        ``valid_fraction`` is computed on first access unless the writer
        already set it (:meth:`set_valid_fraction`), so that writing the
        scene computes the grid once.
    """

    def __init__(self, data: xr.DataArray, qa: dict[str, Any]) -> None:
        self.data = data
        self._qa = dict(qa)

    @property
    def qa(self) -> dict[str, Any]:
        if "valid_fraction" not in self._qa:
            valid = np.isfinite(self.data.data).all(axis=0)
            total = valid.size
            n_valid = valid.sum()
            if hasattr(n_valid, "compute"):
                n_valid = n_valid.compute()
            self._qa["valid_fraction"] = float(n_valid) / total
        return self._qa

    def set_valid_fraction(self, n_valid: int) -> None:
        """Record the valid pixel count found while writing the scene."""
        self._qa["valid_fraction"] = float(n_valid) / (self.data.shape[1] * self.data.shape[2])
