"""Ingest one Landsat 8 Level-1 scene onto the common grid.

Steps: read DN, QA and MTL; clear-sky mask; DN to radiance; dark-object
atmospheric correction of the reflective bands (surface reflectance);
brightness temperature of band 10; GCP affine replacing the nominal
transform; bicubic resampling onto the 10 m grid with the validity mask
resampled separately, tile by tile; optional NaN-aware Gaussian denoising.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from affine import Affine

from ..errors import InputError, SceneSkipped
from ..grid import Grid
from ..io.landsat import landsat_scene_geometry, read_gcps, read_landsat_scene
from ..preprocess.denoise import gaussian_denoise_tiles
from ..preprocess.geometry import fit_affine
from ..preprocess.radiometry import (
    DEFAULT_QA_EXCLUDE,
    atmospheric_correction,
    brightness_temperature,
    dn_to_radiance,
    qa_clear_mask,
    qa_flag,
)
from ..preprocess.resample import count_on_grid, grid_dataarray, grid_window, warp_tiles
from ..sensors import Landsat8
from . import INGEST_TILE, IngestResult

log = logging.getLogger(__name__)

SOURCE = "landsat8"


def find_gcp_file(scene_dir: str | Path) -> Path | None:
    """The ``*_GCP.csv`` file of a scene folder (case-insensitive), or None.

    Raises
    ------
    InputError
        If the folder holds several GCP files.
    """
    scene_dir = Path(scene_dir)
    hits = sorted(p for p in scene_dir.iterdir() if p.name.lower().endswith("_gcp.csv"))
    if len(hits) > 1:
        raise InputError(
            scene_dir,
            f"several GCP files ({', '.join(p.name for p in hits)})",
            "keep one <scene_id>_GCP.csv per scene folder or pass gcp_path",
        )
    return hits[0] if hits else None


def ingest_landsat8(
    scene_dir: str | Path,
    grid: Grid,
    *,
    gcp_path: str | Path | None = None,
    denoise_sigma: float = 0.0,
    max_cloud_fraction: float = 0.95,
    dark_reflectance: float = 0.01,
    qa_exclude: tuple[str, ...] = DEFAULT_QA_EXCLUDE,
    context_px: int = 170,
) -> IngestResult:
    """Surface reflectance and brightness temperature of one scene on the grid.

    Parameters
    ----------
    scene_dir
        Scene folder (band GeoTIFFs, QA, MTL, optional ``*_GCP.csv``).
    grid
        The common grid.
    gcp_path
        GCP table ``id,col,row,x,y``; None uses the folder's ``*_GCP.csv``
        when there is one, else the nominal transform of the GeoTIFFs.
    denoise_sigma
        Gaussian denoising sigma in grid pixels after resampling (0 = off).
    max_cloud_fraction
        Skip the scene when its clear pixels cover less than
        ``1 - max_cloud_fraction`` of the grid (cloud, shadow, snow and fill
        all count as not clear).
    dark_reflectance
        Dark-object reflectance of the atmospheric correction.
    qa_exclude
        QA flags that make a pixel invalid.
    context_px
        Pixels read around the grid (30 m; 170 px = 5 km): the dark-object
        search for the atmospheric correction looks for water there too,
        while memory stays bounded by the study area, not the 185 km scene.

    Returns
    -------
    IngestResult
        Bands ``sensors.Landsat8.bands`` (reflectance, ``tir`` in K); QA
        entries ``product_id``, ``georeferencing`` (``"gcp_affine"`` or
        ``"nominal"``), ``gcp_count``, ``gcp_rmse_px``, ``gcp_rmse_m``,
        ``cloud_fraction`` (share of the scene-covered grid not clear),
        ``clear_fraction`` and ``valid_fraction`` (shares of the whole grid),
        ``tau550``, ``sun_elevation``, ``mtl_cloud_cover``. The data are
        lazy: warped onto the grid (and smoothed) tile by tile of
        :data:`~coexplore.ingest.INGEST_TILE` pixels when computed or written.

    Raises
    ------
    SceneSkipped
        If the scene does not overlap the grid or is (nearly) all cloud.
    InputError, MetadataError, GeometryError
        On missing, truncated or inconsistent files, MTL keys or GCPs.
    """
    scene_dir = Path(scene_dir)
    full_shape, nominal, crs = landsat_scene_geometry(scene_dir)

    gcp_file = Path(gcp_path) if gcp_path is not None else find_gcp_file(scene_dir)
    if gcp_file is not None:
        fit = fit_affine(read_gcps(gcp_file))
        transform, georef = fit.transform, "gcp_affine"
        gcp_count, rmse_px, rmse_m = fit.n_points, fit.rmse_px, fit.rmse_m
        log.info("%s: GCP affine from %d points, RMSE %.3f px", scene_dir.name, gcp_count, rmse_px)
    else:
        transform, georef = nominal, "nominal"
        gcp_count, rmse_px, rmse_m = 0, float("nan"), float("nan")

    window = grid_window(grid, full_shape, src_crs=crs, src_transform=transform, margin=context_px)
    if window is None:
        raise SceneSkipped(scene_dir, f"the scene does not overlap the grid {grid.bounds}")
    scene = read_landsat_scene(scene_dir, window=window)
    mtl = scene.mtl
    # the (fitted) full-image transform, moved to the window's first pixel
    transform = transform @ Affine.translation(window.col_off, window.row_off)

    nonfill = np.logical_and.reduce([dn != 0 for dn in scene.dn.values()])
    clear = nonfill.copy()
    if scene.qa is not None:
        nonfill &= ~qa_flag(scene.qa, "fill", layout=scene.qa_layout)
        clear = nonfill & qa_clear_mask(scene.qa, exclude=qa_exclude, layout=scene.qa_layout)
    geo = dict(src_transform=transform, src_crs=scene.crs, grid=grid, tile=INGEST_TILE)
    n_covered = count_on_grid(nonfill, **geo)
    n_clear = count_on_grid(clear, **geo)
    n_grid = grid.width * grid.height
    if n_covered == 0:
        raise SceneSkipped(scene_dir, "no image data of the scene falls on the grid")
    clear_fraction = n_clear / n_grid
    cloud_fraction = 1.0 - n_clear / n_covered
    if clear_fraction < 1.0 - max_cloud_fraction:
        raise SceneSkipped(
            scene_dir,
            f"only {clear_fraction:.1%} of the grid is clear (cloud fraction "
            f"{cloud_fraction:.1%} of the covered part); max_cloud_fraction is "
            f"{max_cloud_fraction}",
        )

    radiance = {
        name: dn_to_radiance(
            dn, mtl.radiance_mult[Landsat8.bands[name]], mtl.radiance_add[Landsat8.bands[name]]
        )
        for name, dn in scene.dn.items()
    }
    water = None
    if scene.qa is not None:
        water = qa_flag(scene.qa, "water", layout=scene.qa_layout)
    reflectance, atmo = atmospheric_correction(
        {b: radiance[b] for b in Landsat8.reflective},
        mtl,
        clear,
        dark_reflectance=dark_reflectance,
        water_mask=water,
    )
    bt = brightness_temperature(radiance["tir"], mtl.k1, mtl.k2)
    bt[~clear] = np.nan
    layers = {**reflectance, "tir": bt}
    bands = tuple(Landsat8.bands)
    stack = np.stack([layers[b] for b in bands])

    # lazy: the grid is warped (and smoothed) tile by tile when written
    on_grid = warp_tiles(stack, **geo, resampling="cubic")
    if denoise_sigma > 0:
        on_grid = gaussian_denoise_tiles(on_grid, denoise_sigma)

    time = mtl.date_acquired.isoformat(timespec="seconds") + "Z"
    attrs = {"source": SOURCE, "scene_id": scene.scene_id, "time": time}
    qa = {
        **attrs,
        "status": "ok",
        "product_id": mtl.product_id,
        "georeferencing": georef,
        "gcp_count": gcp_count,
        "gcp_rmse_px": rmse_px,
        "gcp_rmse_m": rmse_m,
        "cloud_fraction": cloud_fraction,
        "clear_fraction": clear_fraction,
        "tau550": atmo["tau550"],
        "dark_object_source": atmo["dark_object_source"],
        "sun_elevation": mtl.sun_elevation,
        "mtl_cloud_cover": mtl.cloud_cover,
        "denoise_sigma": float(denoise_sigma),
    }
    data = grid_dataarray(
        on_grid, grid, bands, attrs={**attrs, "units": "1 (reflectance); K (tir)"}
    )
    return IngestResult(data=data, qa=qa)
