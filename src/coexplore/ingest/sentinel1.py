"""Ingest one Sentinel-1 IW GRD product onto the common grid.

Steps per polarisation (VV, VH): DN to sigma0 with thermal noise removal
(calibration and noise LUTs interpolated bilinearly), Lee speckle filter in
radar geometry, bicubic geocoding with the product's GCPs (EPSG:4326) onto
the grid tile by tile, optional Gaussian denoising (in linear power),
conversion to dB.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dask.array as da
import numpy as np
from rasterio.transform import GCPTransformer

from ..errors import ConfigError, InputError, SceneSkipped
from ..grid import Grid
from ..io.sentinel1 import (
    calibration_lut,
    measurement_gcps,
    noise_lut,
    read_measurement,
    read_safe,
)
from ..preprocess.denoise import gaussian_denoise_tiles, lee_filter
from ..preprocess.resample import grid_dataarray, grid_window, warp_tiles
from ..preprocess.sar import SIGMA0_FLOOR, calibrate_sigma0, to_db
from ..sensors import Sentinel1
from . import INGEST_TILE, IngestResult

log = logging.getLogger(__name__)

SOURCE = "sentinel1"

#: equivalent number of looks of IW GRDH products (Sentinel-1 Product
#: Definition S1-RS-MDA-52-7440, table of GRD resolution classes)
IW_GRDH_LOOKS = 4.4

SPECKLE_FILTERS = ("lee", "none")

#: radar pixels read beyond the grid outline besides the speckle window:
#: bicubic support (2 px) plus slack for the GCP polynomial's local error
WINDOW_MARGIN_PX = 8


def gcp_rmse_px(gcps: list) -> float:
    """RMS pixel residual of GDAL's GCP polynomial at the GCPs themselves.

    The same transformer (automatic polynomial order) georeferences the image
    during warping, so this measures how well it honours the tie points.

    Parameters
    ----------
    gcps
        rasterio GroundControlPoints.

    Returns
    -------
    float
        Root-mean-square distance in pixels.
    """
    with GCPTransformer(gcps) as t:
        rows, cols = t.rowcol([g.x for g in gcps], [g.y for g in gcps], op=lambda v: v)
    d_row = np.asarray(rows, dtype=float) - np.array([g.row for g in gcps])
    d_col = np.asarray(cols, dtype=float) - np.array([g.col for g in gcps])
    return float(np.sqrt(np.mean(d_row**2 + d_col**2)))


def ingest_sentinel1(
    safe_dir: str | Path,
    grid: Grid,
    *,
    speckle_filter: str = "lee",
    filter_size: int = 7,
    denoise_sigma: float = 0.0,
    looks: float = IW_GRDH_LOOKS,
) -> IngestResult:
    """Sigma0 (dB) of VV and VH on the grid.

    Parameters
    ----------
    safe_dir
        ``<product>.SAFE`` folder (or a zip of one) with measurement images.
    grid
        The common grid.
    speckle_filter
        ``"lee"`` or ``"none"``, applied in radar geometry before geocoding.
    filter_size
        Speckle filter window (odd, pixels).
    denoise_sigma
        Gaussian denoising sigma in grid pixels after geocoding (0 = off),
        applied to linear sigma0.
    looks
        Equivalent number of looks of the product (Lee filter).

    Returns
    -------
    IngestResult
        Bands ``vv, vh`` in dB; QA entries ``pass_direction``, ``gcp_count``,
        ``gcp_rmse_px`` (GDAL GCP model residual), ``cloud_fraction`` (0: SAR
        sees through cloud), ``valid_fraction``, ``speckle_filter``. The data
        are lazy: geocoded tile by tile of :data:`~coexplore.ingest.INGEST_TILE`
        pixels when computed or written.

    Raises
    ------
    ConfigError
        On an unknown speckle filter or an even window size.
    SceneSkipped
        If the product does not overlap the grid.
    InputError, MetadataError
        On missing or damaged files, or a product without VV and VH.
    """
    if speckle_filter not in SPECKLE_FILTERS:
        raise ConfigError(
            f"speckle_filter {speckle_filter!r} unknown; use one of {SPECKLE_FILTERS}"
        )
    if speckle_filter == "lee" and (filter_size < 3 or filter_size % 2 != 1):
        raise ConfigError(f"filter_size {filter_size} must be an odd integer >= 3")
    safe_dir = Path(safe_dir)
    product = read_safe(safe_dir)
    missing = [p for p in Sentinel1.bands if p not in product.bands]
    if missing:
        raise InputError(
            safe_dir,
            f"product has polarisations {list(product.polarisations)}, lacks {missing}",
            "use dual-polarisation VV+VH (1SDV) products",
        )

    first = product.bands[Sentinel1.bands[0]]
    full_gcps, gcp_crs = measurement_gcps(first)
    shape = (first.annotation.lines, first.annotation.samples)
    window = grid_window(
        grid, shape, src_crs=gcp_crs, gcps=full_gcps, margin=filter_size + WINDOW_MARGIN_PX
    )
    if window is None:
        raise SceneSkipped(safe_dir, f"the product does not overlap the grid {grid.bounds}")
    offset = (int(window.row_off), int(window.col_off))
    layers = []
    gcps: list = []
    for pol in Sentinel1.bands:
        band = product.bands[pol]
        if (band.annotation.lines, band.annotation.samples) != shape:
            raise InputError(
                band.annotation.path,
                f"{pol.upper()} image is {band.annotation.lines}x{band.annotation.samples}, "
                f"the {Sentinel1.bands[0].upper()} image {shape[0]}x{shape[1]}",
                "re-download the product; polarisations must share one geometry",
            )
        dn, gcps, gcp_crs = read_measurement(band, window=window)
        sigma = calibration_lut(band.calibration, dn.shape, kind="sigmaNought", offset=offset)
        noise = noise_lut(
            band.noise_range, dn.shape, azimuth_vectors=band.noise_azimuth, offset=offset
        )
        sigma0 = calibrate_sigma0(dn, sigma, noise)
        if speckle_filter == "lee":
            sigma0 = lee_filter(sigma0, size=filter_size, looks=looks)
        layers.append(sigma0)

    # lazy: geocoded (and smoothed) tile by tile when written
    on_grid = warp_tiles(
        np.stack(layers),
        src_crs=gcp_crs,
        gcps=gcps,
        grid=grid,
        tile=INGEST_TILE,
        resampling="cubic",
    )
    # bicubic overshoot next to bright targets can give non-positive power
    on_grid = da.where(da.isfinite(on_grid), da.maximum(on_grid, SIGMA0_FLOOR), np.nan)
    if denoise_sigma > 0:
        on_grid = gaussian_denoise_tiles(on_grid, denoise_sigma)
    db = on_grid.astype(np.float32).map_blocks(to_db, dtype=np.float32)

    time = product.start_time.isoformat(timespec="seconds") + "Z"
    attrs = {"source": SOURCE, "scene_id": product.product_id, "time": time}
    qa = {
        **attrs,
        "status": "ok",
        "mission": product.mission,
        "pass_direction": product.pass_direction,
        "gcp_count": len(gcps),
        "gcp_rmse_px": gcp_rmse_px(gcps),
        "cloud_fraction": 0.0,
        "speckle_filter": speckle_filter,
        "filter_size": int(filter_size),
        "looks": float(looks),
        "denoise_sigma": float(denoise_sigma),
    }
    data = grid_dataarray(db, grid, Sentinel1.bands, attrs={**attrs, "units": "dB"})
    return IngestResult(data=data, qa=qa)
