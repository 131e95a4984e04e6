"""Steps of the pipeline spine: ingest, cubes, scene QA."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd

from ..config import time_index
from ..cube import (
    COREG_BAND,
    build_cube,
    coregistration_check,
    finish_cube,
    load_scene_refs,
    write_qa_table,
    write_static_cube,
)
from ..errors import SceneSkipped
from ..grid import Grid
from ..io.cubes import open_cube, write_qa, write_scene
from ..sensors import Drone, Landsat8, Meteo, Sentinel1, Static

log = logging.getLogger(__name__)

SOURCE_BANDS: dict[str, tuple[str, ...]] = {
    "landsat8": tuple(Landsat8.bands),
    "sentinel1": Sentinel1.bands,
    "drone": Drone.bands,
    "meteo": tuple(Meteo.variables),
}


def _write_result_or_skip(
    run: Any, *, source: str, scene_id: str, grid: Grid, tif: str | Path, qa: str | Path
) -> dict[str, Any]:
    bands = SOURCE_BANDS[source]
    try:
        result = run()
        # computes a lazy ingest tile by tile into the GeoTIFF, counting the
        # valid pixels on the way (no second pass for the QA record)
        n_valid, n_any = write_scene(
            tif,
            None,
            result.data.data,
            {"status": "ok", "scene_id": result.data.attrs.get("scene_id", scene_id)},
            grid=grid,
            bands=bands,
        )
        if n_any == 0:
            raise SceneSkipped(tif, "no image data of the scene falls on the grid")
        result.set_valid_fraction(n_valid)
    except SceneSkipped as skip:
        # A skipped scene still gets its two files so the workflow stays
        # complete: an all-nodata GeoTIFF tagged STATUS=skipped and a QA
        # record with the reason; build_cube ignores it.
        log.warning("%s", skip)
        record = {
            "source": source,
            "scene_id": scene_id,
            "time": None,
            "status": "skipped",
            "reason": skip.reason,
            "valid_fraction": 0.0,
        }
        empty = da.full((len(bands), *grid.shape), np.nan, dtype="float32", chunks=(-1, 1024, 1024))
        write_scene(tif, qa, empty, record, grid=grid, bands=bands)
        return record
    record = {"source": source, "scene_id": scene_id, "status": "ok", **result.qa}
    write_qa(qa, record)
    log.info("%s %s: %s", source, scene_id, {k: record[k] for k in record if k != "scene_id"})
    return record


def step_ingest_landsat8(
    scene_dir: str | Path, grid_cfg: dict, options: dict, tif: str | Path, qa: str | Path
) -> dict[str, Any]:
    """Ingest one Landsat 8 scene onto the grid (see ingest.landsat8)."""
    from ..ingest.landsat8 import ingest_landsat8
    from ..layout import landsat_gcp_path

    grid = Grid.from_config(grid_cfg)
    scene_dir = Path(scene_dir)
    gcp = landsat_gcp_path(scene_dir.parent.parent, scene_dir.name)
    return _write_result_or_skip(
        lambda: ingest_landsat8(
            scene_dir,
            grid,
            gcp_path=gcp if gcp.exists() else None,
            denoise_sigma=options.get("denoise_sigma", 0.0),
            max_cloud_fraction=options.get("max_cloud_fraction", 0.95),
        ),
        source="landsat8",
        scene_id=scene_dir.name,
        grid=grid,
        tif=tif,
        qa=qa,
    )


def step_ingest_sentinel1(
    safe_dir: str | Path, grid_cfg: dict, options: dict, tif: str | Path, qa: str | Path
) -> dict[str, Any]:
    """Ingest one Sentinel-1 GRD product onto the grid (see ingest.sentinel1)."""
    from ..ingest.sentinel1 import ingest_sentinel1

    grid = Grid.from_config(grid_cfg)
    safe_dir = Path(safe_dir)
    return _write_result_or_skip(
        lambda: ingest_sentinel1(
            safe_dir,
            grid,
            speckle_filter=options.get("speckle_filter", "lee"),
            filter_size=options.get("filter_size", 7),
            denoise_sigma=options.get("denoise_sigma", 0.0),
        ),
        source="sentinel1",
        scene_id=safe_dir.name.removesuffix(".SAFE"),
        grid=grid,
        tif=tif,
        qa=qa,
    )


def step_ingest_drone(path: str | Path, grid_cfg: dict, tif: str | Path, qa: str | Path) -> dict:
    """Aggregate one drone orthomosaic onto the grid (see ingest.drone)."""
    from ..ingest.drone import ingest_drone

    grid = Grid.from_config(grid_cfg)
    return _write_result_or_skip(
        lambda: ingest_drone(path, grid),
        source="drone",
        scene_id=Path(path).stem,
        grid=grid,
        tif=tif,
        qa=qa,
    )


def step_ingest_static(
    path: str | Path, grid_cfg: dict, layer: str, out: str | Path, *, chunks: int = 256
) -> None:
    """Resample a static layer (dem, geology) onto the grid as a cube store."""
    from ..ingest.static import ingest_static

    grid = Grid.from_config(grid_cfg)
    da = ingest_static(path, grid, layer=layer)
    write_static_cube(
        da.values,
        grid=grid,
        layer=layer,
        bands=list(getattr(Static, layer)),
        out_path=out,
        chunks=chunks,
        attrs={"source_file": str(path)},
    )


def step_build_cube(
    tifs: Sequence[str | Path],
    qas: Sequence[str | Path],
    *,
    source: str,
    area: dict,
    cube_cfg: dict,
    out: str | Path,
    qa_out: str | Path,
) -> pd.DataFrame:
    """Co-registration check, compositing and gap filling of one source."""
    grid = Grid.from_config(area["grid"])
    times = time_index(area)
    refs = load_scene_refs(tifs, qas)
    ok = [r for r in refs if r.qa.get("status") == "ok"]
    coreg_cfg = cube_cfg["coregistration"]
    if source in COREG_BAND:
        shifts = coregistration_check(
            ok,
            band=COREG_BAND[source],
            max_residual_px=coreg_cfg["max_residual_px"],
            upsample_factor=coreg_cfg["upsample_factor"],
            reference_scenes=coreg_cfg["reference_scenes"],
            correct=coreg_cfg["correct"],
        )
    else:
        shifts = None
    fill = source in cube_cfg["gap_fill"]["sources"]
    build_cube(
        ok,
        grid=grid,
        times=times,
        source=source,
        bands=SOURCE_BANDS[source],
        out_path=out,
        method=cube_cfg["composite"],
        shifts=shifts,
        fill=fill,
        smooth_sigma=cube_cfg["gap_fill"]["smooth_sigma"],
        edge_limit=cube_cfg["gap_fill"]["edge_limit"],
        chunks=cube_cfg["chunks"],
        attrs={"area": area.get("id", ""), "config": {"cube": cube_cfg, "grid": area["grid"]}},
        extra_looks=len(refs) - len(ok),
    )
    table = pd.DataFrame([r.qa for r in refs])
    if shifts is not None and len(shifts):
        table = table.merge(shifts, on="scene_id", how="left")
    write_qa_table(table, qa_out)
    n_flag = int(table.get("coreg_flagged", pd.Series(dtype=bool)).fillna(False).sum())
    log.info(
        "%s cube: %d scenes (%d usable), %d flagged above %.2f px",
        source,
        len(refs),
        len(ok),
        n_flag,
        coreg_cfg["max_residual_px"],
    )
    return table


def step_build_meteo_cube(
    stations: str | Path,
    dem_cube: str | Path,
    *,
    area: dict,
    cube_cfg: dict,
    out: str | Path,
    qc_out: str | Path,
) -> pd.DataFrame:
    """Station QC, aggregation and interpolation to the grid, gap filling."""
    from ..ingest.meteo import meteo_fields
    from ..preprocess.meteo import VARIABLES
    from ..sensors import Meteo

    grid = Grid.from_config(area["grid"])
    times = time_index(area)
    # the DEM stays lazy and the fields are interpolated tile by tile as
    # the cube is filled and written: memory follows the tile, not the area
    dem = open_cube(dem_cube)["data"].sel(band="elevation")
    fields, clean, qc = meteo_fields(stations, grid, time_index=times, dem=dem)
    fill = "meteo" in cube_cfg["gap_fill"]["sources"]
    finish_cube(
        fields,
        grid=grid,
        times=times,
        source="meteo",
        bands=list(VARIABLES),
        out_path=out,
        fill=fill,
        smooth_sigma=cube_cfg["gap_fill"]["smooth_sigma"],
        edge_limit=cube_cfg["gap_fill"]["edge_limit"],
        chunks=cube_cfg["chunks"],
        attrs={
            "source_file": str(stations),
            "units": [Meteo.variables[v] for v in VARIABLES],
            "stations": sorted(map(str, clean["station_id"].unique())),
            "interpolation": f"idw power={fields.power}, temperature lapse rate "
            f"{fields.lapse_rate} degC/m",
        },
    )
    write_qa_table(qc, qc_out)
    return qc


def step_collect_scene_qa(tables: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """Concatenate the per-source scene QA tables into one."""
    frames = [pd.read_csv(t) for t in tables]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    write_qa_table(table, out)
    return table


__all__ = [
    "step_build_cube",
    "step_build_meteo_cube",
    "step_collect_scene_qa",
    "step_ingest_drone",
    "step_ingest_landsat8",
    "step_ingest_sentinel1",
    "step_ingest_static",
]
