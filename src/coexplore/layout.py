"""Where raw inputs live inside a study area's raw folder.

The synthetic study area writes exactly this layout and a user's own data
must follow it (README, "Your own data")::

    raw/
      landsat8/<scene_id>/<scene_id>_B{1..7,10}.TIF    uint16 DN, Collection 2 L1
      landsat8/<scene_id>/<scene_id>_QA_PIXEL.TIF      uint16, C2 bit layout
      landsat8/<scene_id>/<scene_id>_MTL.txt           C2 MTL (or pre-Collection)
      landsat8/<scene_id>/<scene_id>_GCP.csv           id,col,row,x,y (optional)
      sentinel1/<product>.SAFE/                        manifest.safe, annotation/,
                                                       annotation/calibration/, measurement/
      drone/<flight_id>.tif                            RGB uint8 orthomosaic
      meteo/stations.csv                               see sensors.Meteo.columns
      static/dem.tif, static/geology.tif
      truth/landuse_<year>.tif, truth/ore_zone.tif     evaluation only
"""

from __future__ import annotations

import re
from pathlib import Path

from .sensors import Landsat8, Sentinel1

LANDSAT_BANDS_FILES = [*(f"B{n}" for n in Landsat8.bands.values()), "QA_PIXEL"]


def landsat_scene_dir(raw: Path | str, scene_id: str) -> Path:
    return Path(raw) / "landsat8" / scene_id


def landsat_band_path(raw: Path | str, scene_id: str, band: str) -> Path:
    """Path of one band file; ``band`` is ``"B4"``, ``"QA_PIXEL"``..."""
    return landsat_scene_dir(raw, scene_id) / f"{scene_id}_{band}.TIF"


def landsat_mtl_path(raw: Path | str, scene_id: str) -> Path:
    return landsat_scene_dir(raw, scene_id) / f"{scene_id}_MTL.txt"


def landsat_gcp_path(raw: Path | str, scene_id: str) -> Path:
    return landsat_scene_dir(raw, scene_id) / f"{scene_id}_GCP.csv"


def landsat_scene_files(raw: Path | str, scene_id: str) -> list[Path]:
    """Every file of one Landsat scene that ingest reads (GCP file included)."""
    return [
        *(landsat_band_path(raw, scene_id, b) for b in LANDSAT_BANDS_FILES),
        landsat_mtl_path(raw, scene_id),
        landsat_gcp_path(raw, scene_id),
    ]


def sentinel1_safe_dir(raw: Path | str, product_id: str) -> Path:
    return Path(raw) / "sentinel1" / f"{product_id}.SAFE"


def drone_path(raw: Path | str, flight_id: str) -> Path:
    return Path(raw) / "drone" / f"{flight_id}.tif"


def meteo_path(raw: Path | str) -> Path:
    return Path(raw) / "meteo" / "stations.csv"


def static_path(raw: Path | str, layer: str) -> Path:
    return Path(raw) / "static" / f"{layer}.tif"


def truth_landuse_path(raw: Path | str, year: int) -> Path:
    return Path(raw) / "truth" / f"landuse_{year}.tif"


def truth_ore_path(raw: Path | str) -> Path:
    return Path(raw) / "truth" / "ore_zone.tif"


def discover_landsat(raw: Path | str) -> list[str]:
    """Scene ids of the Landsat scene folders under ``raw/landsat8``, sorted."""
    d = Path(raw) / "landsat8"
    pat = re.compile(Landsat8.scene_pattern + "$")
    return (
        sorted(p.name for p in d.glob("*") if p.is_dir() and pat.match(p.name))
        if d.is_dir()
        else []
    )


def discover_sentinel1(raw: Path | str) -> list[str]:
    """Product ids (without ``.SAFE``) under ``raw/sentinel1``, sorted."""
    d = Path(raw) / "sentinel1"
    pat = re.compile(Sentinel1.safe_pattern + "$")
    return sorted(p.name[:-5] for p in d.glob("*.SAFE") if pat.match(p.name)) if d.is_dir() else []


def discover_drone(raw: Path | str) -> list[str]:
    d = Path(raw) / "drone"
    return sorted(p.stem for p in d.glob("*.tif")) if d.is_dir() else []
