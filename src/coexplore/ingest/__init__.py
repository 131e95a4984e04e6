"""Per-scene ingest: one raw scene in, one array on the common grid out.

Each source has its own module (``landsat8``, ``sentinel1``, ``drone``,
``meteo``, ``static``); all scene readers return an :class:`IngestResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xarray as xr


@dataclass
class IngestResult:
    """One scene resampled onto the common grid, with its quality record.

    Attributes
    ----------
    data
        (band, y, x) float32 on the grid (coords ``grid.y_coords()`` /
        ``grid.x_coords()``, band names from ``sensors``), NaN = invalid;
        attrs ``source``, ``scene_id``, ``time`` (ISO 8601, UTC).
    qa
        Quality record (one row of the scene QA table): ``source``,
        ``scene_id``, ``time``, ``status`` (``"ok"``), ``valid_fraction`` and
        source-specific entries (``gcp_rmse_px``, ``gcp_count``,
        ``cloud_fraction``, ``tau550``...).
    """

    data: xr.DataArray
    qa: dict[str, Any]
